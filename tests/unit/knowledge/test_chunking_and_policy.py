"""Chunkers (sizes in tokens, overlap, sentences kept whole, tables keep their header), the capability
policy, the Q&A CSV import and language detection."""

from __future__ import annotations

import pytest

from cmp.errors import Forbidden, PayloadTooLarge, ValidationFailed
from cmp.knowledge.chunking import Chunker, ChunkingOptions, count_words, detect_language
from cmp.knowledge.parsers import Section
from cmp.knowledge.policy import MB, KnowledgePolicy
from cmp.knowledge.qa_import import rows_from_csv

pytestmark = pytest.mark.unit
SENTENCES = [f"Sentence number {i} talks about returns and refunds." for i in range(40)]
TEXT = " ".join(SENTENCES)


def test_fixed_windows_respect_size_and_overlap() -> None:
    chunks = Chunker(ChunkingOptions("fixed", 32, 8)).chunk([Section(TEXT, page=3)])
    assert all(c.token_count <= 32 for c in chunks) and len(chunks) > 5
    assert all(c.page == 3 for c in chunks)
    first, second = chunks[0].content.split(), chunks[1].content.split()
    assert " ".join(first[-3:]) in " ".join(second[:8])  # the overlap repeats the end of the previous window


def test_semantic_never_cuts_a_sentence_and_hybrid_overlaps_whole_sentences() -> None:
    semantic = Chunker(ChunkingOptions("semantic", 40, 10)).chunk([Section(TEXT)])
    for chunk in semantic:
        assert chunk.content.endswith(".") and chunk.token_count <= 40
    assert " ".join(c.content for c in semantic) == TEXT
    hybrid = Chunker(ChunkingOptions("hybrid", 40, 12)).chunk([Section(TEXT)])
    last_sentence = hybrid[0].content.split(". ")[-1]
    assert hybrid[1].content.startswith(last_sentence.rstrip("."))


def test_tables_are_cut_between_rows_and_repeat_their_header() -> None:
    rows = "\n".join(f"| item {i} | {i} days |" for i in range(60))
    table = "| Item | Days |\n|---|---|\n" + rows
    chunks = Chunker(ChunkingOptions("hybrid", 64, 0)).chunk([Section(table, kind="table")])
    assert len(chunks) > 3
    assert all(c.content.startswith("| Item | Days |\n|---|---|\n| item") for c in chunks)
    assert all(c.metadata == {"kind": "table"} for c in chunks)


def test_short_sections_of_one_page_are_merged_in_hybrid_only() -> None:
    sections = [
        Section("Returns: 30 days.", page=1),
        Section("Shipping: 5 days.", page=1),
        Section("Other.", page=2),
    ]
    assert len(Chunker(ChunkingOptions("hybrid")).chunk(sections)) == 2
    assert len(Chunker(ChunkingOptions("semantic")).chunk(sections)) == 3


def test_tokens_come_from_the_given_counter() -> None:
    chunker = Chunker(ChunkingOptions("fixed", 16, 0), counter=lambda word: 4)
    assert chunker.tokens("one two three") == 12
    assert count_words("Hello, world!") == 4
    with pytest.raises(ValueError):
        ChunkingOptions("fixed", 64, 64)


def test_language_detection_for_the_text_search_configuration() -> None:
    assert detect_language("The return policy is that you can send the item back within a month.") == "en"
    assert detect_language("La política de devoluciones es que puede enviar el artículo en un mes.") == "es"
    assert detect_language("| 1 | 2 | 3 |") is None


PASSAGES = {
    "fr": "Pour retourner un article, connectez-vous à votre compte et ouvrez la page de vos commandes."
    " Choisissez la commande concernée, puis cliquez sur « Retourner un article ». Vous pouvez renvoyer un"
    " produit dans les 30 jours qui suivent la livraison, à condition qu'il soit dans son emballage d'origine"
    " et accompagné de tous ses accessoires. Le remboursement est effectué sur le moyen de paiement utilisé"
    " lors de l'achat, en général sous cinq à sept jours ouvrés après la réception du colis par notre"
    " entrepôt. Si le produit est arrivé endommagé, contactez le service client avec une photo du colis :"
    " nous vous enverrons une étiquette de retour gratuite.",
    "de": "Um einen Artikel zurückzusenden, melden Sie sich in Ihrem Konto an und öffnen Sie die Seite mit"
    " Ihren Bestellungen. Wählen Sie die betreffende Bestellung aus und klicken Sie auf „Artikel"
    " zurücksenden“. Sie können ein Produkt innerhalb von 30 Tagen nach der Lieferung zurückgeben, sofern es"
    " sich in der Originalverpackung befindet und alle Zubehörteile enthalten sind. Die Erstattung erfolgt"
    " über die Zahlungsart, die Sie beim Kauf verwendet haben, in der Regel fünf bis sieben Werktage nach"
    " dem Eingang des Pakets in unserem Lager. Wenn das Produkt beschädigt angekommen ist, wenden Sie sich"
    " mit einem Foto des Pakets an den Kundendienst: Wir schicken Ihnen dann ein kostenloses"
    " Rücksendeetikett.",
    "pt": "Para devolver um artigo, entre na sua conta e abra a página dos seus pedidos. Escolha o pedido em"
    " questão e clique em « Devolver um artigo ». Você pode devolver um produto até 30 dias após a entrega,"
    " desde que esteja na embalagem original e com todos os acessórios. O reembolso é feito no mesmo meio de"
    " pagamento usado na compra, normalmente de cinco a sete dias úteis depois de o pacote chegar ao nosso"
    " armazém. Se o produto chegou danificado, entre em contato com o atendimento ao cliente e envie uma"
    " foto da embalagem: nós enviaremos uma etiqueta de devolução gratuita.",
    "it": "Per restituire un articolo, accedi al tuo account e apri la pagina dei tuoi ordini. Scegli"
    " l'ordine in questione e fai clic su « Restituisci un articolo ». Puoi restituire un prodotto entro 30"
    " giorni dalla consegna, purché sia nella confezione originale e con tutti gli accessori. Il rimborso"
    " viene effettuato sullo stesso metodo di pagamento usato per l'acquisto, di solito da cinque a sette"
    " giorni lavorativi dopo che il pacco è arrivato nel nostro magazzino. Se il prodotto è arrivato"
    " danneggiato, contatta il servizio clienti e invia una foto della confezione: ti manderemo"
    " un'etichetta di reso gratuita.",
    "es": "Para devolver un artículo, inicia sesión en tu cuenta y abre la página de tus pedidos. Elige el"
    " pedido correspondiente y haz clic en « Devolver un artículo ». Puedes devolver un producto en los 30"
    " días siguientes a la entrega, siempre que esté en su embalaje original y con todos sus accesorios. El"
    " reembolso se realiza en el mismo medio de pago que usaste en la compra, normalmente entre cinco y"
    " siete días hábiles después de que el paquete llegue a nuestro almacén. Si el producto llegó dañado,"
    " contacta con el servicio de atención al cliente con una foto del paquete: te enviaremos una etiqueta"
    " de devolución gratuita.",
    "en": "To return an item, sign in to your account and open the page with your orders. Choose the order"
    " in question and click « Return an item ». You can send a product back within 30 days of delivery, as"
    " long as it is in its original packaging and comes with all of its accessories. The refund is made to"
    " the payment method used for the purchase, usually five to seven working days after the parcel reaches"
    " our warehouse. If the product arrived damaged, contact customer service with a photo of the parcel: we"
    " will send you a free return label.",
}


