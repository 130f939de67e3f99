"""Plain text, Markdown and CSV. Markdown is split at its headings (each section keeps its heading path);
a CSV becomes markdown table rows, each row repeated under the header so any chunk of it reads alone."""

from __future__ import annotations

import csv
import io
import re

from cmp.knowledge.parsers import Format, ParsedDocument, Section

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def parse_plain(text: str, fmt: Format) -> ParsedDocument:
    """TXT as one section; MD split at headings, title from front matter `title:` or the first heading."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if fmt != "md":
        first = next((line.strip() for line in text.splitlines() if line.strip()), None)
        return ParsedDocument(fmt, [Section(text)], title=first[:200] if first else None)
    title = None
    front = _FRONT_MATTER.match(text)
    if front:
        for line in front.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("'\"")
        text = text[front.end() :]
    sections: list[Section] = []
    path: list[str] = []
    lines: list[str] = []
    in_code = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(body, heading=" > ".join(path) or None))
        lines.clear()

    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path[:] = [*path[: level - 1], match.group(2)]
            title = title or match.group(2)
            lines.append(line)
        else:
            lines.append(line)
    flush()
    return ParsedDocument("md", sections, title=title)


def table_rows(rows: list[list[str]]) -> list[str]:
    """Markdown table lines: the header, its rule, then one line per row (`|` in cells escaped)."""
    width = max((len(r) for r in rows), default=0)
    cells = [
        [c.replace("|", "\\|").replace("\n", " ").strip() for c in r] + [""] * (width - len(r)) for r in rows
    ]
    if not cells:
        return []
    header, *body = cells
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * width,
        *("| " + " | ".join(r) + " |" for r in body),
    ]


def parse_csv(text: str) -> ParsedDocument:
    """A CSV (delimiter sniffed among , ; tab |) as markdown table rows in one table section."""
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)]
    return ParsedDocument("csv", [Section("\n".join(table_rows(rows)), kind="table")] if rows else [])
