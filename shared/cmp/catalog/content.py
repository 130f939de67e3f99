"""What an uploaded file really is: its type from its leading bytes (not the declared Content-Type), and
whether an SVG carries active content.

Binary signatures come from the `filetype` package; SVG, being text, is recognised by parsing it with
`defusedxml` (which refuses entity expansion and external DTDs, so an XML bomb is rejected, not expanded).
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

import filetype
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

# How many leading bytes `sniff` needs for every binary type it knows (filetype reads at most 8 KiB).
SNIFF_BYTES = 8192
SVG_TYPE = "image/svg+xml"
_SVG_NS = "{http://www.w3.org/2000/svg}"
_ACTIVE_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener"}
_LINK_ATTRIBUTES = {"href", "{http://www.w3.org/1999/xlink}href", "src"}
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)[^)]*\)|@import", re.IGNORECASE)


def sniff(head: bytes, *, full: bytes | None = None) -> str | None:
    """The media type the bytes really are: a binary signature match (`image/png`, `image/jpeg`,
    `image/webp`, `application/pdf`, …) or `image/svg+xml` for an SVG document; None when unknown.

    `head` is the first `SNIFF_BYTES` bytes; pass the whole file as `full` to recognise SVG (it is text,
    so only parsing it tells)."""
    kind = filetype.guess_mime(head)
    if kind:
        return str(kind)
    text = full if full is not None else head
    if b"<svg" in text[:4096].lower():
        try:
            root = fromstring(text)
        except (DefusedXmlException, SyntaxError, ValueError):
            return None
        if _local(root.tag) == "svg":
            return SVG_TYPE
    return None


def svg_problems(data: bytes) -> list[str]:
    """Why an SVG is unsafe to show on a page: scripts, event handler attributes, `foreignObject`,
    embedded documents, links or styles that reach outside the file, `javascript:` URLs, DTDs and entities.
    An empty list means the file is static artwork."""
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        return ["the file declares a DTD or entities (not allowed in an SVG logo)"]
    except (SyntaxError, ValueError) as e:
        return [f"the file is not well-formed XML ({e})"]
    problems: list[str] = []
    for element in root.iter():
        name = _local(element.tag)
        if name in _ACTIVE_ELEMENTS:
            problems.append(f"<{name}> elements are not allowed")
        problems.extend(_attribute_problems(name, element))
        if name == "style" and element.text and _CSS_URL.search(element.text):
            problems.append("<style> must not load anything (url(…) or @import)")
    return sorted(set(problems))


def _attribute_problems(name: str, element: Element) -> list[str]:
    problems = []
    for attribute, value in element.attrib.items():
        local = _local(attribute).lower()
        if local.startswith("on"):
            problems.append(f"event handler attributes are not allowed ({local} on <{name}>)")
        if "javascript:" in value.lower().replace(" ", ""):
            problems.append(f"javascript: URLs are not allowed ({local} on <{name}>)")
        if (
            attribute in _LINK_ATTRIBUTES
            and value.strip()
            and not value.strip().startswith(("#", "data:image/"))
        ):
            problems.append(f"references to other files are not allowed ({local}=… on <{name}>)")
        if local == "style" and _CSS_URL.search(value):
            problems.append(f"styles must not load anything (on <{name}>)")
    return problems


def _local(tag: str) -> str:
    """`{namespace}name` -> `name`, lower-cased."""
    return tag.removeprefix(_SVG_NS).rsplit("}", 1)[-1].lower()
