"""Retrieval at scale: 1,000,000 chunks across 1,000 tenants, p50/p95 of tenant-filtered hybrid search and
recall@10 against exact search (issue 9, "Measure"; target p95 <= 50 ms with recall@10 >= 0.95).

Runs in its own database (`cmp_bench_retrieval`) on an embedded PostgreSQL under `.local/pg-bench` (or on
the server of BENCH_DATABASE_URL), recreated on every run, with the real schema (all migrations, so
`knowledge_chunks` of migration 0014 with its generated tsvector, its tenant btree and its partial HNSW
index on `embedding::vector(384)`, and migration 0039's GIN index by base and text search configuration).

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

Load: generated in numpy batches of `BATCH` rows (vectors and word picks vectorised), then one binary
COPY with the migration's HNSW and GIN indexes dropped, both rebuilt afterwards from their own definitions
(`maintenance_work_mem = 4GB`, 2 parallel workers; timed). Foreign keys to subscriptions are not checked
during the load (`session_replication_role = replica`): the benchmark has no buyers. `--reuse` measures the
database the last run loaded again (after any newer migration), without reloading it.

Timed path: the platform's own search (`cmp.knowledge.retrieval.KnowledgeSearch.search`, hybrid, top 10)
as the application role with the tenant set (RLS on, as in production), on one pooled connection as a
warm function's: the subscription's base looked up with its chunks counted (up to `EXACT_MAX_CHUNKS` + 1),
then one statement with vector candidates (HNSW with `hnsw.iterative_scan = relaxed_order` for a base
above `EXACT_MAX_CHUNKS`, else the exact path) and keyword candidates (`knowledge_keyword_matches`: the GIN
index of migration 0039, a large base's tiers of migration 0042) fused by weighted reciprocal rank
(DESIGN.md §6). The question's vector is the corpus's own, so no model time is included. "Exact" is the
same search on the exact path for every base (the tenant's rows through its btree, sorted by true
distance; every keyword match ranked).

    .venv/bin/python bench/retrieval_scale.py [--chunks 1000000] [--tenants 1000] [--queries 200] [--reuse]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from cmp.db import Database
from cmp.db.migrate import migrate
from cmp.knowledge.model import ts_config_for
from cmp.knowledge.retrieval import EXACT_MAX_CHUNKS, HNSW_EF_SEARCH, KnowledgeSearch, Method
from cmp_dev.bench_database import bench_database
from cmp_dev.local.stack import app_role_url

REPO = Path(__file__).resolve().parents[1]
DATABASE = "cmp_bench_retrieval"
SEED = 20260901
DIMENSION = 384
MODEL = "bench-structured"
TOPICS = 96
SUBTOPICS = 8
NOISE_POOL = 4096
BATCH = 1_000
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
    """The deterministic generator of topics, tenants, vectors and text, in numpy batches (one tenant's
    rows at most `BATCH` at a time: generating them one by one in Python took about 2 ms a chunk, which
    made a 1,000,000-chunk load last over half an hour on a busy machine)."""

    def __init__(self, chunks: int, tenants: int, large_share: float) -> None:
        import numpy as np

        self.rng = np.random.default_rng(SEED)
        self.centroids = self._units(TOPICS)
        self.subtopics = self._units(TOPICS * SUBTOPICS).reshape(TOPICS, SUBTOPICS, DIMENSION)
        self.noise = self._units(NOISE_POOL)
        words = [self._word() for _ in range(TOPICS * VOCABULARY)]  # topic t's vocabulary: t*VOCABULARY...
        self.table = np.array([*words, *FILLER], dtype=object)
        self.sizes = _sizes(chunks, tenants, large_share)
        self.tenants = [self._uuid() for _ in range(tenants)]
        self.bases = [self._uuid() for _ in range(tenants)]
        self.topics_of = [
            self.rng.choice(TOPICS, min(TOPICS, 3 + int(math.log2(size)) // 2), replace=False)
            for size in self.sizes
        ]

    def _units(self, count: int) -> Any:
        vectors = self.rng.standard_normal((count, DIMENSION))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def _word(self) -> str:
        return "".join(SYLLABLES[i] for i in self.rng.integers(len(SYLLABLES), size=self.rng.integers(2, 5)))

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.rng.bytes(16), version=4)

    def vectors(self, rng: Any, topics: Any, subtopics: Any) -> Any:
        """centroid + 0.55 x sub-topic + 0.25 x two pooled noise vectors, L2-normalised: (n, 384) float32."""
        a, b = rng.integers(NOISE_POOL, size=(2, len(topics)))
        vectors = (
            self.centroids[topics]
            + 0.55 * self.subtopics[topics, subtopics]
            + 0.25 * (self.noise[a] + self.noise[b])
        )
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def texts(self, rng: Any, topics: Any, subtopics: Any, words: int) -> list[str]:
        """`words` words each: 30 % from the sub-topic's fifth of the topic's vocabulary, 40 % from the
        whole vocabulary, 30 % filler."""
        n = len(topics)
        roll = rng.random((n, words))
        topic_base = (topics * VOCABULARY)[:, None]
        favoured = topic_base + (subtopics * 5)[:, None] + rng.integers(5, size=(n, words))
        anywhere = topic_base + rng.integers(VOCABULARY, size=(n, words))
        filler = TOPICS * VOCABULARY + rng.integers(len(FILLER), size=(n, words))
        picks = np.where(roll < 0.3, favoured, np.where(roll < 0.7, anywhere, filler))
        return [" ".join(row) for row in self.table[picks]]

    def batches(self) -> Iterator[tuple[int, int, Any, list[str], Any]]:
        """(tenant index, first ordinal, ids as 16-byte rows, texts, float32 vectors) for every chunk,
        tenant by tenant, at most BATCH rows at a time."""
        rng = np.random.default_rng(SEED + 1)
        for t, size in enumerate(self.sizes):
            for start in range(0, size, BATCH):
                n = min(BATCH, size - start)
                topics = self.topics_of[t][rng.integers(len(self.topics_of[t]), size=n)]
                subtopics = rng.integers(SUBTOPICS, size=n)
                ids = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
                ids[:, 6] = (ids[:, 6] & 0x0F) | 0x40  # version 4
                ids[:, 8] = (ids[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
                yield (
                    t,
                    start,
                    ids,
                    self.texts(rng, topics, subtopics, 60),
                    self.vectors(rng, topics, subtopics),
                )

    def documents(self) -> Iterator[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
        """(document, tenant, base) for every document of every base (CHUNKS_PER_DOCUMENT chunks each)."""
        for t, size in enumerate(self.sizes):
            for n in range(0, size, CHUNKS_PER_DOCUMENT):
                yield _document(self.bases[t], n), self.tenants[t], self.bases[t]

    def query(self, rng: Any, t: int) -> dict[str, object]:
        """A question of tenant t: a vector from one of its topics and 8 words of the same sub-topic (the
        filler "the" dropped, at most 80 characters)."""
        topics = np.array([self.topics_of[t][rng.integers(len(self.topics_of[t]))]])
        subtopics = rng.integers(SUBTOPICS, size=1)
        return {
            "tenant": self.tenants[t],
            "subscription": uuid.uuid5(self.bases[t], "subscription"),
            "vector": self.vectors(rng, topics, subtopics)[0].tolist(),
            "text": self.texts(rng, topics, subtopics, 8)[0].replace(" the", "")[:80],
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
    timings: dict[str, float] = {}
    with psycopg.connect(owner_url, autocommit=True) as conn:
        indexes = conn.execute(
            "select indexname, indexdef from pg_indexes where tablename = 'knowledge_chunks'"
            " and indexname in ('knowledge_chunks_embedding_384', 'knowledge_chunks_base_tsv')"
        ).fetchall()
        if len(indexes) != 2:
            raise SystemExit("migrations 0014 and 0039 (knowledge_chunks' HNSW and GIN indexes) are missing")
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
                    copy.write_row((base, tenant, uuid.uuid5(base, "subscription"), MODEL, DIMENSION))
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
                # id and embedding go as raw bytes in their types' binary formats (a uuid's 16 bytes;
                # pgvector's vector_recv: dimension and 0 as big-endian int16, then big-endian float4s)
                copy.set_types(
                    ["bytea", "uuid", "uuid", "uuid", "int4", "text", "oid", "text", "int4", "bytea"]
                )
                header = struct.pack(">HH", DIMENSION, 0)
                for t, start, ids, texts, vectors in corpus.batches():
                    tenant, base = corpus.tenants[t], corpus.bases[t]
                    big_endian = vectors.astype(">f4")
                    document = _document(base, start)
                    for i, content in enumerate(texts):
                        ordinal = start + i
                        if ordinal % CHUNKS_PER_DOCUMENT == 0:
                            document = _document(base, ordinal)
                        copy.write_row(
                            (
                                ids[i].tobytes(),
                                tenant,
                                base,
                                document,
                                ordinal % CHUNKS_PER_DOCUMENT,
                                content,
                                english[0],
                                "bench",
                                DIMENSION,
                                header + big_endian[i].tobytes(),
                            )
                        )
        timings["generate+copy chunks s"] = time.perf_counter() - started
        conn.execute("set session_replication_role = origin")
        conn.execute("set maintenance_work_mem = '4GB'")
        conn.execute("set max_parallel_maintenance_workers = 2")
        for name, definition in sorted(indexes, key=lambda row: row[0] != "knowledge_chunks_base_tsv"):
            started = time.perf_counter()
            conn.execute(definition)
            timings[f"build {name} s"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("vacuum analyze")
        timings["vacuum analyze s"] = time.perf_counter() - started
    return timings


class QuestionVector:
    """The query embedder of one question: its vector is the structured corpus's, already made."""

    model = MODEL
    dimension = DIMENSION

    def __init__(self, vector: list[float]) -> None:
        self._vector = vector

    def embed_documents(self, texts: Any) -> list[list[float]]:
        raise NotImplementedError("the benchmark embeds no passage")

    def embed_query(self, text: str) -> list[float]:
        return self._vector


