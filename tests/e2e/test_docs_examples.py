"""Every shell example in README.md and docs/*.md runs as pasted, against the local stack.

The rules:

- A ```sh block is an example that runs. Output samples are ```text or ```json (or another language),
  never ```sh. A block labelled ``bash``/``shell``/``console``/``zsh``, or an unlabelled one holding a
  ``curl`` command, fails `test_code_blocks_follow_the_rules`: label it ```sh so that it runs.
- Each file's ```sh blocks run in order in ONE bash process under ``set -Eeuo pipefail``, so what a block
  sets (``TOKEN``, ``PRODUCT``) is there in the next one, and an unset variable fails the block.
- The stack is the e2e stack (`conftest.stack`), seeded with the demo data the way `make run` seeds it
  (`cmp_dev.seed.seed`). ``http://127.0.0.1:8000`` in the text is replaced by the stack's URL, and ``API``
  is exported with that URL.
- ``curl`` is a bash function: the real curl with ``--fail-with-body -sS``, so an HTTP error fails the
  block and its body is shown.
- A block whose first line is ``# expect: 4xx`` (or an exact code, ``# expect: 404``) shows an error:
  its curl runs without ``--fail-with-body``; the block's last HTTP response must have a 4xx status (that
  code), and the last JSON the block prints must be an error body of the platform's shape (``error``,
  ``message`` and ``request_id`` strings; ``errors``, when present, a list of ``{path, message}``).
  When a ```json block holding an object with ``error`` follows it directly (nothing but blank lines
  between), it is the body the example prints: its ``error``, ``message`` and (when shown) ``errors``
  must be the real ones (``request_id`` differs per request), so quoted error texts stay true.
- Skipped: developer-tool blocks, where every command line starts with ``make ``, ``sam ``,
  ``.venv/bin/cmp `` or ``.venv/bin/pytest `` (they start servers, run the test suite or deploy). A
  block that mixes them with other commands fails `test_code_blocks_follow_the_rules`: split it.
- ``python3`` is the project's (its virtualenv's bin folder comes first on PATH, as after
  ``. .venv/bin/activate``), so an example may use the packages `make install` installs.
- Each file runs in a fresh empty directory, which stands for the reader's checkout: the examples must
  leave it empty, so an example that needs a file creates it first under ``$(mktemp -d)`` (``TMPDIR`` is
  the test's own temporary directory). Each file must finish within 90 s.

A failure names the file, the block (its first line in the file), the command that failed and the
block's output.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from cmp_dev.local.dev import Stack

from .conftest import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DOCS_URL = "http://127.0.0.1:8000"
PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
TOOL_PREFIXES = ("make ", "sam ", ".venv/bin/cmp ", ".venv/bin/pytest ")
EXPECT = re.compile(r"#\s*expect:\s*(4xx|4\d\d)\s*$")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`\s]*)[^`]*$")
TIMEOUT_SECONDS = 90
REPORTED_OUTPUT = 4000  # characters of a failing block's output shown (its end)
ERROR_TRAP = "trap 'echo \"[docs test] exit status $? from: $BASH_COMMAND\" >&2' ERR"


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language (`info`), first line number in the file (1-based) and text
    (dedented by the fence's indentation)."""

    info: str
    line: int
    text: str
    follows_text: bool = False
    """Whether text (not only blank lines) stands between the previous code block and this one."""
    sample: str | None = None
    """For an `# expect:` block, the ```json block directly below it (the error body it shows)."""

    @property
    def commands(self) -> list[str]:
        """The lines that start a command: not blank, not a comment, not the continuation of the line
        before (which ends with a backslash or leaves a quote open)."""
        starts: list[str] = []
        continued = False
        quotes = 0
        for raw in self.text.splitlines():
            line = raw.strip()
            if not continued and quotes % 2 == 0 and line and not line.startswith("#"):
                starts.append(line)
            quotes += raw.count("'")
            continued = raw.rstrip().endswith("\\")
        return starts

    @property
    def expected_status(self) -> str | None:
        """`4xx` or a code such as `404` for an `# expect:` block, else None."""
        first = self.text.splitlines()[0] if self.text else ""
        match = EXPECT.fullmatch(first.strip())
        return match.group(1) if match else None

    @property
    def tool_commands(self) -> list[str]:
        """Its developer-tool commands (lines starting with one of TOOL_PREFIXES)."""
        return [c for c in self.commands if c.startswith(TOOL_PREFIXES)]


