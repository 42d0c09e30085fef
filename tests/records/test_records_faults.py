"""A damaged, locked or read-only records file: one clear notice, and the run still executes.

Read-only as root: permission bits do not stop root, so the file and its folder are made immutable
with ``chattr +i`` (which stops root too); without chattr support the test skips rather than lie.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.records.conftest import Execdeck, read_runs
from tui.core.engine import Engine
from tui.core.records import RecordStore, attach_recorder


def assert_one_notice_and_the_run_executed(done: subprocess.CompletedProcess[bytes], *words: str) -> None:
    assert done.returncode == 0 and done.stdout == b"ran anyway\n"
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("execdeck: run records off: "), lines
    assert all(word in lines[0] for word in words), lines[0]


def run_in_process(engine: Engine) -> bytes:
    process = engine.get("t:native").exec("echo ran anyway")
    reader = process.open_reader("stdout")
    process.start()
    process.wait_done(10)
    return reader.read(1000, timeout=1) or b""


def test_a_corrupt_file_is_one_notice_and_runs_still_execute(execdeck: Execdeck, engine: Engine,
                                                             records_path: Path) -> None:
    records_path.parent.mkdir(parents=True)
    garbage = b"this is not sqlite\x00\xff" * 500
    records_path.write_bytes(garbage)
    done = execdeck("run", "t:native", "echo ran anyway")
    assert_one_notice_and_the_run_executed(done, str(records_path), "damaged or not a records database")
    recorder = attach_recorder(engine)
    assert not recorder.active and recorder.problem and "damaged" in recorder.problem
    assert run_in_process(engine) == b"ran anyway\n"
    recorder.close()
    assert records_path.read_bytes() == garbage  # never "repaired" behind the operator's back
    shown = execdeck("history")
    assert shown.returncode == 1 and shown.stderr.count(b"\n") == 1


@pytest.fixture
def locked(records_path: Path) -> Iterator[sqlite3.Connection]:
    """Another program holding an exclusive transaction on the records file."""
    RecordStore.open(records_path).close()
    conn = sqlite3.connect(records_path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    yield conn
    conn.execute("ROLLBACK")
    conn.close()


def test_a_locked_file_is_one_notice_and_runs_still_execute(locked: sqlite3.Connection, engine: Engine) -> None:
    recorder = attach_recorder(engine, busy_timeout=0.2)
    assert not recorder.active and recorder.problem and "locked by another program" in recorder.problem
    assert run_in_process(engine) == b"ran anyway\n"
    recorder.close()


def test_execdeck_run_on_a_locked_file_waits_the_busy_timeout_then_runs(locked: sqlite3.Connection,
                                                                        execdeck: Execdeck) -> None:
    done = execdeck("run", "t:native", "echo ran anyway")
    assert_one_notice_and_the_run_executed(done, "locked by another program (waited 3s)")


def test_a_lock_taken_during_a_run_turns_recording_off_once(engine: Engine, records_path: Path) -> None:
    problems: list[str] = []
    recorder = attach_recorder(engine, busy_timeout=0.2, on_problem=problems.append)
    assert recorder.active
    conn = sqlite3.connect(records_path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        assert run_in_process(engine) == b"ran anyway\n"
        recorder.close()  # the writer's last flush meets the lock
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert len(problems) == 1 and "locked" in problems[0] and recorder.problem == problems[0]
    assert run_in_process(engine) == b"ran anyway\n"


@contextlib.contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: nothing here can make a file read-only for root")
    made = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {made.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def test_a_read_only_file_is_one_notice_and_runs_still_execute(execdeck: Execdeck, engine: Engine,
                                                               records_path: Path) -> None:
    execdeck("run", "t:native", "echo recorded before")
    for extra in records_path.parent.glob("runs.sqlite3-*"):
        extra.unlink()  # a clean close leaves none; be sure the folder holds only the database
    with read_only(records_path, records_path.parent):
        done = execdeck("run", "t:native", "echo ran anyway")
        assert_one_notice_and_the_run_executed(done, str(records_path))
        assert "read-only" in done.stderr.decode() or "cannot be opened for writing" in done.stderr.decode()
        recorder = attach_recorder(engine)
        assert not recorder.active and recorder.problem
        assert run_in_process(engine) == b"ran anyway\n"
        recorder.close()
        # What was recorded can still be read.
        history = execdeck("history", "--json")
        assert history.returncode == 0 and b"echo recorded before" in history.stdout
    assert [r.command for r in read_runs(records_path)] == ["echo recorded before"]


def test_a_folder_that_cannot_be_made_is_one_notice(execdeck: Execdeck, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("EXECDECK_RECORDS", str(blocker / "sub" / "runs.sqlite3"))
    assert_one_notice_and_the_run_executed(execdeck("run", "t:native", "echo ran anyway"), "a-file")
