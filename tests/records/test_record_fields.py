"""Each field of a run record, written by a recorder attached to a console-like engine."""

from __future__ import annotations

import getpass
import os
import sqlite3
import time
from pathlib import Path

import pytest

from tests.records.conftest import output_of, poll, read_runs
from tui.core.engine import Engine
from tui.core.errors import ExecError
from tui.core.executors.memory import MemoryRun
from tui.core.process import Process
from tui.core.records import RecordStore, attach_recorder, open_store
from tui.core.records.schema import SCHEMA_VERSION


def run_to_end(engine: Engine, command: str, **options: object) -> str:
    process = engine.get("t:native").exec(command, **options)  # type: ignore[arg-type]
    process.start()
    process.wait_done(30)
    return process.run_id


def start_memory_run(engine: Engine, **options: object) -> tuple[Process, MemoryRun]:
    process = engine.get("t:memory").exec("anything", **options)  # type: ignore[arg-type]
    process.start()
    run = process.backend
    assert isinstance(run, MemoryRun)
    return process, run


def test_a_finished_run_keeps_every_field(engine: Engine, records_path: Path, tmp_path: Path) -> None:
    recorder = attach_recorder(engine, source="console")
    assert recorder.active and recorder.problem is None
    before = time.time()
    run_id = run_to_end(engine, "sh -c 'echo one; echo two >&2; printf three; exit 3'",
                        work_dir=str(tmp_path), env={"TOKEN": "s3cr3t-value", "MODE": "x"})
    after = time.time()
    engine.shutdown()
    recorder.close()

    [record] = read_runs(records_path)
    assert record.run_id == run_id
    assert (record.executor_id, record.kind) == ("t:native", "native")
    assert record.command == "sh -c 'echo one; echo two >&2; printf three; exit 3'"
    assert record.argv == ("sh", "-c", "echo one; echo two >&2; printf three; exit 3")
    assert record.work_dir == str(tmp_path)
    assert record.env_names == ("MODE", "TOKEN")
    assert record.user == getpass.getuser()
    assert record.source == "console"
    assert record.handle.isdigit()
    assert record.status == "failed" and record.result_text == "exited 3"
    assert before <= record.started_at <= record.ended_at <= after  # type: ignore[operator]
    assert record.duration == pytest.approx(record.ended_at - record.started_at)  # type: ignore[operator]
    assert (record.exit_code, record.signal, record.timed_out, record.oom_killed, record.error) == (
        3, None, False, False, None)
    assert (record.stdout_bytes, record.stdout_lines) == (len(b"one\nthree"), 2)
    assert (record.stderr_bytes, record.stderr_lines) == (len(b"two\n"), 1)
    assert (record.output_kept, record.output_dropped, record.truncated) == (13, 0, False)
    chunks = output_of(records_path, run_id)
    assert b"".join(d for s, d in chunks if s == "stdout") == b"one\nthree"
    assert b"".join(d for s, d in chunks if s == "stderr") == b"two\n"


def test_stdout_and_stderr_stay_interleaved_as_received(memory_engine: Engine, records_path: Path) -> None:
    recorder = attach_recorder(memory_engine)
    process, run = start_memory_run(memory_engine)
    for i in (1, 2, 3):
        run.out(f"out{i}\n")
        run.err(f"err{i}\n")
    run.exit(0)
    run_id = process.run_id
    memory_engine.shutdown()
    recorder.close()
    assert output_of(records_path, run_id) == [
        ("stdout", b"out1\n"), ("stderr", b"err1\n"), ("stdout", b"out2\n"), ("stderr", b"err2\n"),
        ("stdout", b"out3\n"), ("stderr", b"err3\n"),
    ]


def test_a_signal_death_records_the_signal(engine: Engine, records_path: Path) -> None:
    recorder = attach_recorder(engine)
    run_to_end(engine, "sh -c 'kill -TERM $$'")
    engine.shutdown()
    recorder.close()
    [record] = read_runs(records_path)
    assert (record.status, record.signal, record.result_text) == ("failed", 15, "killed by SIGTERM")


def test_a_time_limit_records_timed_out(memory_engine: Engine, records_path: Path) -> None:
    recorder = attach_recorder(memory_engine)
    process, _ = start_memory_run(memory_engine, timeout=0.2)
    process.wait()
    memory_engine.shutdown()
    recorder.close()
    [record] = read_runs(records_path)
    assert record.timed_out and record.status == "failed" and record.result_text == "timed out"
    assert record.oom_killed is False  # only a container can be killed for memory (docker tests)


