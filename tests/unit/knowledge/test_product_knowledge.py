"""Seller-provided product knowledge without I/O: the owner of a knowledge base names its API path, a
product's fixed limits (every source, 500 files, 500 MB) and the origin a citation carries."""

from __future__ import annotations

import uuid

import pytest

from cmp.errors import PayloadTooLarge, ValidationFailed
from cmp.knowledge.grounding import Citation, citation
from cmp.knowledge.model import KnowledgeOwner
from cmp.knowledge.policy import MB, PRODUCT_LIMITS, KnowledgePolicy
from cmp.knowledge.retrieval import SearchHit

pytestmark = pytest.mark.unit
ID = uuid.UUID("00000000-0000-0000-0000-000000000001")


def test_an_owner_names_its_knowledge_bases_path() -> None:
    assert KnowledgeOwner.subscription(ID).path == f"/v1/subscriptions/{ID}/knowledge"
    assert KnowledgeOwner.product(ID).path == f"/v1/provider/products/{ID}/knowledge"
    assert KnowledgeOwner.product(ID) != KnowledgeOwner.subscription(ID)


def test_a_product_knowledge_base_has_the_fixed_product_limits() -> None:
    policy = KnowledgePolicy.for_product()
    assert policy is PRODUCT_LIMITS and policy.documents and policy.websites and policy.qa_pairs
    for source in ("documents", "websites", "qa_pairs"):
        policy.require(source)
    policy.check_file("pdf", 50 * MB, 499, 400 * MB)
    with pytest.raises(ValidationFailed) as full:
        policy.check_file("pdf", MB, 500, 0)
    assert [e.path for e in full.value.errors] == ["body"]
    with pytest.raises(ValidationFailed) as storage:
        policy.check_file("md", 2 * MB, 10, 499 * MB)
    assert [e.path for e in storage.value.errors] == ["size_bytes"]
    with pytest.raises(PayloadTooLarge):
        policy.check_file("pdf", 50 * MB + 1, 0, 0)


def _hit(origin: str) -> SearchHit:
    return SearchHit(
        1, ID, ID, ID, "The battery lasts 14 hours.", 0, 1, None, "en", "file", "Manual", "m.pdf", None, 0.9,
        0.9, origin,
    )  # fmt: skip


@pytest.mark.parametrize("origin", ["product", "subscription"])
def test_a_citation_says_which_knowledge_base_it_quotes(origin: str) -> None:
    cited = citation(1, _hit(origin), "battery")
    assert cited.origin == origin and cited.as_dict()["origin"] == origin
    assert Citation(**cited.as_dict()) == cited  # type: ignore[arg-type]


def test_a_citation_stored_before_origins_existed_reads_as_the_subscriptions() -> None:
    stored = {
        k: v for k, v in citation(1, _hit("subscription"), "battery").as_dict().items() if k != "origin"
    }
    assert Citation(**stored).origin == "subscription"  # type: ignore[arg-type]


def test_a_product_knowledge_bases_refusals_name_its_own_limits_not_a_plan() -> None:
    with pytest.raises(PayloadTooLarge) as too_large:
        PRODUCT_LIMITS.check_file("pdf", 51 * MB, 0, 0)
    assert too_large.value.message == "the file is larger than the product knowledge base's 50 MB per file"
    with pytest.raises(ValidationFailed) as refused:
        PRODUCT_LIMITS.check_file("exe", MB, 500, 0)
    assert refused.value.message == "the file is not allowed by the product knowledge base"
    assert "plan" not in str(refused.value.to_dict())
    with pytest.raises(PayloadTooLarge) as plan:
        KnowledgePolicy.of({}).check_file("pdf", 51 * MB, 0, 0)
    assert "the plan's 50 MB" in plan.value.message
