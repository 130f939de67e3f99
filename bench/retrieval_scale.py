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

Timed path: the platform's own hybrid statement (`cmp.knowledge.retrieval.search_chunks`, top 10) as the
application role with the tenant set (RLS on, as in production): vector candidates (HNSW with
`hnsw.iterative_scan = relaxed_order` for a base above `EXACT_MAX_CHUNKS`, else the exact path) and
keyword candidates (`knowledge_keyword_matches`, the GIN index) fused by weighted reciprocal rank
(DESIGN.md §6). "Exact" is the same statement on the exact path for every base (the tenant's rows
through its btree, sorted by true distance).

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
from typing import Any

import psycopg
from psycopg.rows import dict_row

from cmp.db.migrate import migrate
from cmp.db.session import Session
from cmp.knowledge.model import ts_config_for
from cmp.knowledge.retrieval import EXACT_MAX_CHUNKS, BaseRef, Method, SearchFilters, search_chunks
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
            "base": BaseRef(self.bases[t], "bench", DIMENSION, self.sizes[t]),
            "vector": self.vector(rng, topic, subtopic),
            "text": self.text(random.Random(rng.random()), topic, subtopic, 8).replace(" the", "")[:80],
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


def search(conn: psycopg.Connection, params: dict[str, Any], method: Method, exact: bool, ef: int) -> list:
    """One search through the platform's own statement (`cmp.knowledge.retrieval.search_chunks`, top 10)
    as the application role, in its own transaction with the tenant set (RLS on). `exact` takes the exact
    path for every base (the tenant's rows through its btree, sorted by true distance); otherwise a base
    above `EXACT_MAX_CHUNKS` goes through HNSW with the iterative scan, as deployed."""
    with conn.transaction():
        session = Session(conn)
        session.set_tenant(params["tenant"])
        session.execute(f"set local hnsw.ef_search = {int(ef)}")
        hits = search_chunks(
            session, params["tenant"], params["base"], params["text"], params["vector"], 10, method,
            SearchFilters(), exact_max_chunks=10**12 if exact else EXACT_MAX_CHUNKS,
        )  # fmt: skip
    return [hit.chunk_id for hit in hits]


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
        measure(app_role_url(owner_url), corpus, args, "RLS on, as deployed")


def measure(app_url: str, corpus: Corpus, args: argparse.Namespace, label: str) -> None:
    """Time args.queries hybrid searches (half on the large tenant) and their recall against exact search
    (the keyword half goes through `knowledge_keyword_matches`, migration 0020, which probes the GIN
    index under RLS)."""
    rng = random.Random(SEED + 2)
    groups = {"large tenant": [0], "other tenants": list(range(1, len(corpus.sizes)))}
    results: dict[str, dict[str, list[float]]] = {}
    with psycopg.connect(app_url, row_factory=dict_row) as conn:
        for t in range(20):
            search(conn, corpus.query(rng, t % len(corpus.sizes)), "hybrid", False, args.ef_search)
        for group, members in groups.items():
            latencies: list[float] = []
            hybrid_recall: list[float] = []
            vector_recall: list[float] = []
            for _ in range(args.queries // 2):
                params = corpus.query(rng, rng.choice(members))
                started = time.perf_counter()
                fused = search(conn, params, "hybrid", False, args.ef_search)
                latencies.append((time.perf_counter() - started) * 1000)
                exact = search(conn, params, "hybrid", True, args.ef_search)
                hybrid_recall.append(len(set(fused) & set(exact)) / max(1, len(exact)))
                approximate = search(conn, params, "vector", False, args.ef_search)
                exact_vector = search(conn, params, "vector", True, args.ef_search)
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
