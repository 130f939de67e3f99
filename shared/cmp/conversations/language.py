"""Which language a message is written in (`lingua-language-detector`, its models inside the wheel).

The detector knows only `LANGUAGES`, the languages the platform has text search configurations or answer
phrases for, and runs in lingua's low-accuracy mode (trigram models only): measured here, the first
detection (model load) takes ~0.08 s instead of ~3 s in high-accuracy mode, later ones well under 1 ms, and a
one-sentence chat message is detected right. A message too short to tell (`ok`, `?`) detects as None.
"""

from __future__ import annotations

from functools import cache
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt", "it")
"""ISO 639-1 codes of the languages detected."""


@cache
def _detector() -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect(text: str) -> str | None:
    """The ISO 639-1 code of the language of `text` (one of LANGUAGES), or None when it cannot tell."""
    found = _detector().detect_language_of(text)
    return None if found is None else str(found.iso_code_639_1.name).lower()
