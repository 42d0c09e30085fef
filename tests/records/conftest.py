"""Fixtures for run-record tests: a temporary records file for everything, entries, execdeck subprocesses.

Every test gets ``EXECDECK_RECORDS`` pointing into its own temporary folder (and ``XDG_DATA_HOME``
too), so nothing is ever written to the real user data folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.support import memory_entry, native_entry
from tui.core.engine import Engine
from tui.core.entries.models import LoadResult
from tui.core.executors.memory import MemoryKind
from tui.core.records import RecordStore, RunRecord

ROOT = Path(__file__).resolve().parents[2]

ENTRIES = """\
version: "1.0"
namespace: t
entries:
  - name: native
    kind: exec.native
    default_env: {PATH: /usr/local/bin:/usr/bin:/bin}
  - name: other
    kind: exec.native
    default_env: {PATH: /usr/local/bin:/usr/bin:/bin}
"""


@pytest.fixture(autouse=True)
def records_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The records file of this test (also in the environment of every execdeck it starts)."""
    path = tmp_path / "data" / "runs.sqlite3"
    monkeypatch.setenv("EXECDECK_RECORDS", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return path


@pytest.fixture
def entries_file(tmp_path: Path) -> Path:
    path = tmp_path / "entries.yaml"
    path.write_text(ENTRIES)
    return path


Execdeck = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def execdeck(entries_file: Path) -> Execdeck:
    """``execdeck(*args)``: run the real command line to its end; returns the completed process."""

    def run(*args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "tui", *args[:1], "--entries", str(entries_file), *args[1:]]
        return subprocess.run(command, capture_output=True, timeout=timeout, cwd=ROOT, env=dict(os.environ), **kwargs)

    return run


def spawn_execdeck(entries_file: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start the real command line without waiting for it."""
    command = [sys.executable, "-m", "tui", *args[:1], "--entries", str(entries_file), *args[1:]]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=dict(os.environ))


@pytest.fixture
def memory_engine(memory_kind: MemoryKind) -> Iterator[Engine]:
    """A console-like engine with the in-memory executor ``t:memory``, whose runs the test steps."""
    engine = Engine(LoadResult(entries=(memory_entry(),)), source="console")
    yield engine
    engine.shutdown(grace=1.0)


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A console-like engine (source ``console``) with executors ``t:native`` and ``t:other``."""
    engine = Engine(LoadResult(entries=(native_entry(), native_entry("other"))), source="console")
    yield engine
    engine.shutdown(grace=1.0)


def poll(check: Callable[[], Any], deadline: float = 20.0, what: str = "condition") -> Any:
    """``check()``'s first truthy value, polling the database with a deadline (no event to wait on
    across processes)."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < end, f"no {what} within {deadline}s"
        time.sleep(0.02)


def read_runs(path: Path, **filters: Any) -> list[RunRecord]:
    store = RecordStore.open(path)
    try:
        return store.list_runs(limit=None, **filters)
    finally:
        store.close()


def output_of(path: Path, run_id: str) -> list[tuple[str, bytes]]:
    store = RecordStore.open(path)
    try:
        return list(store.iter_output(run_id))
    finally:
        store.close()
