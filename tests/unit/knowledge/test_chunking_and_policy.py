"""Chunkers (sizes in tokens, overlap, sentences kept whole, tables keep their header), the capability
policy, the Q&A CSV import and language detection."""

from __future__ import annotations

import pytest

from cmp.errors import Forbidden, PayloadTooLarge, ValidationFailed
from cmp.knowledge.chunking import Chunker, ChunkingOptions, count_words, detect_language
from cmp.knowledge.parsers import Section
from cmp.knowledge.policy import MB, KnowledgePolicy
from cmp.knowledge.qa_import import rows_from_csv

pytestmark = pytest.mark.unit
SENTENCES = [f"Sentence number {i} talks about returns and refunds." for i in range(40)]
TEXT = " ".join(SENTENCES)


def test_fixed_windows_respect_size_and_overlap() -> None:
    chunks = Chunker(ChunkingOptions("fixed", 32, 8)).chunk([Section(TEXT, page=3)])
    assert all(c.token_count <= 32 for c in chunks) and len(chunks) > 5
    assert all(c.page == 3 for c in chunks)
    first, second = chunks[0].content.split(), chunks[1].content.split()
    assert " ".join(first[-3:]) in " ".join(second[:8])  # the overlap repeats the end of the previous window


def test_semantic_never_cuts_a_sentence_and_hybrid_overlaps_whole_sentences() -> None:
    semantic = Chunker(ChunkingOptions("semantic", 40, 10)).chunk([Section(TEXT)])
    for chunk in semantic:
        assert chunk.content.endswith(".") and chunk.token_count <= 40
    assert " ".join(c.content for c in semantic) == TEXT
    hybrid = Chunker(ChunkingOptions("hybrid", 40, 12)).chunk([Section(TEXT)])
    last_sentence = hybrid[0].content.split(". ")[-1]
    assert hybrid[1].content.startswith(last_sentence.rstrip("."))


def test_tables_are_cut_between_rows_and_repeat_their_header() -> None:
    rows = "\n".join(f"| item {i} | {i} days |" for i in range(60))
    table = "| Item | Days |\n|---|---|\n" + rows
    chunks = Chunker(ChunkingOptions("hybrid", 64, 0)).chunk([Section(table, kind="table")])
    assert len(chunks) > 3
    assert all(c.content.startswith("| Item | Days |\n|---|---|\n| item") for c in chunks)
    assert all(c.metadata == {"kind": "table"} for c in chunks)


def test_short_sections_of_one_page_are_merged_in_hybrid_only() -> None:
    sections = [
        Section("Returns: 30 days.", page=1),
        Section("Shipping: 5 days.", page=1),
        Section("Other.", page=2),
    ]
    assert len(Chunker(ChunkingOptions("hybrid")).chunk(sections)) == 2
    assert len(Chunker(ChunkingOptions("semantic")).chunk(sections)) == 3


def test_tokens_come_from_the_given_counter() -> None:
    chunker = Chunker(ChunkingOptions("fixed", 16, 0), counter=lambda word: 4)
    assert chunker.tokens("one two three") == 12
    assert count_words("Hello, world!") == 4
    with pytest.raises(ValueError):
        ChunkingOptions("fixed", 64, 64)


def test_language_detection_for_the_text_search_configuration() -> None:
    assert detect_language("The return policy is that you can send the item back within a month.") == "en"
    assert detect_language("La política de devoluciones es que puede enviar el artículo en un mes.") == "es"
    assert detect_language("| 1 | 2 | 3 |") is None


def _policy(**rag: object) -> KnowledgePolicy:
    return KnowledgePolicy.of({"configuration": {"rag": {"enabled": True, **rag}}})


def test_the_policy_reads_the_capability_snapshot() -> None:
    policy = _policy(
        sources={"documents": True},
        limits={"maxDocuments": 10, "maxSizeMB": 100},
        detail={
            "sources": {"documents": {"formats": ["pdf"], "maxFileSize": 5, "maxFiles": 3}},
            "processing": {"chunking": {"strategy": "fixed", "chunkSize": 256, "overlap": 0}},
        },
    )
    assert policy.documents and not policy.websites
    assert (policy.max_files, policy.max_total_bytes, policy.max_file_bytes) == (3, 100 * MB, 5 * MB)
    assert policy.chunking == ChunkingOptions("fixed", 256, 0)
    policy.check_file("pdf", MB, files=2, total=0)
    with pytest.raises(PayloadTooLarge):
        policy.check_file("pdf", 6 * MB, files=0, total=0)
    with pytest.raises(ValidationFailed) as failed:
        policy.check_file("docx", MB, files=3, total=99 * MB + 1)
    assert [e.path for e in failed.value.errors] == ["filename", "body", "size_bytes"]
    with pytest.raises(Forbidden, match="websites"):
        policy.require("websites")
    assert not KnowledgePolicy.of({}).documents


def test_csv_import_reads_any_column_order_and_delimiter() -> None:
    rows = rows_from_csv("Answer;Question\nCinco días.;¿Cuánto tarda?\n\n;Empty answer\n".encode("cp1252"))
    assert [(r.question, r.answer, r.path) for r in rows] == [
        ("¿Cuánto tarda?", "Cinco días.", "csv.line[2]"),
        ("Empty answer", "", "csv.line[4]"),
    ]
    assert rows_from_csv("\ufeffquestion,answer\nq,a\n".encode())[0].question == "q"
    with pytest.raises(ValidationFailed) as failed:
        rows_from_csv("q,a\nx,y\n")
    assert [(e.path, e.message) for e in failed.value.errors] == [
        ("csv.line[1]", "no question column"),
        ("csv.line[1]", "no answer column"),
        ("csv.line[1]", "has columns a Q&A file does not take: q, a (only question and answer)"),
    ]
