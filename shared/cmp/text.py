"""Text helpers shared by modules: URL slugs from names in any script, and the indefinite article of a word.

Transliteration is `python-slugify`'s (Unidecode tables via `text-unidecode`): "Café Crème" becomes
"cafe-creme", Cyrillic and CJK names become their Latin readings. See docs/decisions.md for the choice.
`python-slugify` loads on the first `slugify` call, so importing this module costs a cold start nothing.
"""

from __future__ import annotations

import re
import uuid

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_SAID_AS_LETTERS = re.compile(r"^(?:[A-Z0-9]{2,}|[^aeiouyAEIOUY]+)$")
"""An acronym, said letter by letter: all capitals (`API`, `USD`) or without a vowel (`n8n`, `mcp`)."""
_LETTER_NAMES_WITH_A_VOWEL = frozenset("aefhilmnorsx8")
"""First characters whose spoken names start with a vowel sound: "an F", "an n8n", "an 8"."""
_VOWEL_LETTER_SAID_AS_YOU = ("eu", "one", "once", "uni", "usa", "use", "usu", "uti", "ubi")
_SILENT_H = ("hour", "honest", "honor", "honour", "heir")


def slugify(text: str, max_length: int = 120) -> str:
    """Lower-case ASCII letters, digits and single hyphens, at most `max_length` characters, cut at a word
    boundary; "" when the text has nothing to transliterate (emoji, punctuation only)."""
    from slugify import slugify as _slugify  # ~10 ms; only the routes that name things need it

    return str(_slugify(text or "", max_length=max_length, word_boundary=True, save_order=True))


def with_article(word: object) -> str:
    """`word` after its indefinite article, chosen by how the word is said: "an automation", "a swarm",
    "an API", "an n8n", "a user", "an hour". Used wherever a message names a value from a variable
    ("is to an automation, not an agent")."""
    text = str(word)
    lower = text.lower()
    if not text:
        return "a"
    if _SAID_AS_LETTERS.match(text):
        vowel_sound = lower[0] in _LETTER_NAMES_WITH_A_VOWEL
    elif lower.startswith(_VOWEL_LETTER_SAID_AS_YOU):
        vowel_sound = False
    else:
        vowel_sound = lower[0] in "aeiou" or lower.startswith(_SILENT_H)
    return f"{'an' if vowel_sound else 'a'} {text}"


def looks_like_id(value: str) -> bool:
    """True when `value` parses as a UUID (with or without hyphens): such a slug would be mistaken for an id
    by lookups that accept either."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
