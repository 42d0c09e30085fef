"""The kinds of executor as one table: what each declares, and what reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core import structs
from tui.core.engine import Engine
from tui.core.entries import load_entries
from tui.core.executors import registry
from tui.core.executors.base import BUILD, ORPHAN_SWEEP, PRUNE, PULL, STATUS_PROBE, STATUS_WATCH
from tui.core.executors.memory import MemoryKind, MemorySpec

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("name", ["exec.native", "exec.docker"])
def test_the_readme_reference_table_is_the_kinds_own_field_table(name: str) -> None:
    kind = registry.find(name)
    assert kind is not None
    assert f"`{name}`:\n\n{kind.reference_table()}\n\n" in README.read_text()


def test_the_built_in_kinds_say_what_they_can_do_beyond_running() -> None:
    native, docker = registry.find("exec.native"), registry.find("exec.docker")
    assert native is not None and docker is not None
    assert native.capabilities == {STATUS_PROBE}
    assert docker.capabilities == {STATUS_PROBE, STATUS_WATCH, PULL, BUILD, PRUNE, ORPHAN_SWEEP}
    assert (native.describe_handle("4242"), docker.describe_handle("0123456789ab")) == (
        "pid 4242", "container 0123456789ab")
    assert native.describe_handle("") == ""


def test_every_field_of_a_kind_is_an_attribute_of_its_spec_class_with_a_line_of_help() -> None:
    for kind in registry.kinds():
        attributes = {f.name for f in structs.fields(kind.spec_class)}
        for field in kind.fields:
            assert field.name in attributes, f"{kind.name}.{field.name}"
            assert field.help and field.type and field.default, f"{kind.name}.{field.name}"


def test_a_second_kind_with_a_taken_name_or_label_is_refused() -> None:
    native = registry.find("exec.native")
    assert native is not None
    with pytest.raises(ValueError, match="already registered"):
        registry.register(native)
    assert registry.find("exec.native") is native


def test_a_kind_registered_through_the_registry_alone_loads_validates_and_runs(
    memory_kind: MemoryKind, tmp_path: Path
) -> None:
    path = tmp_path / "memory.yaml"
    path.write_text("namespace: m\nentries:\n  - name: box\n    kind: exec.memory\n"
                    "    default_env: {A: '1'}\n    comand_whitelist: [hi]\n")
    result = load_entries([path])
    [entry] = result.executors
    assert isinstance(entry.spec, MemorySpec) and dict(entry.spec.default_env) == {"A": "1"}
    assert [p.format() for p in result.problems] == [
        f"{path}:6: m:box.comand_whitelist: unknown field 'comand_whitelist' for exec.memory (ignored) "
        "(did you mean 'command_whitelist'?)"]
    engine = Engine(result)
    process = engine.get("m:box").exec("hi 'there you'")
    assert process.spec.argv == ("hi", "there you") and process.spec.kind == "memory"
    process.start()
    run = memory_kind.wait_for_launch()
    assert process.handle_text == "run 1" and run.env == {"A": "1"}
    run.out("hello\n")
    run.exit(0)
    assert process.wait().code == 0
    engine.shutdown()


def test_once_a_kind_is_unregistered_its_entries_load_as_not_executors(tmp_path: Path) -> None:
    kind = MemoryKind(name="lab.vanished", label="vanished")
    unregister = registry.register(kind)
    unregister()
    path = tmp_path / "gone.yaml"
    path.write_text("namespace: g\nentries:\n  - name: box\n    kind: lab.vanished\n")
    result = load_entries([path])
    assert result.problems == () and result.executors == ()
    assert [e.kind for e in result.entries] == ["lab.vanished"]
