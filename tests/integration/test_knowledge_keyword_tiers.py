"""A large base's keyword candidates are ranked in tiers (migration 0042): the chunks holding all of the
query's words, else those holding all but one, ..., else any word, each tier ranked by the same ts_rank of
the any-word query; a base on the exact path (`p_tiered` false) ranks every match, as before."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from cmp.db import Database
from cmp.knowledge.model import KnowledgeOwner
from cmp.knowledge.retrieval import KnowledgeSearch, knowledge_base
from cmp_dev.local.stack import Postgres
from tests.knowledge_data import EMBEDDER, add_base, add_document, new_tenant
from tests.subscriptions import subscribe

pytestmark = pytest.mark.integration

FILLER = " ".join(f"filler{i}" for i in range(40))
RANKED = (
    "select id, rank from knowledge_keyword_matches(%s, array['cmp_english']::regconfig[], %s, %s, %s,"
    " null, %s::uuid[], null, null, null, null)"
)


@pytest.fixture(scope="module")
def base(db: Database) -> dict[str, Any]:
    """Short chunks repeating "zebracorn" (the exact ranking puts them first: ts_rank divides by the
    length), long chunks holding two or three of the query's words, and plain filler."""
    tenant = new_tenant(db)
    knowledge = add_base(db, tenant, subscribe(db, tenant).id)
    groups = {
        "short": ["zebracorn zebracorn zebracorn"] * 3,
        "three": [f"zebracorn warranty damage {FILLER}"] * 2,
        "two": [f"zebracorn warranty {FILLER}"] * 4,
        "filler": [FILLER] * 10,
    }
    ids: dict[str, set[uuid.UUID]] = {}
    documents: dict[str, uuid.UUID] = {}
    for group, texts in groups.items():
        document = add_document(db, knowledge, texts, vectors=[[1.0] + [0.0] * 383] * len(texts), pages=False)
        documents[group] = document.id
        with db.session(tenant, read_only=True) as session:
            ids[group] = {
                r["id"]
                for r in session.fetch_all(
                    "select id from knowledge_chunks where document_id = %s", (document.id,)
                )
            }
    return {"tenant": tenant, "base": knowledge, "ids": ids, "documents": documents}


def _ranked(
    db: Database,
    base: dict[str, Any],
    query: str,
    limit: int,
    tiered: bool,
    documents: list[uuid.UUID] | None = None,
) -> list[tuple[uuid.UUID, float]]:
    with db.session(base["tenant"], read_only=True) as session:
        rows = session.fetch_all(RANKED, (base["base"].id, query, limit, tiered, documents))
    return [(r["id"], r["rank"]) for r in rows]


def test_the_chunks_holding_every_word_are_ranked_first(db: Database, base: dict[str, Any]) -> None:
    ids = base["ids"]
    exact = _ranked(db, base, "zebracorn warranty", 5, tiered=False)
    assert {i for i, _ in exact[:3]} == ids["short"]  # one word, three times, in a 3-word chunk
    tiered = _ranked(db, base, "zebracorn warranty", 5, tiered=True)
    assert len(tiered) == 5 and {i for i, _ in tiered} <= ids["three"] | ids["two"]
    everything = dict(_ranked(db, base, "zebracorn warranty", 100, tiered=False))
    assert all(rank == everything[i] for i, rank in tiered)  # the same ts_rank of the any-word query
    assert [r for _, r in tiered] == sorted((r for _, r in tiered), reverse=True)


def test_a_tier_with_fewer_rows_than_asked_gives_way_to_the_next(db: Database, base: dict[str, Any]) -> None:
    ids = base["ids"]
    # 2 chunks hold all three words, 6 at least two of them: the second tier answers
    tiered = _ranked(db, base, "zebracorn warranty damage", 5, tiered=True)
    assert len(tiered) == 5 and {i for i, _ in tiered} <= ids["three"] | ids["two"]
    assert ids["three"] <= {i for i, _ in tiered}  # they also hold the most words: ranked in
    # 6 hold both words and 9 at least one: asking for 7 ranks every match, exactly as the exact path
    assert _ranked(db, base, "zebracorn warranty", 7, tiered=True) == _ranked(
        db, base, "zebracorn warranty", 7, tiered=False
    )
    assert _ranked(db, base, "quasarwidget", 5, tiered=True) == []


