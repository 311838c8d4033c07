"""The install command the benchmarks name (``pip install -e '.[bench]'``) works: every extra
they name exists in pyproject.toml, and the bench extra brings what they import beyond the
main dependencies."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))
NAMED_EXTRAS = re.compile(r"pip install -e '\.\[([\w,-]+)\]'")
OUR_PACKAGES = {"labeling", "classifier", "taxoloop", "benchmarks"}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def dist_name(requirement: str) -> str:
    """``"celery[redis]>=5.5"`` → ``"celery"`` (normalised as PEP 503 does)."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement.strip())
    return re.sub(r"[-_.]+", "-", name.group(0)).lower() if name else ""


def imported_modules(path: Path) -> set[str]:
    top = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            top |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top.add(node.module.split(".")[0])
    return top


def test_every_extra_the_benchmarks_name_exists():
    named = {
        (path.name, extra)
        for path in BENCHMARKS
        for match in NAMED_EXTRAS.finditer(path.read_text(encoding="utf-8"))
        for extra in match.group(1).split(",")
    }
    assert ("bench_review.py", "bench") in named  # the pattern still finds the docstring's
    extras = project().get("optional-dependencies", {})
    assert {extra for _, extra in named if extra not in extras} == set()


def test_the_bench_extra_covers_what_the_benchmarks_import_beyond_the_main_dependencies():
    meta = project()
    direct = {
        dist_name(r) for r in meta["dependencies"] + meta["optional-dependencies"].get("bench", [])
    }
    # A dependency's own requirements come with it (gevent with Locust).
    allowed = direct | {
        dist_name(r) for d in direct for r in (metadata.requires(d) or []) if "extra ==" not in r
    }
    third_party = {
        module
        for path in BENCHMARKS
        for module in imported_modules(path)
        if module not in sys.stdlib_module_names
        and module not in OUR_PACKAGES
        and not module.startswith("_")
    }
    owners = metadata.packages_distributions()
    missing = {
        module
        for module in third_party
        if not {dist_name(d) for d in owners.get(module, [module])} & allowed
    }
    assert missing == set()
