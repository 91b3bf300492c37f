"""The project's modules import each other without a cycle, and `base` modules stand alone.

Every import counts, the ones inside functions included: a function-level import that only
broke a cycle would hide the cycle from Python but not from this walk. The registries name
their implementations as strings (`module:attribute`), which is not an import edge.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("labels", "labeler", "scanner")


def project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for file in (ROOT / package).rglob("*.py"):
            parts = list(file.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = file
    return modules


def imported_modules(file: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules that `file` imports anywhere (`from a import b` counts a.b if a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            found.update(m for m in submodules if m in modules)
            if any(m not in modules for m in submodules):
                found.add(node.module)
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {
        name: imported_modules(file, modules) - {name} for name, file in sorted(modules.items())
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" when finished
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = "open"
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[name] = "done"
        return None

    for name in graph:
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def test_no_import_cycle_among_project_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_walk_sees_function_level_imports(tmp_path):
    file = tmp_path / "m.py"
    file.write_text("def f():\n    from scanner.tactics import base\n    import labels.errors\n")
    modules = project_modules()
    assert imported_modules(file, modules) == {"scanner.tactics.base", "labels.errors"}


def test_base_modules_import_nothing_from_their_siblings():
    graph = import_graph()
    for name in graph:
        if not name.endswith(".base"):
            continue
        package = name.rsplit(".", 1)[0]
        siblings = {m for m in graph[name] if m.startswith(package + ".")}
        assert not siblings, f"{name} imports its siblings {sorted(siblings)}"


def test_the_cli_and_the_registries_load_without_torch():
    """`labeler --help` lists every task, tactic and executor without importing torch."""
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"  # any `import torch` now raises ImportError
        "sys.modules['transformers'] = None\n"
        "import labeler.cli\n"
        "from scanner.tactics import tactic_names\n"
        "from scanner.tasks import task_names\n"
        "from scanner.executors import executor_names\n"
        "print(len(tactic_names()), len(task_names()), len(executor_names()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    tactics, tasks, executors = (int(n) for n in done.stdout.split())
    assert tactics >= 17 and tasks >= 5 and executors >= 3
