"""The few sentences the runtime itself says, in each language it detects (`cmp.conversations.language`).

A buyer's own messages (the conversation section's fallback and hand-off messages) replace the refusal and
hand-off sentences; these are what an agent says when the buyer wrote none.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "extractive": {
        "en": "From the knowledge base (an extractive answer: quoted passages, not generated text):",
        "es": "De la base de conocimientos (respuesta extractiva: pasajes citados, no texto generado):",
        "fr": "D'après la base de connaissances (réponse extractive : passages cités, pas de texte généré) :",
        "de": "Aus der Wissensdatenbank (extraktive Antwort: zitierte Passagen, kein generierter Text):",
        "pt": "Da base de conhecimento (resposta extrativa: trechos citados, não texto gerado):",
        "it": "Dalla base di conoscenza (risposta estrattiva: passaggi citati, non testo generato):",
    },
    "source_language": {
        "en": "The passages are quoted in the language of the sources.",
        "es": "Los pasajes se citan en el idioma de las fuentes.",
        "fr": "Les passages sont cités dans la langue des sources.",
        "de": "Die Passagen werden in der Sprache der Quellen zitiert.",
        "pt": "Os trechos são citados no idioma das fontes.",
        "it": "I passaggi sono citati nella lingua delle fonti.",
    },
    "refuse": {
        "en": "I could not find the answer to that in the knowledge base.",
        "es": "No encontré la respuesta a eso en la base de conocimientos.",
        "fr": "Je n'ai pas trouvé la réponse dans la base de connaissances.",
        "de": "Dazu habe ich in der Wissensdatenbank keine Antwort gefunden.",
        "pt": "Não encontrei a resposta para isso na base de conhecimento.",
        "it": "Non ho trovato la risposta nella base di conoscenza.",
    },
    "escalate": {
        "en": "Let me connect you with a person who can help.",
        "es": "Permítame ponerle en contacto con una persona que pueda ayudarle.",
        "fr": "Je vous mets en relation avec une personne qui pourra vous aider.",
        "de": "Ich verbinde Sie mit einer Person, die Ihnen helfen kann.",
        "pt": "Vou colocá-lo em contato com uma pessoa que possa ajudar.",
        "it": "La metto in contatto con una persona che può aiutarla.",
    },
}
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese", "it": "Italian",
}  # fmt: skip


def phrase(key: str, language: str) -> str:
    """The sentence `key` in `language` (a BCP 47 tag: its primary subtag decides), English otherwise."""
    table = PHRASES[key]
    return table.get(language.split("-")[0].lower(), table["en"])


def language_name(language: str) -> str:
    """The English name of a language tag, for the system prompt (the tag itself when unknown)."""
    return LANGUAGE_NAMES.get(language.split("-")[0].lower(), language)
