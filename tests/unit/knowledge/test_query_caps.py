"""A long message is cut before retrieval (defect report #8): only its first characters are embedded and its
first distinct words matched by keyword search, so a 4,000-character chat message costs about what a
1,000-character one does."""

from __future__ import annotations

from cmp.knowledge.query_text import KEYWORD_MAX_WORDS, QUERY_MAX_CHARS, embedded_query, keyword_query

LONG = " ".join(f"word{i} charger warranty" for i in range(400))  # 1,200 distinct words, 9,000+ characters


def test_the_keyword_query_keeps_the_first_distinct_words() -> None:
    words = keyword_query(LONG).split()
    assert len(words) == KEYWORD_MAX_WORDS == len({w.casefold() for w in words})
    assert words[:4] == ["word0", "charger", "warranty", "word1"]
    assert keyword_query("Charger charger CHARGER or warranty") == "Charger warranty"


def test_only_the_first_characters_are_embedded_cut_at_a_word() -> None:
    cut = embedded_query(LONG)
    assert len(cut) <= QUERY_MAX_CHARS and LONG.startswith(cut) and LONG[len(cut)] == " "
    assert embedded_query("Is this charger compatible?") == "Is this charger compatible?"
    assert embedded_query("x" * 4000) == "x" * QUERY_MAX_CHARS


def test_an_address_a_code_or_a_version_stays_one_word() -> None:
    """PostgreSQL's parser keeps `warranty@techcorp.example` (e-mail), `techcorp.example` (host) and
    `1.2.3` (version) as single lexemes in the chunks, so the query must pass them whole; a `-` that
    starts a word is dropped (websearch's negation), one inside a word joins it."""
    assert keyword_query("Email warranty@techcorp.example about the X-200 (v1.2.3)!") == (
        "Email warranty@techcorp.example about the X-200 v1.2.3"
    )
    assert keyword_query("-abiertos a--b end. .net") == "abiertos a b end net"
