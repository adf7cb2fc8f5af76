"""The dependency rules of docs/architecture.md, checked on the source (every import, also inside functions).

A newcomer finds things by the rule "lower floors never know the higher ones": the floor
(``dialer.core``) imports nothing of callpact; ``audio`` only the floor; ``sip`` and ``ivr_flows`` the floor
and ``audio``; nothing outside ``dialer`` imports ``dialer`` except its floor; inside ``dialer`` pacing is
pure, the application sits on it, the simulator on the application, the command line on top. An import
that breaks a rule, or a circle of modules importing each other, fails here with the file and line, long
before it tangles the next feature.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dialer", "sip", "audio", "ivr_flows")

# Layer name -> the layers it may import (its own included). The order is the floors, low to high.
ALLOWED: dict[str, frozenset[str]] = {}
_RULES = [
    ("floor", ()),
    ("audio", ("floor",)),
    ("sip", ("floor", "audio")),
    ("ivr_flows", ("floor", "audio")),
    ("pacing", ("floor",)),
    ("application", ("floor", "audio", "sip", "ivr_flows", "pacing")),
    ("simulation", ("floor", "audio", "sip", "ivr_flows", "pacing", "application")),
    ("entry", ("floor", "audio", "sip", "ivr_flows", "pacing", "application", "simulation")),
]
for _name, _below in _RULES:
    ALLOWED[_name] = frozenset((_name, *_below))

ENTRY_MODULES = frozenset({"dialer.cli", "dialer.doctor"})


def layer_of(module: str) -> str:
    """The floor a module of callpact stands on."""
    top = module.split(".")[0]
    if top in ("audio", "sip", "ivr_flows"):
        return top
    if module == "dialer" or module.startswith("dialer.core"):
        return "floor"       # the package `dialer` itself is only a name and a version
    if module.startswith("dialer.pacing"):
        return "pacing"
    if module.startswith("dialer.simulation"):
        return "simulation"
    if module in ENTRY_MODULES:
        return "entry"
    return "application"


@dataclass(frozen=True)
class Import:
    source: str          # the importing module
    target: str          # the imported module of callpact
    path: Path
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def compiled_modules() -> set[str]:
    """Extension modules built from C sources in the packages (``dialer/pacing/_pacing_kernel.c``)."""
    return {module_name(path) for package in PACKAGES for path in (ROOT / package).rglob("*.c")}


MODULES = all_modules()
COMPILED = compiled_modules()


def _resolve(name: str) -> str | None:
    """The deepest module of callpact that ``name`` names (``a.b.C`` -> ``a.b``), or None."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES or candidate in COMPILED:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` the module mod
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            target = _resolve(name)
            if target is not None and target != module and target not in COMPILED:
                yield Import(module, target, path, node.lineno)


def import_graph() -> list[Import]:
    return [imp for module, path in MODULES.items() for imp in imports_of(module, path)]


def _where(imp: Import) -> str:
    return f"{imp.path.relative_to(ROOT)}:{imp.line}"


def test_every_import_goes_down_or_stays_on_its_floor() -> None:
    broken = []
    for imp in import_graph():
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if dst not in ALLOWED[src]:
            may = ", ".join(sorted(ALLOWED[src]))
            broken.append(f"{_where(imp)}: {imp.source} ({src}) imports {imp.target} ({dst}); "
                          f"{src} may import only: {may}")
    assert not broken, "imports that break docs/architecture.md's rules:\n" + "\n".join(broken)


def test_no_module_imports_itself_round_a_circle() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    first_line: dict[tuple[str, str], Import] = {}
    for imp in import_graph():
        graph[imp.source].add(imp.target)
        first_line.setdefault((imp.source, imp.target), imp)
    circles = [c for c in _strongly_connected(graph) if len(c) > 1]
    described = []
    for circle in circles:
        members = set(circle)
        edges = [first_line[(a, b)] for a in sorted(members) for b in sorted(graph[a] & members)]
        described.append(" / ".join(f"{_where(e)} {e.source} -> {e.target}" for e in edges))
    assert not circles, "modules importing each other (directly or round a circle):\n" + "\n".join(described)


def test_each_package_has_a_face() -> None:
    """Each package opens with a docstring (what it holds, which parts are pure and which own sockets or
    processes) and says which names it offers with ``__all__``."""
    faceless = []
    for path in MODULES.values():
        if path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {getattr(t, "id", None) for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
        has_all = "__all__" in assigned
        if ast.get_docstring(tree) is None or not has_all:
            faceless.append(f"{path.relative_to(ROOT)}: " + ", ".join(
                what for what, missing in (("no docstring", ast.get_docstring(tree) is None),
                                           ("no __all__", not has_all)) if missing))
    assert not faceless, "packages without a face:\n" + "\n".join(faceless)


def test_every_name_a_face_offers_is_there() -> None:
    """Faces load their names lazily (dialer/core/lazy_face.py): a misspelt module or name would only
    fail when someone first used it, so each is looked up here."""
    missing = []
    for module, path in MODULES.items():
        if path.name != "__init__.py":
            continue
        face = importlib.import_module(module)
        missing += [f"{module}.{name}" for name in getattr(face, "__all__", ()) if not hasattr(face, name)]
    assert not missing, "names in a face's __all__ that do not load: " + ", ".join(missing)


def test_the_rules_catch_what_they_are_meant_to() -> None:
    """The checker itself: an upward import and a circle, written as a newcomer might, are both found."""
    assert "sip" not in ALLOWED[layer_of("dialer.core.telephony")]
    assert "application" not in ALLOWED[layer_of("sip.simulated")]
    assert "ivr_flows" not in ALLOWED[layer_of("sip.asterisk.backend")]
    assert "simulation" not in ALLOWED[layer_of("dialer.engine")]
    assert "application" not in ALLOWED[layer_of("dialer.pacing.predictive")]
    assert "floor" in ALLOWED[layer_of("ivr_flows.interpreter")]
    circle = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, (c for c in _strongly_connected(circle) if len(c) > 1))) == [["a", "b", "c"]]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
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
                components.append(component)
    return components