@pytest.mark.parametrize("language", PASSAGES)
def test_a_support_paragraph_is_labelled_with_its_own_language(language: str) -> None:
    """New-user trial: a French document's chunks were labelled Spanish (`de`, `la`, `que`, `en`, `un` are
    Spanish function words too) and a German one's None. Words a language shares with the winner do not
    count against it."""
    assert detect_language(PASSAGES[language]) == language
    [chunk] = Chunker(ChunkingOptions()).chunk([Section(PASSAGES[language])])
    assert chunk.language == language


@pytest.mark.parametrize(
    "text",
    [
        "| Loan Type | Reference Rates |\n|---|---|\n| Home Loan | No. 1 | No. 2 | No. 3 |",
        "[npm-url]: https://npmjs.com/a [travis-url]: https://travis-ci.com/b [cov]: https://coveralls.com/c",
        "| Labor cost | Parts cost |\n|---|---|\n| 2 hours × $85 per hour = $170 | $0 per product, e.g. $0 |",
    ],
)
def test_english_words_in_tables_and_links_do_not_make_a_chunk_portuguese_or_italian(text: str) -> None:
    """`no` (No. 1), `com` (web addresses), `per`, `e` (e.g.) and `o` are function words of Portuguese or
    Italian but also everyday tokens of English, Spanish and Italian text: they label no chunk."""
    assert detect_language(text) is None


def _policy(**rag: object) -> KnowledgePolicy:
    return KnowledgePolicy.of({"configuration": {"rag": {"enabled": True, **rag}}})


def test_the_policy_reads_the_capability_snapshot() -> None:
    policy = _policy(
        sources={"documents": True},
        limits={"maxDocuments": 10, "maxSizeMB": 100},
        detail={
            "sources": {"documents": {"formats": ["pdf"], "maxFileSize": 5, "maxFiles": 3}},
            "processing": {"chunking": {"strategy": "fixed", "chunkSize": 256, "overlap": 0}},
        },
    )
    assert policy.documents and not policy.websites
    assert (policy.max_files, policy.max_total_bytes, policy.max_file_bytes) == (3, 100 * MB, 5 * MB)
    assert policy.chunking == ChunkingOptions("fixed", 256, 0)
    policy.check_file("pdf", MB, files=2, total=0)
    with pytest.raises(PayloadTooLarge):
        policy.check_file("pdf", 6 * MB, files=0, total=0)
    with pytest.raises(ValidationFailed) as failed:
        policy.check_file("docx", MB, files=3, total=99 * MB + 1)
    assert [e.path for e in failed.value.errors] == ["filename", "body", "size_bytes"]
    with pytest.raises(Forbidden, match="websites"):
        policy.require("websites")
    assert not KnowledgePolicy.of({}).documents


def test_csv_import_reads_any_column_order_and_delimiter() -> None:
    rows = rows_from_csv("Answer;Question\nCinco días.;¿Cuánto tarda?\n\n;Empty answer\n".encode("cp1252"))
    assert [(r.question, r.answer, r.path) for r in rows] == [
        ("¿Cuánto tarda?", "Cinco días.", "csv.line[2]"),
        ("Empty answer", "", "csv.line[4]"),
    ]
    assert rows_from_csv("\ufeffquestion,answer\nq,a\n".encode())[0].question == "q"
    with pytest.raises(ValidationFailed) as failed:
        rows_from_csv("q,a\nx,y\n")
    assert [(e.path, e.message) for e in failed.value.errors] == [
        ("csv.line[1]", "no question column"),
        ("csv.line[1]", "no answer column"),
        ("csv.line[1]", "has columns a Q&A file does not take: q, a (only question and answer)"),
    ]
