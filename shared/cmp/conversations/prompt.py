"""Prompt assembly (spec Part 7 "Prompt Template": persona name and role, brand name and tagline, voice,
"Respond in {detected_language}", the knowledge base context, the user's query).

The system prompt is built from the subscription's resolved settings (`AgentSettings`): the persona (name,
tone, instructions, boundaries; the role is the product's, as the persona section has no role field), the
branding (company name, tagline), the conversation's hand-off message, the answer language, the grounding
rules (strict mode, citations) and the numbered passages. The capability schema has no brand voice field:
the persona's tone is the voice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from cmp.conversations.model import AgentSettings, ImageInput
from cmp.conversations.phrases import language_name
from cmp.conversations.ports import Passage, Prompt


def system_prompt(settings: AgentSettings, language: str, passages: Sequence[Passage], grounded: bool) -> str:
    """The system prompt's text (see module docstring); `grounded` False when no passage passed the
    confidence threshold and the fallback is to answer from general knowledge."""
    persona, brand = settings.persona, settings.branding
    name = persona.get("name") or settings.product_name
    company = brand.get("companyName")
    lines = [
        f"You are {name}, the {settings.product_name} assistant" + (f" of {company}." if company else ".")
    ]
    if brand.get("tagline"):
        lines.append(f"Brand: {company or settings.product_name} - {brand['tagline']}")
    if persona.get("tone"):
        lines.append(f"Voice: {' and '.join(persona['tone'])}.")
    lines.append(f"Language: respond in {language_name(language)} ({language}).")
    if persona.get("instructions"):
        lines.append(f"Instructions: {persona['instructions']}")
    for rule in persona.get("boundaries") or []:
        lines.append(f"Never: {rule}")
    handoff = settings.conversation.get("handoffMessage")
    if handoff:
        lines.append(f"If the user asks for a person, answer exactly: {handoff}")
    if grounded:
        lines.append(
            "Answer only from the context below."
            if settings.strict
            else "Answer from the context below; say so when it does not hold the answer."
        )
        if settings.citations:
            lines.append("Cite the passages you use by their number in square brackets, like [1].")
        lines.append("Context from the knowledge base:")
        for p in passages:
            lines.append(f"[{p.index}] {p.title + ': ' if p.title else ''}{p.text}")
    else:
        lines.append(
            "The knowledge base holds nothing on this question: answer from general knowledge, briefly."
        )
    return "\n".join(lines)


def assemble(
    settings: AgentSettings,
    question: str,
    language: str,
    passages: Sequence[Passage],
    history: Sequence[tuple[Literal["user", "assistant"], str]],
    image: ImageInput | None,
    grounded: bool = True,
) -> Prompt:
    """The `Prompt` a model answers: system prompt, history (already cut to the configured turns), the
    question with its image, the passages as data."""
    return Prompt(
        system=system_prompt(settings, language, passages, grounded),
        question=question,
        language=language,
        history=tuple(history),
        passages=tuple(passages),
        image=image,
        citations=settings.citations,
    )
