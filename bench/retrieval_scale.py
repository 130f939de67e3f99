"""Retrieval at scale: 1,000,000 chunks across 1,000 tenants, p50/p95 of tenant-filtered hybrid search and
recall@10 against exact search (issue 9, "Measure"; target p95 <= 50 ms with recall@10 >= 0.95).

Runs in its own database (`cmp_bench_retrieval`) on an embedded PostgreSQL under `.local/pg-bench` (or on
the server of BENCH_DATABASE_URL), recreated on every run, with the real schema (all migrations, so
`knowledge_chunks` of migration 0014 with its generated tsvector, its tenant btree, its GIN index and its
partial HNSW index on `embedding::vector(384)`).

Data (deterministic, seeded):
- tenant sizes are skewed: one large tenant holds `--large-share` of the chunks (20 % by default), the
  others share the rest by a Zipf law (s = 1.1), at least 20 chunks each; one knowledge base per tenant,
  one document per 50 chunks;
- vectors are STRUCTURED, not random Gaussian (random vectors make every neighbour equally far, which
  neither looks like text embeddings nor exercises the index): 96 topic centroids, 8 sub-topic
  directions per topic, each chunk = centroid + 0.55 x sub-topic + 0.35 x noise, L2-normalised, 384
  dimensions like the embedder; a tenant writes about 3..12 topics, as a support corpus does;
- text: about 60 words drawn mostly from its topic's vocabulary (pseudo-words, so the English stemmer
  keeps them apart) with some shared filler, under the English text search configuration of
  `cmp.knowledge.model.ts_config_for`, so `websearch_to_tsquery` finds topic-related chunks.

Load: COPY (binary, vectors through pgvector's psycopg adapter) with the migration's HNSW and GIN indexes
dropped, then both rebuilt from their own definitions (timed). Foreign keys to subscriptions are not
checked during the load (`session_replication_role = replica`): the benchmark has no buyers.

Timed path: the application role with the tenant set (RLS on, as in production), one SQL statement fusing
vector top-k (HNSW with `hnsw.iterative_scan = relaxed_order`) and `websearch_to_tsquery` top-k by
reciprocal rank fusion (DESIGN.md §6). "Exact" is the same statement with index scans off, so the vector
part is a sequential ranking of the tenant's rows through the tenant btree (bitmap scan).

    .venv/bin/python bench/retrieval_scale.py [--chunks 1000000] [--tenants 1000] [--queries 200]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from cmp.db.migrate import migrate
from cmp.knowledge.model import ts_config_for
from cmp_dev.bench_database import bench_database
from cmp_dev.local.stack import app_role_url

REPO = Path(__file__).resolve().parents[1]
DATABASE = "cmp_bench_retrieval"
SEED = 20260901
DIMENSION = 384
TOPICS = 96
SUBTOPICS = 8
NOISE_POOL = 4096
CHUNKS_PER_DOCUMENT = 50
VOCABULARY = 40
SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "dor", "ni", "pa", "quo", "zer", "bi", "tam", "gu"]
FILLER = tuple(
    [
        "the",
        "a",
        "to",
        "of",
        "and",
        "is",
        "for",
        "on",
        "with",
        "your",
        "this",
        "that",
        "in",
        "it",
        "can",
        "you",
        "be",
        "by",
        "from",
    ]
)
CANDIDATES = 40
"""Rows each side of the fusion contributes (vector top-40, keyword top-40)."""
RRF_K = 60
"""Reciprocal rank fusion constant (Cormack et al., SIGIR 2009)."""

HYBRID_SQL = """
with parsed as materialized (
    select websearch_to_tsquery(%(ts_config)s::regconfig, %(text)s) as query
), vector_hits as materialized (
    select id, embedding::vector(384) <=> %(q)s::vector(384) as distance
    from knowledge_chunks
    where tenant_id = %(tenant)s and knowledge_base_id = %(kb)s and embedding_dimension = 384
    order by embedding::vector(384) <=> %(q)s::vector(384)
    limit %(n)s
), vector_ranked as (
    select id, row_number() over (order by distance) as rank from vector_hits
), keyword_hits as (
    select id, ts_rank_cd(content_tsv, (select query from parsed)) as score
    from knowledge_chunks
    where tenant_id = %(tenant)s and knowledge_base_id = %(kb)s and content_tsv @@ (select query from parsed)
    order by score desc
    limit %(n)s
), keyword_ranked as (
    select id, row_number() over (order by score desc) as rank from keyword_hits
)
select id, sum(1.0 / (%(rrf)s + rank)) as score
from (select id, rank from vector_ranked union all select id, rank from keyword_ranked) as fused
group by id
order by score desc, id
limit 10
"""

VECTOR_SQL = """
with hits as materialized (
    select id, embedding::vector(384) <=> %(q)s::vector(384) as distance
    from knowledge_chunks
    where tenant_id = %(tenant)s and knowledge_base_id = %(kb)s and embedding_dimension = 384
    order by embedding::vector(384) <=> %(q)s::vector(384)
    limit 10
)
select id from hits order by distance
"""


class Corpus:
    """The deterministic generator of topics, tenants, vectors and text."""

    def __init__(self, chunks: int, tenants: int, large_share: float) -> None:
        self.rng = random.Random(SEED)
        self.centroids = [self._unit() for _ in range(TOPICS)]
        self.subtopics = [[self._unit() for _ in range(SUBTOPICS)] for _ in range(TOPICS)]
        self.noise = [self._unit() for _ in range(NOISE_POOL)]
        self.words = [
            [self._word() for _ in range(VOCABULARY)] for _ in range(TOPICS)
        ]  # topic -> its vocabulary
        self.sizes = _sizes(chunks, tenants, large_share)
        self.tenants = [uuid.UUID(int=self.rng.getrandbits(128), version=4) for _ in range(tenants)]
        self.bases = [uuid.UUID(int=self.rng.getrandbits(128), version=4) for _ in range(tenants)]
        self.topics_of = [
            self.rng.sample(range(TOPICS), min(TOPICS, 3 + int(math.log2(size)) // 2)) for size in self.sizes
        ]

    def _unit(self) -> list[float]:
        vector = [self.rng.gauss(0.0, 1.0) for _ in range(DIMENSION)]
        norm = math.sqrt(sum(x * x for x in vector))
        return [x / norm for x in vector]

    def _word(self) -> str:
        return "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 4)))

    def vector(self, rng: random.Random, topic: int, subtopic: int) -> list[float]:
        """centroid + 0.55 x sub-topic + 0.35 x noise (two pooled unit vectors), L2-normalised."""
        centroid, direction = self.centroids[topic], self.subtopics[topic][subtopic]
        a, b = self.noise[rng.randrange(NOISE_POOL)], self.noise[rng.randrange(NOISE_POOL)]
        vector = [
            c + 0.55 * d + 0.25 * x + 0.25 * y for c, d, x, y in zip(centroid, direction, a, b, strict=True)
        ]
        norm = 1.0 / math.sqrt(sum(x * x for x in vector))
        return [x * norm for x in vector]

    def text(self, rng: random.Random, topic: int, subtopic: int, words: int) -> str:
        """Words of the topic (its sub-topic's eighth of the vocabulary favoured) with filler between."""
        vocabulary = self.words[topic]
        favoured = vocabulary[subtopic * 5 : subtopic * 5 + 5]
        picks = []
        for _ in range(words):
            roll = rng.random()
            if roll < 0.3:
                picks.append(rng.choice(favoured))
            elif roll < 0.7:
                picks.append(rng.choice(vocabulary))
            else:
                picks.append(rng.choice(FILLER))
        return " ".join(picks)

    def rows(self) -> Iterator[tuple[object, ...]]:
        """(id, tenant, base, document, ordinal, content, vector) for every chunk, tenant by tenant."""
        rng = random.Random(SEED + 1)
        for t, size in enumerate(self.sizes):
            for n in range(size):
                topic = rng.choice(self.topics_of[t])
                subtopic = rng.randrange(SUBTOPICS)
                yield (
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    self.tenants[t],
                    self.bases[t],
                    _document(self.bases[t], n),
                    n % CHUNKS_PER_DOCUMENT,
                    self.text(rng, topic, subtopic, 60),
                    self.vector(rng, topic, subtopic),
                )

    def documents(self) -> Iterator[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
        """(document, tenant, base) in the same order and with the same ids as rows()."""
        for t, size in enumerate(self.sizes):
            for n in range(0, size, CHUNKS_PER_DOCUMENT):
                yield _document(self.bases[t], n), self.tenants[t], self.bases[t]

    def query(self, rng: random.Random, t: int) -> dict[str, object]:
        """A question of tenant t: a vector from one of its topics and 3 words of the same sub-topic."""
        topic = rng.choice(self.topics_of[t])
        subtopic = rng.randrange(SUBTOPICS)
        return {
            "tenant": self.tenants[t],
            "kb": self.bases[t],
            "q": _literal(self.vector(rng, topic, subtopic)),
            "text": self.text(random.Random(rng.random()), topic, subtopic, 8).replace(" the", "")[:80],
            "ts_config": ts_config_for("en"),
            "n": CANDIDATES,
            "rrf": RRF_K,
        }


def _sizes(chunks: int, tenants: int, large_share: float) -> list[int]:
    """Chunks per tenant: the first holds large_share, the rest a Zipf(1.1) split, >= 20 each."""
    large = int(chunks * large_share)
    rest = chunks - large
    weights = [1.0 / (rank**1.1) for rank in range(1, tenants)]
    total = sum(weights)
    sizes = [max(20, int(rest * w / total)) for w in weights]
    drift = rest - sum(sizes)
    sizes[0] = max(20, sizes[0] + drift)  # the second-largest tenant absorbs the rounding
    return [large, *sizes]


def _document(base: uuid.UUID, ordinal: int) -> uuid.UUID:
    """The document holding a base's chunk number `ordinal` (CHUNKS_PER_DOCUMENT chunks each)."""
    return uuid.uuid5(base, str(ordinal // CHUNKS_PER_DOCUMENT))


def _literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


def load(owner_url: str, corpus: Corpus) -> dict[str, float]:
    """COPY tenants, bases, documents and chunks with the vector and text indexes dropped; rebuild them."""
    from pgvector import Vector
    from pgvector.psycopg import register_vector

    timings: dict[str, float] = {}
    with psycopg.connect(owner_url, autocommit=True) as conn:
        register_vector(conn)
        indexes = conn.execute(
            "select indexname, indexdef from pg_indexes where tablename = 'knowledge_chunks'"
            " and indexname in ('knowledge_chunks_embedding_384', 'knowledge_chunks_tsv')"
        ).fetchall()
        if len(indexes) != 2:
            raise SystemExit("migration 0014 (knowledge_chunks with its HNSW and GIN indexes) is missing")
        for name, _ in indexes:
            conn.execute(f"drop index {name}")
        english = conn.execute("select %s::regconfig::oid", (ts_config_for("en"),)).fetchone()
        assert english is not None
        conn.execute("set session_replication_role = replica")
        started = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy("copy tenants (id, name, slug) from stdin") as copy:
                for n, tenant in enumerate(corpus.tenants):
                    copy.write_row((tenant, f"Tenant {n}", f"bench-tenant-{n}"))
            with cur.copy(
                "copy knowledge_bases (id, tenant_id, subscription_id, embedding_model, embedding_dimension)"
                " from stdin"
            ) as copy:
                for base, tenant in zip(corpus.bases, corpus.tenants, strict=True):
                    copy.write_row((base, tenant, uuid.uuid5(base, "subscription"), "bench-structured", 384))
            with cur.copy(
                "copy knowledge_documents (id, tenant_id, knowledge_base_id, source_type, status) from stdin"
            ) as copy:
                for document, tenant, base in corpus.documents():
                    copy.write_row((document, tenant, base, "file", "indexed"))
            timings["generate+copy documents s"] = time.perf_counter() - started
            started = time.perf_counter()
            with cur.copy(
                "copy knowledge_chunks (id, tenant_id, knowledge_base_id, document_id, ordinal, content,"
                " ts_config, embedding_model, embedding_dimension, embedding) from stdin (format binary)"
            ) as copy:
                copy.set_types(
                    ["uuid", "uuid", "uuid", "uuid", "int4", "text", "oid", "text", "int4", "vector"]
                )
                for cid, tenant, base, document, ordinal, content, vector in corpus.rows():
                    copy.write_row(
                        (
                            cid,
                            tenant,
                            base,
                            document,
                            ordinal,
                            content,
                            english[0],
                            "bench",
                            384,
                            Vector(vector),
                        )
                    )
        timings["generate+copy chunks s"] = time.perf_counter() - started
        conn.execute("set session_replication_role = origin")
        conn.execute("set maintenance_work_mem = '4GB'")
        conn.execute("set max_parallel_maintenance_workers = 2")
        for name, definition in sorted(indexes, key=lambda row: row[0] != "knowledge_chunks_tsv"):
            started = time.perf_counter()
            conn.execute(definition)
            timings[f"build {name} s"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("vacuum analyze")
        timings["vacuum analyze s"] = time.perf_counter() - started
    return timings


def search(conn: psycopg.Connection, sql: str, params: dict[str, object], exact: bool, ef: int) -> list:
    """One search as the application role, in its own transaction with the tenant set (RLS on)."""
    with conn.transaction():
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(params["tenant"]),))
        conn.execute(f"set local hnsw.ef_search = {int(ef)}")
        conn.execute("set local hnsw.iterative_scan = relaxed_order")
        if exact:
            conn.execute("set local enable_indexscan = off")
        return [row[0] for row in conn.execute(sql, params).fetchall()]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    model = platform.machine()
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if "model name" in ln]
        model = names[0] if names else model
    load1, _, _ = os.getloadavg()
    return f"{os.cpu_count()} cores ({model}), load average {load1:.1f} at the start, Python {platform.python_version()}"


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--large-share", type=float, default=0.2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    corpus = Corpus(args.chunks, args.tenants, args.large_share)
    sizes = corpus.sizes
    print(
        f"data: {sum(sizes):,} chunks, {len(sizes)} tenants; largest {sizes[0]:,}, next {sizes[1]:,},"
        f" median {statistics.median(sizes):.0f}, smallest {min(sizes)}"
    )
    with bench_database(DATABASE, REPO) as owner_url:
        migrate(owner_url)
        for label, seconds in load(owner_url, corpus).items():
            print(f"load: {label:<45} {seconds:8.1f}")
        with psycopg.connect(owner_url) as conn:
            row = conn.execute(
                "select pg_size_pretty(pg_total_relation_size('knowledge_chunks')),"
                " pg_size_pretty(pg_relation_size('knowledge_chunks_embedding_384')), version()"
            ).fetchone()
            assert row is not None
            print(f"size: knowledge_chunks {row[0]} (HNSW index {row[1]}); {row[2].split(',')[0]}")
        print(f"queries: {args.queries} per pass, half on the large tenant; ef_search={args.ef_search}")
        measure(app_role_url(owner_url), corpus, args, "RLS on, @@ not leakproof (as deployed)")
        with psycopg.connect(owner_url, autocommit=True) as conn:
            conn.execute("alter function ts_match_vq(tsvector, tsquery) leakproof")
        measure(app_role_url(owner_url), corpus, args, "RLS on, ts_match_vq marked leakproof")


def measure(app_url: str, corpus: Corpus, args: argparse.Namespace, label: str) -> None:
    """Time args.queries hybrid searches (half on the large tenant) and their recall against exact search.

    Row-level security keeps every qual that is not leakproof behind the policy's own filter, and the
    text-search match `@@` (ts_match_vq) is not leakproof: under RLS the GIN index cannot serve it, so a
    keyword search reads every row of the tenant. The second pass marks it leakproof (a superuser act) to
    show what the index would give."""
    rng = random.Random(SEED + 2)
    groups = {"large tenant": [0], "other tenants": list(range(1, len(corpus.sizes)))}
    results: dict[str, dict[str, list[float]]] = {}
    with psycopg.connect(app_url) as conn:
        for t in range(20):
            search(conn, HYBRID_SQL, corpus.query(rng, t % len(corpus.sizes)), False, args.ef_search)
        for group, members in groups.items():
            latencies: list[float] = []
            hybrid_recall: list[float] = []
            vector_recall: list[float] = []
            for _ in range(args.queries // 2):
                params = corpus.query(rng, rng.choice(members))
                started = time.perf_counter()
                fused = search(conn, HYBRID_SQL, params, False, args.ef_search)
                latencies.append((time.perf_counter() - started) * 1000)
                exact = search(conn, HYBRID_SQL, params, True, args.ef_search)
                hybrid_recall.append(len(set(fused) & set(exact)) / max(1, len(exact)))
                approximate = search(conn, VECTOR_SQL, params, False, args.ef_search)
                exact_vector = search(conn, VECTOR_SQL, params, True, args.ef_search)
                vector_recall.append(len(set(approximate) & set(exact_vector)) / max(1, len(exact_vector)))
            results[group] = {"ms": latencies, "hybrid": hybrid_recall, "vector": vector_recall}
    results["all"] = {
        key: [x for r in list(results.values()) for x in r[key]] for key in ("ms", "hybrid", "vector")
    }
    print(f"-- {label}")
    for group, r in results.items():
        print(
            f"hybrid search, {group:<14} queries={len(r['ms']):<4} p50={percentile(r['ms'], 50):7.2f} ms"
            f"  p95={percentile(r['ms'], 95):7.2f} ms  recall@10 hybrid={statistics.mean(r['hybrid']):.3f}"
            f"  vector={statistics.mean(r['vector']):.3f}"
        )


if __name__ == "__main__":
    main()
