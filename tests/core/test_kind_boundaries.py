"""The console and the command line never know which kinds of executor exist: they ask the kind.

Nothing in ``tui/ui`` or ``tui/cli`` names a kind (its name, label or handle word as a string), imports a
kind's or a backend's module (only ``base`` and ``registry`` of ``tui.core.executors``), or checks a spec
class. So a new kind, registered alone, lights up both without an edit there. And no module of
``tui/core/executors`` imports the engine: kinds get a ``Scope``, never the engine.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.executors import registry

TUI = Path(__file__).resolve().parents[2] / "tui"
ALLOWED = {"tui.core.executors", "tui.core.executors.base", "tui.core.executors.registry"}


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (TUI / folder).rglob("*.py"))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def _kind_words() -> set[str]:
    words: set[str] = set()
    for kind in registry.kinds():
        words |= {kind.name, kind.label, kind.handle_label}
    return words


def _spec_classes() -> set[str]:
    return {kind.spec_class.__name__ for kind in registry.kinds()}


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for line, module in _imports(tree):
        if module.startswith("tui.core.executors.") and module not in ALLOWED and not any(
            module.startswith(allowed + ".") for allowed in ALLOWED - {"tui.core.executors"}
        ):
            found.append(f"{line}: imports {module}")
    words, specs = _kind_words(), _spec_classes()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in words:
            found.append(f"{node.lineno}: names a kind: {node.value!r}")
        elif isinstance(node, ast.Name) and node.id in specs:
            found.append(f"{node.lineno}: names the spec class {node.id}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
              and len(node.args) == 2 and ast.unparse(node.args[1]).endswith("Spec")):
            found.append(f"{node.lineno}: checks a spec class: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", _modules("ui", "cli"), ids=lambda p: str(p.relative_to(TUI)))
def test_the_console_and_the_command_line_ask_the_kind_and_never_name_one(path: Path) -> None:
    assert _offences(path) == []


@pytest.mark.parametrize("path", _modules("core/executors"), ids=lambda p: str(p.relative_to(TUI)))
def test_no_kind_or_backend_imports_the_engine(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    assert [line for line, module in _imports(tree) if module == "tui.core.engine"] == []


def test_the_guard_sees_what_it_guards_against(tmp_path: Path) -> None:
    # A guard that finds nothing in a module full of offences would pass forever.
    offender = tmp_path / "offender.py"
    offender.write_text(
        "from tui.core.executors.docker import DockerSpec\n"
        "def f(entry):\n"
        "    from tui.core.executors import docker_owner\n"
        "    if entry.kind == 'exec.docker' or isinstance(entry.spec, DockerSpec):\n"
        "        return 'pid'\n"
    )
    lines = sorted(int(offence.split(":")[0]) for offence in _offences(offender))
    assert lines == [1, 1, 3, 4, 4, 4, 5]  # the module and its class; docker_owner; name, class, check; 'pid'