def search(database: Database, params: dict[str, Any], method: Method, exact: bool, ef: int) -> list:
    """One search through the platform's own path (`KnowledgeSearch.search`, top 10: the subscription's
    base looked up with its chunks counted, then the one search statement, each in its own transaction as
    the application role with the tenant set, RLS on), without the model's time to embed the question.
    `exact` takes the exact path for every base (the tenant's rows through its btree, sorted by true
    distance; every keyword match ranked); otherwise a base above `EXACT_MAX_CHUNKS` goes through HNSW with
    the iterative scan and the keyword tiers, as deployed."""
    searcher = KnowledgeSearch(
        database.session, lambda: QuestionVector(params["vector"]),
        exact_max_chunks=10**12 if exact else EXACT_MAX_CHUNKS, ef_search=ef,
    )  # fmt: skip
    hits = searcher.search(params["tenant"], params["subscription"], params["text"], 10, method)
    return [hit.chunk_id for hit in hits]


def _loaded(owner_url: str) -> int:
    """Chunks in the benchmark's database (0 before its first migration)."""
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("select to_regclass('knowledge_chunks') is not null").fetchone()
        if row is None or not row[0]:
            return 0
        count = conn.execute("select count(*) from knowledge_chunks").fetchone()
        return int(count[0]) if count else 0


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
    parser.add_argument("--ef-search", type=int, default=HNSW_EF_SEARCH)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data the last run with the same --chunks/--tenants loaded (newer migrations"
        " applied, nothing reloaded)",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    corpus = Corpus(args.chunks, args.tenants, args.large_share)
    sizes = corpus.sizes
    print(
        f"data: {sum(sizes):,} chunks, {len(sizes)} tenants; largest {sizes[0]:,}, next {sizes[1]:,},"
        f" median {statistics.median(sizes):.0f}, smallest {min(sizes)}"
    )
    with bench_database(DATABASE, REPO, fresh=not args.reuse) as owner_url:
        loaded = _loaded(owner_url) if args.reuse else 0
        if args.reuse and loaded != sum(sizes):
            raise SystemExit(f"--reuse: the database holds {loaded:,} chunks, not {sum(sizes):,}")
        migrate(owner_url)
        if not args.reuse:
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
    """Time args.queries hybrid searches (half on the large tenant) and their recall against exact search,
    on one pooled connection as a warm function's (its statements past psycopg's prepare threshold)."""
    rng = np.random.default_rng(SEED + 2)
    groups = {"large tenant": [0], "other tenants": list(range(1, len(corpus.sizes)))}
    results: dict[str, dict[str, list[float]]] = {}
    database = Database(app_url, max_size=1)
    try:
        for t in range(20):
            search(database, corpus.query(rng, t % len(corpus.sizes)), "hybrid", False, args.ef_search)
        for group, members in groups.items():
            latencies: list[float] = []
            hybrid_recall: list[float] = []
            vector_recall: list[float] = []
            for _ in range(args.queries // 2):
                params = corpus.query(rng, members[rng.integers(len(members))])
                started = time.perf_counter()
                fused = search(database, params, "hybrid", False, args.ef_search)
                latencies.append((time.perf_counter() - started) * 1000)
                exact = search(database, params, "hybrid", True, args.ef_search)
                hybrid_recall.append(len(set(fused) & set(exact)) / max(1, len(exact)))
                approximate = search(database, params, "vector", False, args.ef_search)
                exact_vector = search(database, params, "vector", True, args.ef_search)
                vector_recall.append(len(set(approximate) & set(exact_vector)) / max(1, len(exact_vector)))
            results[group] = {"ms": latencies, "hybrid": hybrid_recall, "vector": vector_recall}
    finally:
        database.close()
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