def code_blocks(text: str) -> list[Block]:
    """Every fenced code block of a Markdown text, in order (fences may be indented, as in lists)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    follows_text = False
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            follows_text = follows_text or bool(lines[index].strip())
            index += 1
            continue
        fence, indent = opening.group("fence"), len(opening.group("indent"))
        first_line = index + 2
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index][indent:] if lines[index][:indent].strip() == "" else lines[index])
            index += 1
        blocks.append(
            Block(opening.group("info"), first_line, textwrap.dedent("\n".join(body)), follows_text)
        )
        index += 1
        follows_text = False
    return blocks


def examples(path: Path) -> list[Block]:
    """The ```sh blocks of a document that run (blocks with developer-tool commands left out: a block
    mixing them with examples fails `test_code_blocks_follow_the_rules`); an `# expect:` block
    carries the ```json block directly below it as its `sample`."""
    blocks = code_blocks(path.read_text())
    found: list[Block] = []
    for index, block in enumerate(blocks):
        if block.info != "sh" or block.tool_commands:
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block.expected_status and following and following.info == "json" and not following.follows_text:
            block = replace(block, sample=following.text)
        found.append(block)
    return found


def _script(blocks: list[Block], out: Path) -> str:
    """One bash script running `blocks` in order; block i writes its output to `out/i.out` (and, for
    an `# expect:` block, the headers of its last HTTP response to `out/i.headers`)."""
    parts = [
        "set -Eeuo pipefail",
        ERROR_TRAP,
        'failing_curl() { command curl --fail-with-body -sS "$@"; }',
        'curl() { failing_curl "$@"; }',
    ]
    for number, block in enumerate(blocks):
        output = out / f"{number}.out"
        if block.expected_status:
            headers = out / f"{number}.headers"
            parts.append(f"curl() {{ command curl -sS -D '{headers}' \"$@\"; }}")
        parts.append(f"{{\n{block.text}\n}} > '{output}' 2>&1")
        if block.expected_status:
            parts.append('curl() { failing_curl "$@"; }')
    return "\n".join(parts) + "\n"


def _json_values(output: str) -> list[Any]:
    """Every JSON object printed in `output`, in order (other text between them is skipped)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position = output.find("{")
    while position != -1:
        try:
            value, end = decoder.raw_decode(output, position)
        except json.JSONDecodeError:
            position = output.find("{", position + 1)
            continue
        values.append(value)
        position = output.find("{", end)
    return values


def _error_shape_problem(value: Any) -> str | None:
    """Why `value` is not an error body of the platform's shape, or None when it is one."""
    if not isinstance(value, dict):
        return "not a JSON object"
    missing = [key for key in ("error", "message", "request_id") if not isinstance(value.get(key), str)]
    if missing:
        return f"no string {', '.join(missing)}"
    errors = value.get("errors", [])
    if not isinstance(errors, list) or not all(
        isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("message"), str)
        for e in errors
    ):
        return "errors is not a list of {path, message}"
    return None


def _last_status(headers: Path) -> int | None:
    if not headers.exists():
        return None
    statuses = re.findall(r"^HTTP/\S+ (\d{3})", headers.read_text(errors="replace"), re.M)
    return int(statuses[-1]) if statuses else None


def _expectation_problem(block: Block, output: str, headers: Path) -> str | None:
    status = _last_status(headers)
    wanted = block.expected_status or ""
    if status is None:
        return "an `# expect:` block must make an HTTP request with curl"
    if not (400 <= status < 500 and (wanted == "4xx" or str(status) == wanted)):
        return f"expected HTTP {wanted}, the last response was {status}"
    values = _json_values(output)
    if not values:
        return "it printed no error body"
    return _error_shape_problem(values[-1]) or _sample_problem(block.sample, values[-1])


def _sample_problem(sample: str | None, body: dict[str, Any]) -> str | None:
    """How the error body shown in the docs (`sample`, JSON text) differs from the real `body`."""
    try:
        shown = json.loads(sample) if sample else None
    except json.JSONDecodeError:
        return "the ```json block after it is not valid JSON"
    if not isinstance(shown, dict) or "error" not in shown:
        return None
    keys = [key for key in ("error", "message", "errors") if key in shown or key != "errors"]
    differences = [
        f"{key}: the docs show {json.dumps(shown.get(key))}, the API answered {json.dumps(body.get(key))}"
        for key in keys
        if shown.get(key) != body.get(key)
    ]
    return "the error shown after it is not the real one:\n" + "\n".join(differences) if differences else None


def _name(path: Path) -> Path:
    """`path` as a failure names it: relative to the repository when it is in it."""
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def _report(path: Path, block: Block, output: str, problem: str) -> str:
    name = _name(path)
    shown = output if len(output) <= REPORTED_OUTPUT else f"…{output[-REPORTED_OUTPUT:]}"
    return (
        f"{name}, block at line {block.line}: {problem}\n--- block ---\n{block.text}\n--- output ---\n{shown}"
    )


