"""The command line records its runs (source cli, lua) and reads them back: history, show, prune."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import threading
from pathlib import Path

import pytest

from tests.records.conftest import Execdeck, output_of, poll, read_runs, spawn_execdeck
from tui.core.engine import Engine
from tui.core.records import attach_recorder

SCRIPT = "echo out1; echo err1 >&2; printf out2; exit 3"


def test_execdeck_run_is_recorded_with_source_cli(execdeck: Execdeck, records_path: Path) -> None:
    done = execdeck("run", "--env", "K=secret-v", "t:native", f"sh -c '{SCRIPT}'")
    assert done.returncode == 3 and done.stderr == b"err1\n"  # no notice: recording worked
    [record] = read_runs(records_path)
    assert (record.source, record.executor_id, record.exit_code, record.status) == ("cli", "t:native", 3, "failed")
    assert record.env_names == ("K",) and record.user


def test_show_prints_stdout_and_stderr_to_their_streams_bytes_exact(execdeck: Execdeck, records_path: Path) -> None:
    execdeck("run", "t:native", f"sh -c '{SCRIPT}'")
    [record] = read_runs(records_path)
    shown = execdeck("show", record.run_id[:6])
    assert shown.returncode == 0
    assert (shown.stdout, shown.stderr) == (b"out1\nout2", b"err1\n")
    assert execdeck("show", record.run_id).stdout == b"out1\nout2"


def test_show_info_prints_the_fields(execdeck: Execdeck, records_path: Path) -> None:
    execdeck("run", "t:native", "echo hi")
    [record] = read_runs(records_path)
    info = execdeck("show", record.run_id, "--info").stdout.decode()
    assert f"run:           {record.run_id}" in info and "source:        cli" in info
    assert "stdout:        3 bytes, 1 lines" in info and "exit code:     0" in info
    as_json = json.loads(execdeck("show", record.run_id, "--info", "--json").stdout)
    assert as_json["run_id"] == record.run_id and as_json["argv"] == ["echo", "hi"]


def test_show_an_unknown_or_ambiguous_run_is_one_line_and_exit_1(execdeck: Execdeck) -> None:
    execdeck("run", "t:native", "true")
    for ref, words in (("ffffffffffff", "no recorded run"), ("abc", "at least 4 characters")):
        shown = execdeck("show", ref)
        assert shown.returncode == 1 and shown.stdout == b""
        assert shown.stderr.count(b"\n") == 1 and words.encode() in shown.stderr


def test_show_says_when_the_output_was_truncated(engine: Engine, execdeck: Execdeck, records_path: Path) -> None:
    recorder = attach_recorder(engine, output_cap=10)
    process = engine.get("t:native").exec("seq 1 100")
    process.start()
    process.wait_done(10)
    engine.shutdown()
    recorder.close()
    shown = execdeck("show", process.run_id)
    assert shown.stdout == b"1\n2\n3\n4\n5\n"
    assert shown.stderr == b"execdeck: output truncated: 282 more bytes were not recorded (over the cap)\n"


def test_history_lists_runs_newest_first_with_filters(execdeck: Execdeck, records_path: Path) -> None:
    execdeck("run", "t:native", "true")
    execdeck("run", "t:other", "false")
    table = execdeck("history")
    assert table.returncode == 0
    lines = table.stdout.decode().splitlines()
    assert lines[0].split() == ["TIME", "RUN", "EXECUTOR", "COMMAND", "DURATION", "RESULT"]
    assert "t:other" in lines[1] and "exited 1" in lines[1] and "t:native" in lines[2] and "exited 0" in lines[2]
    runs = json.loads(execdeck("history", "--json").stdout)["runs"]
    assert [r["command"] for r in runs] == ["false", "true"]
    for args, expected in ((("--status", "failed"), ["false"]), (("--executor", "t:native"), ["true"]),
                           (("--since", "1h"), ["false", "true"]), (("--until", "2000-01-01"), []),
                           (("--source", "lua"), []), (("--limit", "1"), ["false"])):
        runs = json.loads(execdeck("history", "--json", *args).stdout)["runs"]
        assert [r["command"] for r in runs] == expected, args


def test_history_bad_values_exit_2_and_an_empty_history_is_fine(execdeck: Execdeck) -> None:
    empty = execdeck("history")
    assert empty.returncode == 0 and b"no recorded runs yet" in empty.stdout
    bad = execdeck("history", "--since", "yesterday-ish")
    assert bad.returncode == 2 and bad.stderr.count(b"\n") == 1 and b"expected 30m" in bad.stderr


def test_history_prune_older_than_prints_how_many(execdeck: Execdeck, records_path: Path) -> None:
    execdeck("run", "t:native", "true")
    kept = execdeck("history", "--prune-older-than", "30d")
    assert (kept.returncode, kept.stdout) == (0, b"removed 0 runs older than 30d\n")
    # Age the run by a year, then prune it.
    conn = sqlite3.connect(records_path)
    conn.execute("UPDATE runs SET started_at = started_at - 31536000, ended_at = ended_at - 31536000")
    conn.commit()
    conn.close()
    removed = execdeck("history", "--prune-older-than", "30d")
    assert removed.stdout == b"removed 1 run older than 30d\n" and read_runs(records_path) == []


def test_records_flag_chooses_the_file(execdeck: Execdeck, records_path: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    execdeck("run", "t:native", "true")
    other = tmp_path / "elsewhere.sqlite3"
    os.rename(records_path, other)
    monkeypatch.setenv("EXECDECK_RECORDS", "off")
    runs = json.loads(execdeck("history", "--json", "--records", str(other)).stdout)["runs"]
    assert [r["command"] for r in runs] == ["true"]


def test_execdeck_lua_runs_are_recorded_with_source_lua(execdeck: Execdeck, records_path: Path,
                                                        tmp_path: Path) -> None:
    pytest.importorskip("tui.cli.lua")
    script = tmp_path / "script.lua"
    script.write_text('local exec = require("exec")\n'
                      'local p = assert(exec.get("t:native")):exec("echo from lua", {env = {SECRET = "v"}})\n'
                      'p:start()\nprint(p:wait())\n')
    done = execdeck("lua", str(script))
    assert done.returncode == 0, done.stderr
    [record] = read_runs(records_path)
    assert (record.source, record.command, record.env_names, record.status) == ("lua", "echo from lua", ("SECRET",),
                                                                                 "ok")
    assert b"".join(d for _, d in output_of(records_path, record.run_id)) == b"from lua\n"


def test_concurrent_writers_lose_nothing(engine: Engine, entries_file: Path, records_path: Path) -> None:
    """The console-like engine and four `execdeck run` write at once: every run is there, no lock error."""
    problems: list[str] = []
    recorder = attach_recorder(engine, source="console", on_problem=problems.append)
    children = [spawn_execdeck(entries_file, "run", "t:native", f"sh -c 'seq 1 20000; echo child{i} >&2'")
                for i in range(4)]
    go = threading.Event()

    def console_runs() -> None:
        go.wait()
        for _ in range(10):
            process = engine.get("t:native").exec("seq 1 5000")
            process.start()
            process.wait_done(30)

    thread = threading.Thread(target=console_runs)
    thread.start()
    go.set()
    outs = [child.communicate(timeout=60) for child in children]
    thread.join(60)
    engine.shutdown()
    recorder.close()
    for child, (_, err) in zip(children, outs, strict=True):
        assert child.returncode == 0 and b"locked" not in err and b"records off" not in err, err
    assert problems == [] and recorder.problem is None
    runs = read_runs(records_path)
    assert sorted(r.source for r in runs) == ["cli"] * 4 + ["console"] * 10
    assert all(r.status == "ok" and r.stdout_lines in (5000, 20000) for r in runs)


def test_a_run_whose_execdeck_was_killed_shows_as_interrupted(execdeck: Execdeck, entries_file: Path,
                                                               records_path: Path) -> None:
    child = spawn_execdeck(entries_file, "run", "t:native", "sleep 60")
    try:
        [record] = poll(lambda: read_runs(records_path, status="running"), what="running record")
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=10)
    [record] = poll(lambda: read_runs(records_path), what="record")
    if record.handle:  # the sleep is in a group of its own and outlived its execdeck: end it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(record.handle), signal.SIGKILL)
    assert record.status == "interrupted" and record.ended_at is None
    history = json.loads(execdeck("history", "--json", "--status", "interrupted").stdout)["runs"]
    assert [r["run_id"] for r in history] == [record.run_id]
    assert b"interrupted" in execdeck("history").stdout


_OPEN_LATER_SCRIPT = """
import sys
from pathlib import Path
from tui.core.engine import Engine
from tui.core.entries import load_entries
from tui.core.records import attach_recorder

folder = Path(sys.argv[1])
engine = Engine(load_entries([folder / "t.yaml"]))
recorder = attach_recorder(engine, path=folder / "runs.sqlite3", open_later=True)
process = engine.get("t:native").exec("echo hi")
print("sqlite3" in sys.modules, (folder / "runs.sqlite3").exists())  # before the run: neither
process.start()
process.wait()
engine.shutdown()
recorder.close()
print("sqlite3" in sys.modules, (folder / "runs.sqlite3").exists())
"""


def test_the_command_line_opens_its_records_while_the_run_starts_not_before(tmp_path: Path) -> None:
    # execdeck run opens the records database (and loads SQLite) on the recorder's writer thread, once a run
    # is there: a container's run sends its first request to the daemon without waiting for either.
    import subprocess
    import sys

    (tmp_path / "t.yaml").write_text("namespace: t\nentries:\n  - name: native\n    kind: exec.native\n")
    done = subprocess.run([sys.executable, "-c", _OPEN_LATER_SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "EXECDECK_CACHE": "off"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["False False", "True True"]
    [record] = read_runs(tmp_path / "runs.sqlite3")
    assert (record.command, record.status, record.stdout_bytes) == ("echo hi", "ok", 3)