def test_a_failed_start_is_recorded_with_its_error(engine: Engine, records_path: Path) -> None:
    recorder = attach_recorder(engine)
    process = engine.get("t:native").exec("/no/such/program")
    with pytest.raises(ExecError):
        process.start()
    engine.shutdown()
    recorder.close()
    [record] = read_runs(records_path)
    assert record.status == "failed" and record.error and "/no/such/program" in record.error
    assert record.exit_code is None and record.duration == 0.0


def test_a_process_closed_before_it_started_is_not_a_run(engine: Engine, records_path: Path) -> None:
    recorder = attach_recorder(engine)
    engine.get("t:native").exec("true").close()
    run_to_end(engine, "true")
    engine.shutdown()
    recorder.close()
    assert [r.command for r in read_runs(records_path)] == ["true"]


def test_a_running_run_is_visible_while_it_runs(memory_engine: Engine, records_path: Path) -> None:
    recorder = attach_recorder(memory_engine)
    process, run = start_memory_run(memory_engine)
    [record] = poll(lambda: read_runs(records_path, status="running"), what="running run")
    assert record.run_id == process.run_id and record.ended_at is None
    run.out("started\n")
    poll(lambda: read_runs(records_path)[0].stdout_bytes == 8, what="output counted while running")
    process.close(force=True)
    process.wait_done(10)
    recorder.close()
    [record] = read_runs(records_path)
    assert record.status == "failed" and record.signal == 9


def test_the_output_cap_keeps_the_start_and_marks_how_much_was_dropped(engine: Engine, records_path: Path) -> None:
    recorder = attach_recorder(engine, output_cap=1000)
    run_id = run_to_end(engine, "seq 1 2000")  # 8893 bytes, 2000 lines
    engine.shutdown()
    recorder.close()
    [record] = read_runs(records_path)
    expected = b"".join(b"%d\n" % i for i in range(1, 2001))
    assert (record.stdout_bytes, record.stdout_lines) == (len(expected), 2000)  # counted past the cap
    assert (record.output_kept, record.output_dropped) == (1000, len(expected) - 1000)
    assert record.truncated
    assert b"".join(d for _, d in output_of(records_path, run_id)) == expected[:1000]


def test_binary_output_is_kept_byte_exact(engine: Engine, records_path: Path, tmp_path: Path) -> None:
    blob = os.urandom(300_000) + bytes(range(256)) * 100  # incompressible, then compressible
    source = tmp_path / "blob.bin"
    source.write_bytes(blob)
    recorder = attach_recorder(engine)
    run_id = run_to_end(engine, f"cat {source}")
    engine.shutdown()
    recorder.close()
    assert b"".join(d for _, d in output_of(records_path, run_id)) == blob


def test_env_values_are_never_stored(engine: Engine, records_path: Path) -> None:
    secret = "hunter2-" + os.urandom(8).hex()
    recorder = attach_recorder(engine)
    run_to_end(engine, "true", env={"API_TOKEN": secret})
    engine.shutdown()
    recorder.close()
    assert read_runs(records_path)[0].env_names == ("API_TOKEN",)
    stored = b"".join(p.read_bytes() for p in records_path.parent.iterdir())  # the database, its WAL, its shm
    assert secret.encode() not in stored and b"API_TOKEN" in stored


