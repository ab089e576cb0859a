"""The house's shape, read from the source: imports run one way (no module reaches, even
lazily inside a function, a module that reaches it back, nor a floor above its own), and no
module grows past ~300 lines."""

import ast

from .conftest import REPO

PACKAGE = REPO / "inteleq_rt"
MOST_LINES = 310
# The floors, bottom up: a module imports its own floor or the ones below, never one above.
# Genre recognition and tonal balance sit beside the engine, on the floor above it (they
# read its rings and post to its doors). Live runs draw the terminal's panel and read its
# keys, so live.py lives with them; benchmarks and training sit beside the command line.
FLOORS = (
    ("base", ("inteleq_rt", "errors", "resources", "interrupts", "downmix", "memory", "demo")),
    ("io", ("io",)),
    ("engine", ("engine",)),
    ("beside the engine", ("genre", "tonal")),
    ("application", ("options", "session", "plan", "offline", "reference", "report", "library", "pool")),
    ("terminal", ("live", "display", "controls", "panel", "plots")),
    ("commands", ("cli", "command", "__main__", "bench", "training")),
)


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = (path, ast.parse(path.read_text()))
    return found


def _imports(name: str, path, tree: ast.Module, modules) -> set[str]:
    """The package's modules ``name`` imports anywhere in its file (a lazy import counts)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    reached = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                reached.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
        elif isinstance(node, ast.Import):
            reached.update(alias.name for alias in node.names)
    return {m for m in reached if m in modules and m != name}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle, as the modules around it, or [] if there is none (depth-first)."""
    state, trail = {}, []

    def visit(module: str) -> list[str]:
        state[module] = "open"
        trail.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == "open":
                return trail[trail.index(other):] + [other]
            if other not in state and (found := visit(other)):
                return found
        state[module] = "done"
        trail.pop()
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_the_finder_sees_a_cycle_when_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_imports_run_one_way():
    modules = _modules()
    graph = {name: _imports(name, path, tree, modules) for name, (path, tree) in modules.items()}
    assert sum(map(len, graph.values())) > 200  # the reader follows the package's imports
    assert _cycle(graph) == []


def test_packages_import_one_way_too():
    """No circle between the package's parts either (genre/ and tonal/, say), where every
    module-to-module import runs one way but the folders reach each other."""
    def part(module: str) -> str:
        return module.split(".")[1] if "." in module else module

    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, tree) in modules.items():
        graph.setdefault(part(name), set()).update(part(m) for m in _imports(name, path, tree, modules))
    graph = {name: reached - {name} for name, reached in graph.items()}
    assert _cycle(graph) == []


def _floor(module: str) -> int:
    """The floor of ``module``: the one naming its top-level part of the package."""
    top = module.split(".")[1] if "." in module else module
    return next(level for level, (_, parts) in enumerate(FLOORS) if top in parts)


def test_no_module_imports_a_floor_above_its_own():
    modules = _modules()
    upward = sorted(f"{name} -> {other}" for name, (path, tree) in modules.items()
                    for other in _imports(name, path, tree, modules) if _floor(other) > _floor(name))
    assert not upward
    assert _floor("inteleq_rt.engine.eq") < _floor("inteleq_rt.tonal.curve") < _floor("inteleq_rt.cli.audio")


def test_no_module_is_over_about_300_lines():
    long = {str(path.relative_to(REPO)): n for path, _ in _modules().values()
            if (n := len(path.read_text().splitlines())) > MOST_LINES}
    assert not long


def test_what_a_run_loads_never_imports_training():
    """Only `train` (cli/tools) and the benchmarks reach inteleq_rt.training; the run's
    packages (the engine, genre/, the offline and live flows) never do, even lazily."""
    modules = _modules()
    reaching = {name for name, (path, tree) in modules.items() if not name.startswith("inteleq_rt.training")
                and any(m.startswith("inteleq_rt.training") for m in _imports(name, path, tree, modules))}
    assert reaching == {"inteleq_rt.cli.tools"}
