"""The offline default language model: an extractive answerer (DESIGN.md §7).

It generates nothing. Its answer opens with a sentence saying plainly that it is extractive, then quotes the
snippets of the passages retrieval found (each a verbatim slice of a cited chunk), numbered like their
citations, so its answer cites exactly what it quotes, in order. The passages are those close to the best
one, in the user's language first (`cmp.knowledge.grounding.supporting` chooses and orders them);
when none is in the user's language it says, in the user's language, that the passages are quoted in the
sources' language. Token counts are word counts (no tokenizer ships with it).
"""

from __future__ import annotations

from collections.abc import Iterator

from cmp.conversations.phrases import phrase
from cmp.conversations.ports import Completion, Prompt


def words(text: str) -> int:
    """Whitespace-separated words of `text`: the extractive answerer's token count."""
    return len(text.split())


class ExtractiveAnswerer:
    """`LanguageModel` that quotes the prompt's passages; it cannot read images nor answer without them."""

    name = "extractive"
    vision = False
    generative = False

    def _lines(self, prompt: Prompt) -> list[str]:
        language = prompt.language.split("-")[0].lower()
        lines = [phrase("extractive", prompt.language)]
        if prompt.passages and all((p.language or "") != language for p in prompt.passages):
            lines.append(phrase("source_language", prompt.language))
        for passage in prompt.passages:
            lines.append(f"{passage.snippet} [{passage.index}]" if prompt.citations else passage.snippet)
        return lines

    def complete(self, prompt: Prompt) -> Completion:
        """The quoted answer; raises ValueError for a prompt without passages (the runtime's fallback
        answers those, never this model)."""
        if not prompt.passages:
            raise ValueError("the extractive answerer needs passages to quote")
        text = "\n\n".join(self._lines(prompt))
        tokens_in = words(prompt.system) + words(prompt.question) + sum(words(t) for _, t in prompt.history)
        return Completion(text, tokens_in, words(text))

    def stream(self, prompt: Prompt) -> Iterator[str | Completion]:
        """The answer's paragraphs one by one, then the `Completion`."""
        completion = self.complete(prompt)
        for i, line in enumerate(self._lines(prompt)):
            yield line if i == 0 else "\n\n" + line
        yield completion
