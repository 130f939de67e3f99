"""Which language a message is written in (`lingua-language-detector`, its models inside the wheel).

The detector knows only `LANGUAGES`, the languages the platform has text search configurations or answer
phrases for, and runs in lingua's low-accuracy mode (trigram models only): measured here, the first
detection (model load) takes ~0.08 s instead of ~3 s in high-accuracy mode, later ones well under 1 ms, and a
one-sentence chat message is detected right. Trigrams cannot tell a greeting's language, nor always a short
question's: measured here, `hello` came out French at 0.30, `hello there` Spanish at 0.51 and `Do you sell
smartphones?` German at 0.97 (lingua's confidence values). So lingua decides only when its best language
reaches `MIN_CONFIDENCE`; below it the message's function words decide (`cmp.knowledge.chunking.
FUNCTION_WORDS`: `do` and `you` make that question English) when one language has at least
`MIN_FUNCTION_WORDS` of them and twice as many as any other; otherwise, and for a message with fewer than
`MIN_LETTERS` letters, it detects as None and the caller falls back (`AgentSettings.response_language`).
Only the first `PREFIX_CHARS` characters are read: a long message's language is settled well before its end.
"""

from __future__ import annotations

from functools import cache
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt", "it")
"""ISO 639-1 codes of the languages detected."""

MIN_LETTERS = 12
"""Fewer letters than this (`hello there` has 10) is too short to tell."""

MIN_CONFIDENCE = 0.99
"""Lingua's confidence (0..1, the languages' values sum to 1) its best language needs to decide alone;
one-sentence messages in this module's tests score 0.99 or more, greetings 0.51 or less, and short questions
it gets wrong 0.97 or less (`Do you sell smartphones?` German at 0.97, `Vendete smartphone?` German at
0.94)."""
MIN_FUNCTION_WORDS = 1
"""Function words of one language a message needs when lingua is unsure (`Do you sell smartphones?`: 2)."""

PREFIX_CHARS = 1000
"""Characters of the message read; lingua's time grows with the text's length."""


@cache
def _detector() -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect(text: str) -> str | None:
    """The ISO 639-1 code of the language of `text` (one of LANGUAGES), or None when it cannot tell: fewer
    than MIN_LETTERS letters, or neither lingua reaches MIN_CONFIDENCE nor one language's function words
    lead (module docstring)."""
    from cmp.knowledge.chunking import function_words, leading_language

    prefix = text[:PREFIX_CHARS]
    if sum(ch.isalpha() for ch in prefix) < MIN_LETTERS:
        return None
    values = _detector().compute_language_confidence_values(prefix)
    if values and values[0].value >= MIN_CONFIDENCE:
        return str(values[0].language.iso_code_639_1.name).lower()
    return leading_language(function_words(prefix, LANGUAGES), MIN_FUNCTION_WORDS)
