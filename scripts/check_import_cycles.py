"""Fail on any import circle between Taxoloop's modules (``make check``, and a test).

import-linter (``[tool.importlinter]`` in pyproject.toml) checks the layers; this checks that
the module graph of ``labeling``, ``classifier`` and ``taxoloop`` has no cycle at all, imports
inside functions included (they hide a circle, they do not remove it). Imports under
``if TYPE_CHECKING:`` are left out: they never run.

    python scripts/check_import_cycles.py     # prints each circle, exits 1 if there is one
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import grimp
import networkx as nx  # a dependency of torch; also listed in the dev extras

PACKAGES = ("labeling", "classifier", "taxoloop")


def import_graph(packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over our own packages."""
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True, cache_dir=None)
    return {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module importing
    itself), each as a sorted list: every circle lies inside one of them."""
    graph = nx.DiGraph()
    graph.add_nodes_from(edges)
    graph.add_edges_from(
        (module, imported) for module, found in edges.items() for imported in found
    )
    return sorted(
        sorted(component)
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1 or any(graph.has_edge(m, m) for m in component)
    )


def main() -> int:
    found = cycles(import_graph())
    for component in found:
        print("import circle between:\n  " + "\n  ".join(component))
    if found:
        print(f"{len(found)} import circle(s); break each one (see docs/architecture.md)")
        return 1
    print("no import circles in " + ", ".join(PACKAGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
