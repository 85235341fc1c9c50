"""The package's layers import downwards only (the table in LAYERS, as docs/architecture.md
draws it): no arrow runs back up, no import cycle, and no module imports another of unspin's
modules inside a function (which would hide a cycle until it runs)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import unspin

ROOT = Path(unspin.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("unspin", *path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()

# Bottom up; a module may import its own layer and those below, never one above. A package
# named here holds all its modules. Keep in step with docs/architecture.md.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("leaves", ("unspin.errors", "unspin.version", "unspin.taxonomy", "unspin.config", "unspin.sentences")),
    ("data and plumbing", ("unspin.document", "unspin.fetch", "unspin.evaluation", "unspin.cli_common",
                           "unspin.feedback")),
    ("readers and the model", ("unspin.ingest", "unspin.model")),
    ("numbers", ("unspin.profiles", "unspin.compare")),
    ("reports", ("unspin.report",)),
    ("analysis entry points", ("unspin.analyze",)),
    ("many articles", ("unspin.calibrate", "unspin.pool", "unspin.batch", "unspin.predict", "unspin.corpus", "unspin.train")),
    ("front ends", ("unspin.cli", "unspin.server", "unspin.feedback.cli", "unspin.__main__", "unspin")),
)
# Imported by nothing outside itself: `unspin train` loads it by name, behind its extra.
ISOLATED = ("unspin.train",)
# Not yet held to the late-import rule: train (the model owner's, behind the train extra);
# it is still checked for cycles. Shrink this, never grow it.
LATE_IMPORTS_TOLERATED = ("unspin.train",)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement and whether it runs inside a function; blocks under
    ``if TYPE_CHECKING:`` never run, so they are left out."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for other in node.orelse:
                yield from _imports(other, in_function)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
        nested = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(node, nested)


def _targets(module: str, node: ast.stmt) -> set[str]:
    """The unspin modules an import statement loads (names, not attributes)."""
    found: set[str] = set()
    if isinstance(node, ast.Import):
        bases = [alias.name for alias in node.names]
        names: list[str] = []
    else:
        assert isinstance(node, ast.ImportFrom)
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = ".".join(p for p in (package if node.level else "", node.module or "") if p)
        bases, names = [base], [alias.name for alias in node.names]
    for base in bases:
        if base.split(".")[0] != "unspin":
            continue
        subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
        found.update(subs or [base])
        if len(subs) < len(names):  # names taken from the module itself
            found.add(base)
    # Loading a.b.c runs a and a.b first; the importer's own packages are running already.
    for target in list(found):
        parts = target.split(".")
        for i in range(1, len(parts)):
            ancestor = ".".join(parts[:i])
            if not (module == ancestor or module.startswith(ancestor + ".")):
                found.add(ancestor)
    return {t for t in found if t in MODULES and t != module}


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    graph: dict[str, set[str]] = {}
    late: list[str] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[module] = set()
        for node, in_function in _imports(tree):
            targets = _targets(module, node)
            graph[module] |= targets
            if in_function and targets and not module.startswith(LATE_IMPORTS_TOLERATED):
                late.append(f"{module}:{node.lineno} imports {', '.join(sorted(targets))}")
    return graph, late


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layer_of(module: str) -> int:
    """The index in LAYERS of the longest entry that is ``module`` or a package above it."""
    found = [
        (len(name), i)
        for i, (_, names) in enumerate(LAYERS)
        for name in names
        if module == name or (name != "unspin" and module.startswith(name + "."))
    ]
    if not found:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)")
    return max(found)[1]


def _upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import that runs from a layer to a higher one, or into an isolated package."""
    out = []
    for module in sorted(graph):
        for target in sorted(graph[module]):
            if layer_of(target) > layer_of(module):
                out.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} "
                           f"({LAYERS[layer_of(target)][0]})")
            elif target.startswith(ISOLATED) and not module.startswith(ISOLATED):
                out.append(f"{module} imports {target}, which nothing outside it may import")
    return out


def test_the_walk_sees_the_edges() -> None:
    """The check can fail: it finds known edges, and a cycle in a small graph."""
    graph, _ = _graph()
    assert "unspin.ingest" in graph["unspin.batch"]
    assert "unspin.ingest.sources" in graph["unspin.ingest"]
    assert "unspin.report.labels" in graph["unspin.report.summary"]
    assert "unspin.report" in graph["unspin"]  # the package runs first
    assert "unspin.compare" in graph["unspin.report.html"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_layer_check_can_fail() -> None:
    assert layer_of("unspin.report.summary") == layer_of("unspin.report") > layer_of("unspin.compare")
    assert layer_of("unspin") > layer_of("unspin.analyze")  # the package is not every module's layer
    assert layer_of("unspin.feedback.cli") > layer_of("unspin.report") > layer_of("unspin.feedback.store")
    assert _upward({"unspin.compare": {"unspin.report.labels"}}) == [
        "unspin.compare (numbers) imports unspin.report.labels (reports)"]
    assert _upward({"unspin.batch": {"unspin.train.data"}}) == [
        "unspin.batch imports unspin.train.data, which nothing outside it may import"]
    assert _upward({"unspin.report.html": {"unspin.compare", "unspin.report.view"}}) == []


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_import_runs_back_up_the_layers() -> None:
    graph, _ = _graph()
    assert _upward(graph) == []


def test_no_import_cycles() -> None:
    graph, _ = _graph()
    assert _cycles(graph) == []


def test_no_function_level_imports_of_unspin_modules() -> None:
    """Third-party libraries that are optional or slow to import may load late; unspin's
    own modules never do."""
    _, late = _graph()
    assert late == []
