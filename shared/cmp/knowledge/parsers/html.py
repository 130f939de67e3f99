"""HTML: the page's main text (selectolax, the Lexbor parser), without scripts, styles, navigation,
headers, footers and forms; headings start sections; tables become markdown rows; title, author and date
from the `<title>`/`<meta>` tags."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from cmp.knowledge.parsers import ParsedDocument, Section
from cmp.knowledge.parsers.text import table_rows

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode as Node

_DROP = "script, style, noscript, nav, header, footer, form, iframe, svg, template, aside"
_BLOCKS = {"p", "li", "pre", "blockquote", "dd", "dt", "td", "th", "div", "section", "article"}


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _in_table(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == "table":
            return True
        parent = parent.parent
    return False


def parse_html(markup: str) -> ParsedDocument:
    """The main text of an HTML page, sectioned at h1 to h6."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    meta = {
        (node.attributes.get("name") or node.attributes.get("property") or "").lower(): node.attributes.get(
            "content"
        )
        for node in tree.css("meta")
    }
    title_node = tree.css_first("title")
    title = (title_node.text(strip=True) if title_node else None) or meta.get("og:title")
    for node in tree.css(_DROP):
        node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.body
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(body, heading=heading))
        lines.clear()

    if root is not None:
        for node in root.traverse(include_text=False):
            tag = node.tag
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                flush()
                heading = node.text(separator=" ", strip=True)
                lines.append(heading)
            elif tag == "table":
                rows = [
                    [cell.text(separator=" ", strip=True) for cell in row.css("th, td")]
                    for row in node.css("tr")
                ]
                lines.extend(table_rows([r for r in rows if any(r)]))
            elif _in_table(node):
                continue
            elif tag in _BLOCKS and not any(child.tag in _BLOCKS for child in node.iter(include_text=False)):
                text = node.text(separator=" ", strip=True)
                if text:
                    lines.append(("- " if tag == "li" else "") + text)
    flush()
    return ParsedDocument(
        "html",
        sections,
        title=title or (sections[0].heading if sections else None),
        author=meta.get("author") or meta.get("article:author"),
        published_at=_date(meta.get("article:published_time") or meta.get("date")),
    )
