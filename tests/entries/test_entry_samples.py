"""The sample entries: they load cleanly, and the packaged copy is the same file."""

from __future__ import annotations

from pathlib import Path

from tui.core.entries import load_entries
from tui.core.entries.paths import packaged_samples
from tui.core.executors.docker import DockerSpec
from tui.core.policy import EXEC_GET, EXEC_RUN, Access, Actor, Gate

REPO = Path(__file__).resolve().parents[2]


def test_the_sample_entries_load_without_any_problem() -> None:
    result = load_entries([REPO / "sample_entries"])
    assert result.problems == ()
    assert [e.id for e in result.executors] == ["app:shell", "app:free", "app:sandbox"]
    assert [p.id for p in result.policies] == ["app:demo_get", "app:demo_sandbox_runs", "app:demo_shell_runs"]


def test_the_packaged_samples_are_identical_to_sample_entries() -> None:
    local = (REPO / "sample_entries" / "_index.yaml").read_bytes()
    assert (packaged_samples() / "_index.yaml").read_bytes() == local


def test_the_sample_sandbox_is_locked_down() -> None:
    sandbox = load_entries([REPO / "sample_entries"]).get("app:sandbox")
    assert sandbox is not None and isinstance(sandbox.spec, DockerSpec)
    spec = sandbox.spec
    assert spec.image == "busybox:1.36", "a small public image, pinned"
    assert spec.network_mode == "none" and spec.cap_drop == ("ALL",)
    assert spec.read_only_rootfs and spec.no_new_privileges and spec.auto_remove
    assert (spec.memory_limit, spec.cpu_quota, spec.pids_limit) == (67108864, 50000, 64)
    assert spec.command_whitelist


def test_the_sample_sandbox_can_be_built_here_from_debians_static_busybox_where_no_registry_answers() -> None:
    sandbox = load_entries([REPO / "sample_entries"]).get("app:sandbox")
    assert sandbox is not None and isinstance(sandbox.spec, DockerSpec) and sandbox.spec.build is not None
    recipe = sandbox.spec.build
    assert dict(recipe.files) == {"busybox": "/bin/busybox"}
    assert recipe.dockerfile.startswith("FROM scratch\nCOPY busybox /bin/busybox\n")
    assert "busybox-static" in recipe.needs


def test_the_sample_shell_has_a_whitelist_and_the_free_shell_has_none() -> None:
    result = load_entries([REPO / "sample_entries"])
    shell, free = result.get("app:shell"), result.get("app:free")
    assert shell is not None and free is not None
    assert "echo hello world" in shell.whitelist and free.whitelist == ()
    assert shell.meta["comment"]


def test_the_demo_scope_opens_the_sandbox_and_a_few_harmless_native_commands_only() -> None:
    result = load_entries([REPO / "sample_entries"])
    gate = Gate(Access(Actor("visitor:1"), ("demo",)), result.policies)
    sandbox, shell, free = (result.get(f"app:{name}") for name in ("sandbox", "shell", "free"))
    assert sandbox is not None and shell is not None and free is not None
    assert not gate.decide(EXEC_GET, "app:free", free.meta).allowed
    assert gate.entry_access(sandbox).get.allowed
    assert all(d.allowed for d in gate.entry_access(sandbox).commands.values())
    shell_runs = {cmd for cmd, d in gate.entry_access(shell).commands.items() if d.allowed}
    assert shell_runs == {"uname -a", "date", "echo hello world"}
    assert not gate.decide(EXEC_RUN, "ls -la", shell.meta).allowed
