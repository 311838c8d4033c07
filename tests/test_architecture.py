"""The floor plan holds: no import circles, the import contracts kept, modules of a readable size.

``make check`` runs the same two checkers; these tests make CI (``make test``) fail too.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "check_import_cycles", ROOT / "scripts" / "check_import_cycles.py"
)
assert _spec is not None and _spec.loader is not None
check_import_cycles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_import_cycles)


def test_cycles_finds_each_circle_and_nothing_else():
    edges = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d"},  # a -> b -> c -> a
        "d": {"e"},
        "e": set(),
        "f": {"f"},  # a module importing itself
        "g": {"h"},
        "h": {"g"},  # a two-module circle
    }
    assert check_import_cycles.cycles(edges) == [["a", "b", "c"], ["f"], ["g", "h"]]
    assert check_import_cycles.cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_project_has_no_import_circle():
    graph = check_import_cycles.import_graph()
    assert "labeling.tasks" in graph and "classifier.model.estimator" in graph
    assert "labeling.services.learning.training" in graph["labeling.tasks"]
    assert check_import_cycles.cycles(graph) == []


def test_the_import_linter_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


PRODUCT_PACKAGES = ("labeling", "classifier", "taxoloop")
MAX_MODULE_LINES = 400


def test_no_product_module_is_over_400_lines():
    too_long = {
        str(path.relative_to(ROOT)): n
        for package in PRODUCT_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"split these modules (at most {MAX_MODULE_LINES} lines): {too_long}"


def test_every_path_in_the_architecture_map_exists():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text[text.index("## Where do I find X") :]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) >= 15
    paths = {token.split(" ")[0] for row in rows for token in row.split("`")[1::2] if "/" in token}
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


def test_no_private_name_is_imported_from_another_module():
    """A name with a leading underscore is its module's own; a helper two modules need is
    public. (Package-private modules such as ``classifier/metrics/_checks.py`` are fine: the
    names they hold are public.)"""
    imported = []
    for package in PRODUCT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                    imported += [
                        f"{path.relative_to(ROOT)}: {alias.name} from {node.module}"
                        for alias in node.names
                        if alias.name.startswith("_") and not alias.name.startswith("__")
                    ]
    assert imported == []
