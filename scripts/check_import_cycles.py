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

PACKAGES = ("labeling", "classifier", "taxoloop")


def import_graph(packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over our own packages."""
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True, cache_dir=None)
    return {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module importing
    itself), each as a sorted list: every circle lies inside one of them (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(root: str) -> None:
        nonlocal counter
        # Iterative depth-first search: the graph is deep enough for Python's recursion limit.
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return sorted(found)


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
