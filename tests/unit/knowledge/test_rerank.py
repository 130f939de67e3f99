"""Bedrock Rerank against a recorded response (botocore Stubber): hits reordered by relevance, cut to top_k."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cmp.aws.adapters import AwsUnavailable
from cmp.knowledge.rerank import BedrockReranker
from cmp.knowledge.retrieval import SearchHit

pytestmark = pytest.mark.unit
ARN = "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"


def _hit(rank: int, content: str) -> SearchHit:
    return SearchHit(rank, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), content, 0, None, None, "en", "file",
                     None, None, None, 0.5, 0.5)  # fmt: skip


def _client() -> tuple[object, Stubber]:
    client = boto3.client("bedrock-agent-runtime", region_name="us-west-2", aws_access_key_id="x",
                          aws_secret_access_key="x")  # fmt: skip
    return client, Stubber(client)


def test_hits_come_back_in_the_rerankers_order() -> None:
    hits = [_hit(1, "Shipping is free."), _hit(2, "Returns within 30 days."), _hit(3, "Open 9 to 5.")]
    client, stubber = _client()
    stubber.add_response(
        "rerank",
        {"results": [{"index": 1, "relevanceScore": 0.92}, {"index": 0, "relevanceScore": 0.11}]},
        {"queries": [{"type": "TEXT", "textQuery": {"text": "return policy"}}], "sources": ANY,
         "rerankingConfiguration": {"type": "BEDROCK_RERANKING_MODEL", "bedrockRerankingConfiguration": {
             "numberOfResults": 2, "modelConfiguration": {"modelArn": ARN}}}},
    )  # fmt: skip
    with stubber:
        ranked = BedrockReranker(ARN, client).rerank("return policy", hits, 2)
    assert [(h.rank, h.content, h.score) for h in ranked] == [
        (1, "Returns within 30 days.", 0.92), (2, "Shipping is free.", 0.11),
    ]  # fmt: skip


def test_a_failed_call_is_aws_unavailable() -> None:
    client, stubber = _client()
    stubber.add_client_error("rerank", "ThrottlingException", "slow down", 429)
    with stubber, pytest.raises(AwsUnavailable):
        BedrockReranker(ARN, client).rerank("q", [_hit(1, "x")], 1)