def test_the_tiers_count_only_the_rows_that_pass_the_filters(db: Database, base: dict[str, Any]) -> None:
    ids, documents = base["ids"], base["documents"]
    # the two-word document alone: no chunk holds all three words, so the next tier answers in it
    tiered = _ranked(db, base, "zebracorn warranty damage", 3, tiered=True, documents=[documents["two"]])
    assert len(tiered) == 3 and {i for i, _ in tiered} <= ids["two"]
    short = _ranked(db, base, "zebracorn warranty", 3, tiered=True, documents=[documents["short"]])
    assert {i for i, _ in short} == ids["short"]  # no chunk of it holds both words: any word answers


def test_a_long_query_skips_the_tiers_too_large_to_probe(db: Database, base: dict[str, Any]) -> None:
    """14 words: the tiers "at least 12 of 14" to "at least 3" would be queries of over 256 words; the
    2-word tier (182 words) still answers, with the chunks holding two or more of them."""
    words = "zebracorn warranty " + " ".join(f"absentword{i}" for i in range(12))
    tiered = _ranked(db, base, words, 6, tiered=True)
    assert {i for i, _ in tiered} == base["ids"]["three"] | base["ids"]["two"]


def test_a_base_above_the_exact_size_is_searched_in_tiers(db: Database, base: dict[str, Any]) -> None:
    """`KnowledgeSearch` passes `p_tiered` for a base above `exact_max_chunks`, as it sends its vector
    half through HNSW; a base within it ranks every match."""
    tenant, subscription = base["tenant"], base["base"].subscription_id
    tiered = KnowledgeSearch(db.session, lambda: EMBEDDER, exact_max_chunks=0)
    exact = KnowledgeSearch(db.session, lambda: EMBEDDER)
    assert {h.chunk_id for h in tiered.search(tenant, subscription, "zebracorn warranty", 3, "keyword")} <= (
        base["ids"]["three"] | base["ids"]["two"]
    )
    assert {h.chunk_id for h in exact.search(tenant, subscription, "zebracorn warranty", 3, "keyword")} == (
        base["ids"]["short"]
    )


@pytest.mark.parametrize(
    "call",
    [
        "select * from knowledge_keyword_ranked(%s, %s, array['cmp_english']::regconfig[], 'zebracorn', 5, true,"
        " null, null, null, null, null, null)",
        "select * from knowledge_keyword_tier(%s, %s, array['cmp_english']::regconfig[], 'zebracorn',"
        " 'zebracorn', 5, null, null, null, null, null, null)",
    ],
    ids=["ranked", "tier"],
)
def test_the_functions_that_take_a_tenant_are_their_owners_alone(
    postgres: Postgres, base: dict[str, Any], call: str
) -> None:
    """They take the tenant as an argument, so the application role may not run them: it would read any
    tenant's chunks by naming it."""
    with psycopg.connect(postgres.app_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(call, (base["tenant"], base["base"].id))


def test_the_search_statement_is_never_prepared(postgres: Postgres, base: dict[str, Any]) -> None:
    """psycopg prepares a statement after its 5th execution on a connection, and PostgreSQL may then run
    the prepared statement's generic plan, which knows neither the base nor the query vector: on the
    200,000-chunk base of bench/retrieval_scale.py the vector half went from ~30 ms to ~610 ms from the 6th
    search of a session on (docs/performance.md). The search statement is planned with its values on
    every call, so a warm connection searches as fast as a fresh one."""
    one_connection = Database(postgres.app_url, min_size=1, max_size=1)
    try:
        search = KnowledgeSearch(one_connection.session, lambda: EMBEDDER, exact_max_chunks=0)
        for _ in range(8):
            assert search.search(base["tenant"], base["base"].subscription_id, "zebracorn", 3, "hybrid")
        with one_connection.session(None, read_only=True) as session:
            prepared = session.fetch_all(
                "select statement from pg_prepared_statements where statement like %s", ("%keyword_matches%",)
            )
    finally:
        one_connection.close()
    assert prepared == []


def test_a_search_counts_a_base_only_up_to_the_size_that_decides_its_path(
    db: Database, base: dict[str, Any]
) -> None:
    """Counting a 200,000-chunk base took 9 ms of every search; whether it is above the exact size is all a
    search needs (migration 0042), so the count stops one chunk past it."""
    owner = KnowledgeOwner.subscription(base["base"].subscription_id)
    with db.session(base["tenant"], read_only=True) as session:
        bounded, whole = knowledge_base(session, owner, 5), knowledge_base(session, owner, 1_000)
    assert bounded is not None and bounded.chunk_count == 5
    assert whole is not None and whole.chunk_count == 19
