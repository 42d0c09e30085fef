"""Shared fixtures of the exec-module tests: `execdeck lua` as a real subprocess, an engine over the same
entry files, and the check that no test leaves a process behind.

Every long-running host command in the scripts carries the marker `0421` in an argument (`sleep 30.0421`),
so leftovers can be found in /proc without confusing them with other tests' processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.engine import Engine
from tui.core.entries.loader import load_entries

HERE = Path(__file__).resolve().parent
ENTRIES = HERE / "entries"
SCRIPTS = HERE / "scripts"
REPO = HERE.parent.parent
MARKER = b"0421"


def execdeck_lua(script: str | Path, *args: str) -> list[str]:
    """The argv of `execdeck lua` for `script` (a name in scripts/ or a path) with our entries."""
    path = Path(script)
    if not path.is_absolute() and (SCRIPTS / path).exists():
        path = SCRIPTS / path
    return [sys.executable, "-m", "tui", "lua", "--entries", str(ENTRIES), str(path), *args]


def run_lua(
    script: str | Path, *args: str, timeout: float = 120, cwd: Path = REPO
) -> subprocess.CompletedProcess[bytes]:
    """Run a script to its end (from ``cwd``); stdout and stderr captured as bytes."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        execdeck_lua(script, *args), cwd=cwd, env=env, capture_output=True, timeout=timeout, check=False
    )


def marked_pids(marker: bytes = MARKER) -> list[int]:
    """Host processes with an argument containing `marker` (the scripts' long-running commands)."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                args = handle.read().split(b"\0")
        except OSError:
            continue
        if int(entry) != os.getpid() and any(marker in arg for arg in args[1:]):
            found.append(int(entry))
    return found


# Chunks that stay inside one C library function, where the count hook never runs: each would run for
# hours (or for ever) if nothing ended it from outside.
STUCK_IN_C = {
    "find": 'local x = string.rep("a", 20000):find(".-.-.-.-b")',
    "match": 'local x = string.rep("a", 20000):match(".-.-.-.-b")',
    "gmatch": 'for _ in string.rep("a", 20000):gmatch(".-.-.-.-b") do end',
    "gsub": 'local x = string.rep("a", 20000):gsub(".-.-.-.-b", "")',
    "rep": 'local x = string.rep("", 1e18)',
}


def pid_gone(pid: int, deadline: float = 5.0) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            return True
        if state == b"Z":
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)  # polling the OS with a deadline: there is no event for "a process is gone"


def wait_no_marked(deadline: float = 5.0, marker: bytes = MARKER) -> list[int]:
    """Poll /proc until no marked process is left (a zombie being reaped may take a moment)."""
    end = time.monotonic() + deadline
    left = marked_pids(marker)
    while left and time.monotonic() < end:
        time.sleep(0.02)  # polling the OS with a deadline: there is no event for "a process is gone"
        left = marked_pids(marker)
    return left


@pytest.fixture(autouse=True)
def _no_process_left() -> Iterator[None]:
    yield
    left = wait_no_marked()
    assert not left, f"processes left running: {left}"


@pytest.fixture
def engine() -> Iterator[Engine]:
    """An engine over tests/lua_exec/entries; every process it made is ended after the test."""
    eng = Engine(load_entries([ENTRIES]), source="lua")
    yield eng
    eng.shutdown(grace=0.5)
