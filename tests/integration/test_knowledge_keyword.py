"""Keyword search under row-level security (migrations 0020, 0038, 0039 and 0042): the GIN index keyed by
base, text search configuration and content_tsv serves it, the SECURITY DEFINER function behind it parses
the query once, reads only its own base's matches, applies the filters and the limit inside, ranks a large
base's matches in tiers (all words first), and never reaches past the caller's own tenant."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import psycopg
import pytest

from cmp.db import Database
from cmp.knowledge.query_text import keyword_query
from cmp.knowledge.retrieval import KnowledgeSearch
from cmp_dev.local.stack import Postgres
from tests.knowledge_data import EMBEDDER, add_base, add_document, new_tenant
from tests.subscriptions import subscribe

pytestmark = pytest.mark.integration

NO_FILTERS = "null, null, null, null, null, null"
MATCH = (
    "select count(*) as n from knowledge_keyword_matches(%s, array['cmp_english']::regconfig[], 'zebracorn',"
    f" 100, false, {NO_FILTERS})"
)
ARGUMENTS = (  # knowledge_keyword_tier's, in order
    "p_tenant",
    "p_base",
    "p_configs",
    "p_match",
    "p_rank",
    "p_limit",
    "p_source_types",
    "p_documents",
    "p_languages",
    "p_after",
    "p_before",
    "p_metadata",
)


@pytest.fixture(scope="module")
def corpus(db: Database, postgres: Postgres) -> dict[str, Any]:
    """A tenant with 2,000 chunks of which one says "zebracorn", and a second tenant with its own such
    chunk; statistics analysed so the planner knows the word is rare."""
    owner, other = new_tenant(db), new_tenant(db)
    bases = {}
    for tenant in (owner, other):
        base = add_base(db, tenant, subscribe(db, tenant).id)
        texts = [f"filler passage number {i} about shipping and returns" for i in range(2_000)]
        texts[1234] = "the zebracorn warranty covers accidental damage"
        add_document(db, base, texts, vectors=[[1.0] + [0.0] * 383] * len(texts), pages=False)
        bases[tenant] = base
    with psycopg.connect(postgres.owner_url, autocommit=True) as conn:
        conn.execute("analyze knowledge_chunks")
    return {"owner": owner, "other": other, "bases": bases}


def _gin_scans(owner_conn: psycopg.Connection[Any]) -> int:
    row = owner_conn.execute(
        "select pg_stat_clear_snapshot(), idx_scan from pg_stat_user_indexes"
        " where indexrelname = 'knowledge_chunks_base_tsv'"
    ).fetchone()
    assert row is not None
    return int(row[1])


def test_the_keyword_search_probes_the_gin_index_under_rls(
    db: Database, corpus: dict[str, Any], owner_conn: psycopg.Connection[Any], postgres: Postgres
) -> None:
    tenant, base = corpus["owner"], corpus["bases"][corpus["owner"]]
    with db.session(tenant, read_only=True) as session:
        plan = [
            row["QUERY PLAN"]
            for row in session.fetch_all(
                "explain select id from knowledge_chunks where knowledge_base_id = %s"
                " and content_tsv @@ websearch_to_tsquery('cmp_english', 'zebracorn')",
                (base.id,),
            )
        ]
    # the trap: `@@` is not leakproof, so RLS keeps it out of any index condition
    assert not [line for line in plan if "Index Cond" in line and "content_tsv @@" in line]
    hits = KnowledgeSearch(db.session, lambda: EMBEDDER).search(
        tenant, base.subscription_id, "zebracorn warranty", 3, "keyword"
    )
    assert hits[0].content == "the zebracorn warranty covers accidental damage"
    before = _gin_scans(owner_conn)
    with psycopg.connect(postgres.app_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
            assert conn.execute(MATCH, (base.id,)).fetchone() == (1,)
        conn.execute("select pg_stat_force_next_flush()")  # flushed as soon as the backend is idle
    deadline = time.monotonic() + 15
    while _gin_scans(owner_conn) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _gin_scans(owner_conn) > before


def test_the_match_function_answers_only_in_the_callers_tenant(db: Database, corpus: dict[str, Any]) -> None:
    owner, other = corpus["owner"], corpus["other"]
    owner_base = corpus["bases"][owner].id
    with db.session(owner, read_only=True) as session:
        assert session.fetch_one(MATCH, (owner_base,))["n"] == 1
    with db.session(other, read_only=True) as session:
        assert session.fetch_one(MATCH, (owner_base,))["n"] == 0  # another tenant's base id
    with db.session(uuid.uuid4(), read_only=True) as session:
        assert session.fetch_one(MATCH, (owner_base,))["n"] == 0
    with db.session(None, read_only=True) as session:
        assert session.fetch_one(MATCH, (owner_base,))["n"] == 0  # no tenant set
    intruder = KnowledgeSearch(db.session, lambda: EMBEDDER)
    assert intruder.search(other, corpus["bases"][owner].subscription_id, "zebracorn", 5, "keyword") == []


def test_the_keyword_query_passes_only_words() -> None:
    assert keyword_query('¿Cuántos días para "devolver" -abiertos?') == "Cuántos días para devolver abiertos"
    assert keyword_query("this OR that") == "this that"
    assert keyword_query("   ") == ""


def test_an_e_mail_address_finds_the_chunks_that_hold_it(db: Database) -> None:
    """The address is one lexeme in the chunks (PostgreSQL's parser), in either language's configuration;
    split into its words it matched neither chunk that holds it, and a chunk with the words apart ranked
    first (new-user trial)."""
    tenant = new_tenant(db)
    base = add_base(db, tenant, subscribe(db, tenant).id)
    vectors = [[1.0] + [0.0] * 383]
    add_document(db, base, ["Our TechCorp example store sells warranty plans"], vectors=vectors, pages=False)
    english = add_document(db, base, ["To claim it, email warranty@techcorp.example"], vectors=vectors)
    spanish = add_document(
        db,
        base,
        ["Para reclamar la garantía, escriba a warranty@techcorp.example"],
        vectors=vectors,
        language="es",
    )
    hits = KnowledgeSearch(db.session, lambda: EMBEDDER).search(
        tenant, base.subscription_id, "warranty@techcorp.example", 5, "keyword"
    )
    assert {hit.document_id for hit in hits} == {english.id, spanish.id}


def test_any_word_matches_and_stop_words_of_every_language_are_dropped(
    db: Database, corpus: dict[str, Any]
) -> None:
    """OR semantics (a question's words rarely all occur in its answer) without the stop words of any
    configuration: "what does the" would otherwise match every chunk parsed in another language."""
    tenant, base = corpus["owner"], corpus["bases"][corpus["owner"]]
    with db.session(tenant, read_only=True) as session:
        query = f"select count(*) as n from knowledge_keyword_matches(%s, %s::regconfig[], %s, 5000, false, {NO_FILTERS})"
        configs = ["cmp_english", "cmp_spanish", "cmp_simple"]
        assert session.fetch_one(query, (base.id, configs, "what does the zebracorn cost"))["n"] == 1
        assert session.fetch_one(query, (base.id, configs, "what does the"))["n"] == 0
        assert session.fetch_one(query, (base.id, configs, "zebracorn filler"))["n"] == 2_000


def test_the_function_parses_the_query_once_and_probes_the_gin_index(
    corpus: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    """The ranked probe's own body (`knowledge_keyword_tier`, migration 0042), planned as its owner: the
    GIN index is probed with the query parsed once in its CTE, and ts_rank reads that parsed query (before
    migration 0038 the lateral `websearch_to_tsquery` was pulled up and re-run for every matching row); the
    probe names the base and the configuration inside the index (migration 0039: before it, each
    configuration's bitmap held the words' matches in every base and configuration, all fetched from the
    heap and filtered), and knowledge_documents is not read when no document filter is given."""
    row = owner_conn.execute(
        "select p.prosrc, r.rolname from pg_proc p join pg_roles r on r.oid = p.proowner"
        " where p.proname = 'knowledge_keyword_tier'"
    ).fetchone()
    assert row is not None
    body, owner = row
    for n, name in enumerate(ARGUMENTS, start=1):
        body = re.sub(rf"\b{name}\b", f"${n}", body)
    tenant, base = corpus["owner"], corpus["bases"][corpus["owner"]]
    with owner_conn.transaction():
        owner_conn.execute(f'set local role "{owner}"')
        owner_conn.execute(
            "prepare keyword_body(uuid, uuid, regconfig[], text, text, integer, text[], uuid[], text[],"
            f" timestamptz, timestamptz, jsonb) as {body}"
        )
        plan = "\n".join(
            r[0]
            for r in owner_conn.execute(
                f"explain (verbose, costs off) execute keyword_body('{tenant}', '{base.id}',"
                " array['cmp_english', 'cmp_spanish', 'cmp_simple']::regconfig[], 'zebracorn warranty',"
                f" 'zebracorn or warranty', 10, {NO_FILTERS})"
            )
        )
        owner_conn.execute("deallocate keyword_body")
    assert "Bitmap Index Scan on knowledge_chunks_base_tsv" in plan
    conditions = [line for line in plan.splitlines() if "Index Cond" in line and "content_tsv @@" in line]
    assert len(conditions) == 1, plan
    assert f"(c.knowledge_base_id = '{base.id}'::uuid)" in conditions[0]
    assert "((c.ts_config)::oid = (q.config)::oid)" in conditions[0]
    assert "(c.content_tsv @@ q.matching)" in conditions[0]
    assert "knowledge_documents" not in plan
    assert "ts_rank(c.content_tsv, q.ranking, 1)" in plan
    assert plan.count("websearch_to_tsquery") == 2  # the matching and the ranking query, once, in the CTE


def test_filters_ranking_and_limit_apply_inside_the_function(db: Database, corpus: dict[str, Any]) -> None:
    tenant, base = corpus["owner"], corpus["bases"][corpus["owner"]]
    query = (
        "select id, rank from knowledge_keyword_matches(%s, array['cmp_english']::regconfig[], %s, %s,"
        " false, %s::text[], %s::uuid[], null, null, null, null)"
    )
    with db.session(tenant, read_only=True) as session:
        best = session.fetch_all(query, (base.id, "zebracorn warranty filler", 3, None, None))
        assert len(best) == 3
        assert [r["rank"] for r in best] == sorted((r["rank"] for r in best), reverse=True)
        top = session.fetch_one(
            "select content from knowledge_chunks where id = %s", (best[0]["id"],)
        )  # the chunk holding two of the words ranks first
        assert top["content"] == "the zebracorn warranty covers accidental damage"
        assert session.fetch_all(query, (base.id, "zebracorn", 5, ["url"], None)) == []
        assert session.fetch_all(query, (base.id, "zebracorn", 5, None, [uuid.uuid4()])) == []
        assert len(session.fetch_all(query, (base.id, "zebracorn", 5, ["file"], None))) == 1
        assert session.fetch_all(query, (base.id, "zebracorn", 0, None, None)) == []


def test_the_keyword_functions_are_planned_with_their_arguments_on_every_call(
    owner_conn: psycopg.Connection[Any],
) -> None:
    """PostgreSQL 18 caches a SQL function's plan and may run its generic plan after five calls in a
    session; the generic plan does not know the base (0038's took 80-89 s a call on a 200,000-chunk base,
    docs/performance.md), so the keyword functions force custom plans (migrations 0039 and 0042)."""
    rows = owner_conn.execute(
        "select proname, proconfig from pg_proc where proname in ('knowledge_keyword_matches',"
        " 'knowledge_product_keyword_matches', 'knowledge_keyword_tier') order by proname"
    ).fetchall()
    assert [name for name, _ in rows] == [
        "knowledge_keyword_matches",
        "knowledge_keyword_tier",
        "knowledge_product_keyword_matches",
    ]
    for _, config in rows:
        assert "plan_cache_mode=force_custom_plan" in config
