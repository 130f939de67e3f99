"""Reranking retrieved chunks: a port, and the Bedrock Rerank adapter for production.

Off by default offline, because no reranker we could use ships its weights in a package: the cross-encoder
libraries on the index (fastembed, flashrank, sentence-transformers cross-encoders) all download weights at
run time, which nothing here may do (DESIGN.md §7). `Settings.reranker` = `bedrock` turns on Bedrock's
Rerank API (`bedrock-agent-runtime`, models such as `amazon.rerank-v1:0` or `cohere.rerank-v3-5:0`) when the
subscription's `rag.reranking` is on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from cmp.aws.adapters import AwsUnavailable

if TYPE_CHECKING:
    from cmp.knowledge.retrieval import SearchHit

MAX_SOURCES = 1000
"""Bedrock Rerank's limit on documents per call."""


class Reranker(Protocol):
    """Reorders search hits by relevance to the query; returns at most `top_k` of them, ranks renumbered
    from 1 and `score` replaced by the reranker's relevance score."""

    def rerank(self, query: str, hits: Sequence[SearchHit], top_k: int) -> list[SearchHit]: ...


class BedrockReranker:
    """Bedrock's `Rerank` (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_Rerank.html).

    `client` is a `bedrock-agent-runtime` client (one is built on first use when none is given);
    `model_arn` the reranking model's ARN. Raises `AwsUnavailable` (503) when the call fails.
    """

    def __init__(self, model_arn: str, client: Any = None) -> None:
        self._model_arn = model_arn
        self._client = client

    def rerank(self, query: str, hits: Sequence[SearchHit], top_k: int) -> list[SearchHit]:
        if not hits:
            return []
        if self._client is None:
            from cmp.aws.clients import client

            self._client = client("bedrock-agent-runtime")
        from botocore.exceptions import BotoCoreError, ClientError

        candidates = list(hits)[:MAX_SOURCES]
        try:
            answer = self._client.rerank(
                queries=[{"type": "TEXT", "textQuery": {"text": query}}],
                sources=[
                    {
                        "type": "INLINE",
                        "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": h.content}},
                    }
                    for h in candidates
                ],
                rerankingConfiguration={
                    "type": "BEDROCK_RERANKING_MODEL",
                    "bedrockRerankingConfiguration": {
                        "numberOfResults": min(top_k, len(candidates)),
                        "modelConfiguration": {"modelArn": self._model_arn},
                    },
                },
            )
        except (BotoCoreError, ClientError) as e:
            raise AwsUnavailable(f"reranking failed: {e}") from e
        ordered = sorted(answer["results"], key=lambda r: -float(r["relevanceScore"]))
        return [
            dataclasses.replace(candidates[int(r["index"])], rank=i, score=float(r["relevanceScore"]))
            for i, r in enumerate(ordered[:top_k], start=1)
        ]
