"""Fixtures for console tests: a private HOME/XDG, the console app on test entries, and waiting helpers.

Every app made by ``console`` is shut down after the test (every run ended), and the test fails if a
process that one of its runs started is still alive.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tui.core.executors.memory import MemoryKind
from tui.ui.app import ExecdeckApp
from tui.ui.widgets.run_tab import frozen_info

ENTRIES = Path(__file__).resolve().parent / "entries"
MEMORY_ENTRIES = """\
namespace: mem
entries:
  - name: shell
    kind: exec.memory
    command_whitelist: [echo hello world, cat, serve]
  - name: free
    kind: exec.memory
"""
REPO = Path(__file__).resolve().parents[2]
SIZE = (120, 40)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and XDG folders, so settings, themes, history and records stay in the test; the
    current folder is the repository (the demo entry's work dir and the paths shown are relative to it)."""
    monkeypatch.chdir(REPO)
    for name, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                      ("XDG_STATE_HOME", "state"), ("XDG_RUNTIME_DIR", "run")):
        folder = tmp_path / sub
        folder.mkdir(mode=0o700)
        monkeypatch.setenv(name, str(folder))
    return tmp_path


@pytest.fixture
def entries_dir(tmp_path: Path) -> Path:
    """A writable copy of the test entries (for reload tests)."""
    target = tmp_path / "entries"
    shutil.copytree(ENTRIES, target)
    return target


@pytest.fixture
def memory_entries(memory_kind: MemoryKind, tmp_path: Path) -> Path:
    """An entry file of in-memory executors, ``mem:shell`` (whitelisted) and ``mem:free``: the console's
    runs on them are stepped by the test through ``memory_kind``."""
    path = tmp_path / "memory.yaml"
    path.write_text(MEMORY_ENTRIES)
    return path


ConsoleFactory = Callable[..., ExecdeckApp]


@pytest.fixture
def console(home: Path) -> Iterator[ConsoleFactory]:
    """``console(paths=None, **options)``: an :class:`ExecdeckApp` on the test entries (no orphan sweep,
    frozen header times). Shut down after the test; no process of its runs may survive."""
    apps: list[ExecdeckApp] = []

    def make(paths: list[Path] | None = None, **options: Any) -> ExecdeckApp:
        options.setdefault("sweep_orphans", False)
        options.setdefault("info_filter", frozen_info)
        app = ExecdeckApp(paths or [ENTRIES], **options)
        apps.append(app)
        return app

    yield make
    survivors = []
    for app in apps:
        processes = list(app.engine.processes)
        app.shutdown_engine()
        survivors += [p for p in processes if p.running]
        for process in processes:
            if process.handle and process.spec.kind == "native":
                try:
                    os.killpg(int(process.handle), 0)
                except ProcessLookupError:
                    continue
                survivors.append(process)
    assert not survivors, f"runs left alive: {[p.spec.command for p in survivors]}"


async def wait_until(pilot: Pilot[Any], check: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    """Let the app run until ``check()`` is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await pilot.pause(0.05)


async def ready(pilot: Pilot[Any]) -> ExecdeckApp:
    """Wait until the console is up and every executor was probed."""
    app = pilot.app
    assert isinstance(app, ExecdeckApp)
    await wait_until(pilot, lambda: app.statuses and app.probes_pending == 0, "the executors' statuses")
    await pilot.pause()
    return app