def run_examples(path: Path, base_url: str, workdir: Path) -> list[str]:
    """Run the examples of `path` against `base_url` in a folder of `workdir` standing for the reader's
    checkout (with `TMPDIR` another folder of it); the problems found, one per block (empty when every
    block ran and every `# expect:` block showed a proper error), and one naming the files the examples
    left in the checkout's stand-in."""
    blocks = examples(path)
    out, checkout, temporary = workdir / ".docs-test", workdir / "checkout", workdir / "tmp"
    for folder in (out, checkout, temporary):
        folder.mkdir()
    script = _script(blocks, out).replace(DOCS_URL, base_url)
    env = {"PATH": PATH, "HOME": str(workdir), "TMPDIR": str(temporary), "API": base_url, "LANG": "C.UTF-8"}
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        stderr, _ = process.communicate(timeout=TIMEOUT_SECONDS)
        status = f"exit status {process.returncode}"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stderr, _ = process.communicate()
        status = f"still running after {TIMEOUT_SECONDS} s"
    failed = process.returncode != 0
    problems: list[str] = []
    for number, block in enumerate(blocks):
        output_file = out / f"{number}.out"
        if not output_file.exists():  # bash stopped before running it: it could not parse the block
            problems.append(_report(path, block, stderr, f"bash could not read it ({status})"))
            break
        output = output_file.read_text(errors="replace")
        next_unread = number + 1 < len(blocks) and "syntax error" in stderr
        if failed and not (out / f"{number + 1}.out").exists() and not next_unread:
            problems.append(_report(path, block, output + stderr, status))
            break
        if block.expected_status:
            problem = _expectation_problem(block, output, out / f"{number}.headers")
            if problem:
                problems.append(_report(path, block, output, problem))
    left = sorted(entry.name for entry in checkout.iterdir())
    if left:
        problems.append(
            f"{_name(path)}: the examples left {', '.join(left)} in the folder they ran in (a reader's "
            "checkout); write files under $(mktemp -d)"
        )
    return problems


def rule_problems(text: str) -> list[str]:
    """How the code blocks of a Markdown text break the rules of this module's docstring: a command in a
    block that is not ```sh, or a ```sh block mixing developer-tool commands with examples."""
    problems: list[str] = []
    for block in code_blocks(text):
        if block.info in ("bash", "shell", "console", "zsh") or (
            block.info == "" and any(c.startswith(("curl ", "$ ")) for c in block.commands)
        ):
            problems.append(f"line {block.line}: ```{block.info} holding a command; label it ```sh")
        tools = block.tool_commands
        if block.info == "sh" and tools and len(tools) != len(block.commands):
            problems.append(
                f"line {block.line}: mixes developer-tool commands ({', '.join(TOOL_PREFIXES)}) with examples;"
                " split it so the examples run"
            )
    return problems


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_code_blocks_follow_the_rules(path: Path) -> None:
    problems = rule_problems(path.read_text())
    assert not problems, f"{path.relative_to(REPO)}:\n" + "\n".join(problems)


def test_the_rules_are_checked() -> None:
    """The checks themselves: fences (indented too) and line numbers, tool blocks, the expectation."""
    text = (
        "# Title\n\n```bash\ncurl -s $API/x\n```\n\n- item\n\n  ```sh\n  # expect: 404\n  curl -s \\\n"
        '    make-believe\n  ```\n\n  ```json\n  {"error": "not_found", "message": "no"}\n  ```\n\n'
        "```sh\nmake run\ncurl -s $API/y\n```\n"
    )
    blocks = code_blocks(text)
    assert [(b.info, b.line) for b in blocks] == [("bash", 4), ("sh", 10), ("json", 16), ("sh", 20)]
    assert [b.follows_text for b in blocks] == [True, True, False, False]
    assert blocks[1].text == "# expect: 404\ncurl -s \\\n  make-believe"
    assert blocks[1].commands == ["curl -s \\"] and blocks[1].expected_status == "404"
    assert rule_problems(text) == [
        "line 4: ```bash holding a command; label it ```sh",
        f"line 20: mixes developer-tool commands ({', '.join(TOOL_PREFIXES)}) with examples; split it so the"
        " examples run",
    ]
    body = {"error": "not_found", "message": "no", "request_id": "r"}
    assert _sample_problem(blocks[2].text, body) is None
    assert _error_shape_problem(body) is None
    assert _error_shape_problem({"message": "Unauthorized"}) == "no string error, request_id"
    assert 'the docs show "no", the API answered "gone"' in str(
        _sample_problem(blocks[2].text, {**body, "message": "gone"})
    )
    assert _json_values('x {"a": 1} y {"b": [2]}\n') == [{"a": 1}, {"b": [2]}]


def test_an_example_that_leaves_a_file_where_it_ran_is_named(tmp_path: Path) -> None:
    """No stack needed: the example calls no API."""
    document = tmp_path / "doc.md"
    document.write_text('```sh\nprintf x > note.txt\nprintf y > "$(mktemp -d)/kept.txt"\n```\n')
    (tmp_path / "run").mkdir()
    problems = run_examples(document, "http://127.0.0.1:9", tmp_path / "run")
    assert len(problems) == 1 and "left note.txt in the folder" in problems[0], problems
    assert list((tmp_path / "run" / "tmp").glob("*/kept.txt"))


@pytest.mark.parametrize(
    "path", [p for p in DOCUMENTS if examples(p)], ids=lambda p: str(p.relative_to(REPO))
)
def test_every_shell_example_runs_as_pasted(
    path: Path, stack: Stack, seeded: dict[str, Any], tmp_path: Path
) -> None:
    problems = run_examples(path, stack.runner.base_url, tmp_path)
    assert not problems, "\n\n".join(problems)
