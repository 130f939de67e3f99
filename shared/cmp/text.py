"""Text helpers shared by modules: URL slugs from names in any script.

Transliteration is `python-slugify`'s (Unidecode tables via `text-unidecode`): "Café Crème" becomes
"cafe-creme", Cyrillic and CJK names become their Latin readings. See docs/decisions.md for the choice.
"""

from __future__ import annotations

import re
import uuid

from slugify import slugify as _slugify

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str, max_length: int = 120) -> str:
    """Lower-case ASCII letters, digits and single hyphens, at most `max_length` characters, cut at a word
    boundary; "" when the text has nothing to transliterate (emoji, punctuation only)."""
    return str(_slugify(text or "", max_length=max_length, word_boundary=True, save_order=True))


def looks_like_id(value: str) -> bool:
    """True when `value` parses as a UUID (with or without hyphens): such a slug would be mistaken for an id
    by lookups that accept either."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
