"""What an upload really is (signatures, SVG active content) and slugs from names in any script."""

from __future__ import annotations

import pytest

from cmp.catalog.content import SVG_TYPE, sniff, svg_problems
from cmp.text import looks_like_id, slugify

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5" fill="#123"/></svg>'


@pytest.mark.parametrize(
    ("data", "expected"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (b"%PDF-1.7\n", "application/pdf")],
)
def test_binary_types_are_known_by_their_signature(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


def test_html_announced_as_an_image_is_not_an_image() -> None:
    html = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    assert sniff(html, full=html) is None


def test_svg_is_recognised_by_parsing_it() -> None:
    assert sniff(SVG[:16], full=SVG) == SVG_TYPE
    assert svg_problems(SVG) == []


@pytest.mark.parametrize(
    ("svg", "problem"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script>"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "onload"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p/></foreignObject></svg>',
            "foreignobject",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.test/a.png"/></svg>',
            "other files",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            b'<a xlink:href="javascript:alert(1)"><rect/></a></svg>',
            "javascript:",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://x.test/a.css);</style></svg>',
            "<style>",
        ),
        (b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>', "DTD"),
        (b"<svg", "not well-formed"),
    ],
)
def test_active_or_external_svg_content_is_named(svg: bytes, problem: str) -> None:
    problems = svg_problems(svg)
    assert any(problem in p for p in problems), problems


def test_internal_references_and_embedded_images_are_fine() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g"/></defs>'
        b'<rect fill="url(#g)"/><use href="#g"/><image href="data:image/png;base64,AAAA"/></svg>'
    )
    assert svg_problems(svg) == []


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Crème Déjà Vu", "cafe-creme-deja-vu"),
        ("Acme FAQ Bot", "acme-faq-bot"),
        ("Zürich — Support & Sales", "zurich-support-sales"),
        ("Поддержка клиентов", "podderzhka-klientov"),
    ],
)
def test_slugs_transliterate(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_names_in_other_scripts_still_give_a_slug_and_symbols_alone_give_none() -> None:
    assert slugify("東京サポート")
    assert slugify("🤖🤖 !!!") == ""


def test_slugs_are_cut_at_a_word_boundary() -> None:
    assert slugify("alpha beta gamma", max_length=12) == "alpha-beta"


def test_ids_are_recognised_with_or_without_hyphens() -> None:
    assert looks_like_id("0f8fad5bd9cb469fa16570867728950e")
    assert looks_like_id("0f8fad5b-d9cb-469f-a165-70867728950e")
    assert not looks_like_id("acme-faq-bot")


def test_asset_urls_carry_the_verified_type_and_disposition() -> None:
    """A presigned GET of a stored asset tells S3 which type and disposition to answer with (signed, so a
    reader cannot change them): SVG downloads as an attachment instead of rendering as a page."""
    import boto3

    from cmp.aws.adapters import ObjectStore
    from cmp.catalog.asset_model import serving_headers

    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    key = "products/t/p/logo/abc.svg"
    url = ObjectStore(s3).presigned_get("assets", key, response_headers=serving_headers(key))
    assert "response-content-type=image%2Fsvg%2Bxml" in url
    assert "response-content-disposition=attachment" in url
    png = ObjectStore(s3).presigned_get("assets", "a/b.png", response_headers=serving_headers("a/b.png"))
    assert "response-content-type=image%2Fpng" in png and "response-content-disposition=inline" in png
