"""No import cycles among the project's modules.

Read from the source (no import runs, so it takes well under a second): every ``import`` and
``from ... import`` in every module, the ones inside functions too, since a lazy import that
closes a loop still ties two modules into one. Imports under ``if TYPE_CHECKING:`` never run
and are left out.
"""

import ast

import networkx as nx

from conftest import ROOT

PACKAGES = ("audiorole", "datamodules", "lightning_modules", "callbacks")


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imported_modules(path, modules: set[str]) -> set[str]:
    """The project modules one file imports: ``from a.b import c`` is ``a.b.c`` when that is a module, else ``a.b``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem for alias in node.names]
        found |= {t for t in targets if t in modules}
    return found - {name}


def import_graph() -> nx.DiGraph:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p) for p in files}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for path in files:
        graph.add_edges_from((module_name(path), target) for target in imported_modules(path, modules))
    return graph


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert graph.number_of_nodes() > 200
    assert graph.has_edge("audiorole.speak", "audiorole.models.flow.decoder")  # imported inside main()
    assert graph.has_edge("audiorole.demo.mixer", "audiorole.demo.chords")  # from .chords import chords


def test_no_import_cycles():
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert not cycles, "import cycles (move what both sides need into a module of its own): " + "; ".join(
        " <-> ".join(c) for c in cycles)