def test_the_database_is_wal_with_a_schema_version(engine: Engine, records_path: Path) -> None:
    attach_recorder(engine).close()
    conn = sqlite3.connect(records_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
    finally:
        conn.close()
    recorder = attach_recorder(engine)
    assert not recorder.active and recorder.problem is not None and "newer" in recorder.problem
    run_to_end(engine, "true")  # still runs


def test_filters_and_prune(engine: Engine, records_path: Path) -> None:
    recorder = attach_recorder(engine, source="console")
    run_to_end(engine, "true")
    run_to_end(engine, "false")
    other = engine.get("t:other").exec("echo needle")
    other.start()
    other.wait_done(10)
    engine.shutdown()
    recorder.close()
    store = RecordStore.open(records_path)
    try:
        assert [r.command for r in store.list_runs()] == ["echo needle", "false", "true"]  # newest first
        assert [r.command for r in store.list_runs(executor="t:other")] == ["echo needle"]
        assert [r.command for r in store.list_runs(status="failed")] == ["false"]
        assert [r.command for r in store.list_runs(status="ok")] == ["echo needle", "true"]
        assert [r.command for r in store.list_runs(text="needle")] == ["echo needle"]
        assert len(store.list_runs(limit=2)) == 2
        assert store.list_runs(source="cli") == [] and len(store.list_runs(source="console")) == 3
        assert store.list_runs(since=time.time() + 60) == [] and store.list_runs(until=time.time() - 3600) == []
        assert store.resolve(store.list_runs()[0].run_id[:5]).command == "echo needle"
        assert store.prune_older_than(3600) == 0
        assert store.prune_older_than(0, now=time.time() + 1) == 3
        assert store.list_runs() == []
        conn = sqlite3.connect(records_path)
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
        conn.close()
    finally:
        store.close()


def test_off_records_nothing(engine: Engine, records_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECDECK_RECORDS", "off")
    recorder = attach_recorder(engine)
    assert not recorder.active and recorder.problem is None
    run_to_end(engine, "true")
    recorder.close()
    assert not records_path.exists()
    assert not attach_recorder(engine, disabled=True, path=records_path).active


def test_open_store_for_a_reader_never_raises(records_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, problem = open_store()
    assert store is not None and problem is None and store.list_runs() == []
    store.close()
    records_path.write_bytes(b"garbage" * 100)
    store, problem = open_store()
    assert store is None and problem and problem.startswith("run records off: ") and "damaged" in problem
    monkeypatch.setenv("EXECDECK_RECORDS", "off")
    assert open_store() == (None, None)


@pytest.mark.parametrize(("script", "size", "lines"), [
    ("head -c 6000000 /dev/zero", 6000000, 1),  # binary: no newline at all, one unended line
    ("head -c 3000000 /dev/zero; printf 'a\\nb\\n'; head -c 3000000 /dev/zero", 6000004, 3),
    ("head -c 3000000 /dev/zero; printf 'a\\n'", 3000002, 1),
    ("seq 1 400000", len(b"".join(b"%d\n" % i for i in range(1, 400001))), 400000),
])
def test_lines_are_counted_when_the_only_reader_reads_a_fast_stream_itself(
    engine: Engine, records_path: Path, script: str, size: int, lines: int,
) -> None:
    # A sole reader takes a fast stream straight from the pipe, and the recorder hears of it in batches
    # that say whether a newline may be in them: a newline in one chunk of megabytes of zeros still counts.
    recorder = attach_recorder(engine)
    process = engine.get("t:native").exec(f'sh -c "{script}"')
    reader = process.open_reader("stdout")
    process.start()
    total = 0
    while (chunk := reader.read(65536)) is not None:
        total += len(chunk)
    process.wait()
    engine.shutdown()
    recorder.close()
    [record] = read_runs(records_path)
    assert total == size
    assert (record.stdout_bytes, record.stdout_lines) == (size, lines)


_FAULTS_SCRIPT = """
import resource, sys, tempfile
from pathlib import Path
from tui.core.engine import Engine
from tui.core.entries import load_entries
from tui.core.records import attach_recorder

folder = Path(tempfile.mkdtemp())
(folder / "t.yaml").write_text("namespace: t\\nentries:\\n  - name: native\\n    kind: exec.native\\n")
engine = Engine(load_entries([folder / "t.yaml"]))
recorder = attach_recorder(engine, path=folder / "runs.sqlite3", output_cap=65536)
process = engine.get("t:native").exec("head -c 134217728 /dev/zero")  # 128 MiB
reader = process.open_reader("stdout")
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
process.start()
total = 0
while (chunk := reader.read(65536)) is not None:
    total += len(chunk)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
process.wait()
engine.shutdown()
recorder.close()
print(total, faults)
"""


def test_recording_a_fast_stream_does_not_fault_its_memory_in_again_and_again(tmp_path: Path) -> None:
    # The recorder hears of a fast stream's reads in batches, freed together; in a fresh process glibc's
    # default thresholds handed that memory back each time and the next reads faulted it in again (~25,000
    # minor faults for 128 MiB, and three times the reader's processor time). The product keeps its heap
    # once it sees a fast writer (tui.core.heap). A process of its own: the test runner's heap is another's.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "EXECDECK_CACHE": "off"})
    assert done.returncode == 0, done.stderr[-2000:]
    total, faults = map(int, done.stdout.split())
    assert total == 134217728
    # 128 MiB in 64 KiB reads is 2,048 reads: far fewer faults than one per 4 KiB page read.
    assert faults < 6000, faults
