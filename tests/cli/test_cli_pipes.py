"""Consumers that go away: every subcommand writing into a real pipe whose real reader (``head``) exits,
stops, or a terminal that is closed. Each ends as a Unix tool does (exit 141 for a closed pipe), without a
traceback, and leaves nothing running."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import termios
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import docker
import pytest

from tests.core.support import assert_no_group_survives, native_entry
from tests.dockertools import poll_until
from tui.core.engine import Engine
from tui.core.entries.models import LoadResult
from tui.core.labels import LABEL_RUN
from tui.core.records import attach_recorder

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PIPE = 141
# Prints the pid of the command (which leads its own process group) on stderr, then becomes `yes`.
YES = "sh -c 'echo $$ >&2; exec yes'"
# How long a pipeline may take to end once its reader went away (generous: the machine is shared).
ENDS_WITHIN = 30


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's run records file, in the environment of every execdeck it starts."""
    path = tmp_path / "runs.sqlite3"
    monkeypatch.setenv("EXECDECK_RECORDS", str(path))
    return path


@pytest.fixture
def entries(tmp_path: Path) -> Path:
    path = tmp_path / "entries.yaml"
    path.write_text(
        'version: "1.0"\nnamespace: t\nentries:\n'
        "  - name: free\n    kind: exec.native\n    default_env: {PATH: /usr/bin:/bin}\n"
    )
    return path


class Pipeline:
    """``execdeck ARGS | READER``, built from real processes and a real pipe. execdeck's stderr is
    collected by a thread; the reader's stdout is kept. ``end()`` leaves nothing of either running."""

    def __init__(self, args: Sequence[str], reader: Sequence[str], *, stop_reader: bool = False) -> None:
        read_end, write_end = os.pipe()
        try:
            self.reader = subprocess.Popen(reader, stdin=read_end, stdout=subprocess.PIPE)
            if stop_reader:
                # Stopped before execdeck exists, so it cannot have read a byte.
                self.reader.send_signal(signal.SIGSTOP)
                poll_until(lambda: process_state(self.reader.pid) == "T", 10, "the reader to stop")
            self.execdeck = subprocess.Popen(
                [sys.executable, "-m", "tui", *args], stdout=write_end, stderr=subprocess.PIPE,
                cwd=ROOT, env=dict(os.environ), start_new_session=True,
            )
        finally:
            # Only the two processes hold the pipe: the reader's exit must leave it without a reader.
            os.close(read_end)
            os.close(write_end)
        self._stderr: list[bytes] = []
        self._group: int | None = None
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _collect(self) -> None:
        assert self.execdeck.stderr is not None
        for line in self.execdeck.stderr:
            self._stderr.append(line)

    def first_stderr_line(self) -> bytes:
        poll_until(lambda: bool(self._stderr) or self.execdeck.poll() is not None, ENDS_WITHIN,
                   "execdeck's first line on stderr")
        assert self._stderr, f"execdeck exited {self.execdeck.returncode} without a line on stderr"
        return self._stderr[0]

    def command_group(self) -> int:
        """The pid (and process group) that the command printed first on stderr."""
        self._group = int(self.first_stderr_line())
        return self._group

    def wait(self) -> tuple[int, str, bytes]:
        """execdeck's exit code, its stderr and the reader's output, once both ended."""
        code = self.execdeck.wait(ENDS_WITHIN)
        self._collector.join(ENDS_WITHIN)
        assert self.reader.stdout is not None
        out = self.reader.stdout.read()
        self.reader.wait(ENDS_WITHIN)
        return code, b"".join(self._stderr).decode(errors="replace"), out

    def end(self) -> None:
        """Whatever the test found, nothing it started outlives it (a failed test included)."""
        if self._group is not None:
            with contextlib.suppress(OSError):
                os.killpg(self._group, signal.SIGKILL)
        for child in (self.reader, self.execdeck):
            with contextlib.suppress(OSError):
                child.send_signal(signal.SIGCONT)
                child.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)
        with contextlib.suppress(ValueError, OSError):
            assert self.reader.stdout is not None
            self.reader.stdout.close()


Start = Callable[..., Pipeline]


@pytest.fixture
def pipeline() -> Iterator[Start]:
    """``pipeline(args, reader, stop_reader=False)`` starts a :class:`Pipeline`, ended after the test."""
    made: list[Pipeline] = []

    def start(args: Sequence[str], reader: Sequence[str], *, stop_reader: bool = False) -> Pipeline:
        made.append(Pipeline(args, reader, stop_reader=stop_reader))
        return made[-1]

    yield start
    for each in made:
        each.end()


def _take_terminal() -> None:
    # In the child, after setsid: stdin (the pty) becomes the controlling terminal of the new session.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def process_state(pid: int) -> str:
    """The one-letter state of ``pid`` (``R``, ``S``, ``T``...), ``"gone"`` when it no longer exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat.rsplit(")", 1)[1].split()[0]


def blocked_writing_a_pipe(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/wchan").read_text() in ("pipe_write", "anon_pipe_write")  # by kernel version
    except OSError:
        return False


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def recorded_runs(records: Path) -> list[dict[str, object]]:
    done = subprocess.run([sys.executable, "-m", "tui", "history", "--json", "--records", str(records)],
                          capture_output=True, cwd=ROOT, timeout=60, check=True)
    runs: list[dict[str, object]] = json.loads(done.stdout)["runs"]
    return runs


def assert_quiet(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception" not in stderr, stderr


# ---- execdeck run --------------------------------------------------------------------------------------


def test_run_piped_into_head_ends_its_command_by_sigpipe_and_exits_141(
        pipeline: Start, entries: Path, records: Path) -> None:
    piped = pipeline(["run", "--entries", str(entries), "t:free", YES], ["head", "-1"])
    group = piped.command_group()
    code, stderr, out = piped.wait()
    assert (code, out) == (CLOSED_PIPE, b"y\n")
    assert stderr == f"{group}\n", "nothing on stderr but the command's own line"
    assert_no_group_survives([group])
    # Ended the way a pipeline's writer ends: by SIGPIPE, not by the session's SIGTERM.
    assert [run["signal"] for run in recorded_runs(records)] == [signal.SIGPIPE]


def test_a_command_that_ignores_sigpipe_is_ended_all_the_same(pipeline: Start, entries: Path) -> None:
    piped = pipeline(["run", "--entries", str(entries), "t:free", "sh -c 'trap \"\" PIPE; echo $$ >&2; exec yes'"],
                     ["head", "-1"])
    group = piped.command_group()
    code, stderr, _ = piped.wait()
    assert code == CLOSED_PIPE
    assert stderr == f"{group}\n"
    assert_no_group_survives([group])


def test_a_command_that_writes_only_to_stderr_keeps_running_after_the_stdout_reader_left(
        pipeline: Start, entries: Path, tmp_path: Path) -> None:
    # As in a shell pipeline: only a write to the closed pipe ends the writer; stderr keeps flowing.
    go = tmp_path / "go"
    command = f"sh -c 'echo $$ >&2; while [ ! -e {go} ]; do sleep 0.05; done; echo after >&2; exit 7'"
    piped = pipeline(["run", "--entries", str(entries), "t:free", command], ["head", "-n", "0"])
    group = piped.command_group()
    assert piped.reader.wait(ENDS_WITHIN) == 0
    go.touch()
    code, stderr, _ = piped.wait()
    assert (code, stderr) == (7, f"{group}\nafter\n")


def test_a_stopped_reader_holds_the_command_back_with_bounded_memory_until_it_goes_away(
        pipeline: Start, entries: Path) -> None:
    piped = pipeline(["run", "--entries", str(entries), "t:free", YES], ["head", "-1"], stop_reader=True)
    group = piped.command_group()
    # Unbounded buffering would keep `yes` writing for ever; a bounded one fills and blocks it.
    poll_until(lambda: blocked_writing_a_pipe(group), ENDS_WITHIN, "yes to block on its full pipe")
    assert rss_mib(piped.execdeck.pid) < 150, "execdeck holds at most a few MiB of a stopped reader's output"
    assert piped.execdeck.poll() is None
    piped.reader.send_signal(signal.SIGCONT)  # it reads one line and goes away
    code, stderr, out = piped.wait()
    assert (code, out) == (CLOSED_PIPE, b"y\n")
    assert stderr == f"{group}\n"
    assert_no_group_survives([group])


def test_a_stopped_reader_that_resumes_gets_every_byte(pipeline: Start, entries: Path) -> None:
    command = "sh -c 'echo $$ >&2; exec seq 1 1000000'"  # 6,888,896 bytes: more than a buffer and a pipe
    piped = pipeline(["run", "--entries", str(entries), "t:free", command], ["wc", "-c"], stop_reader=True)
    group = piped.command_group()
    poll_until(lambda: blocked_writing_a_pipe(group), ENDS_WITHIN, "seq to block on its full pipe")
    assert rss_mib(piped.execdeck.pid) < 150
    piped.reader.send_signal(signal.SIGCONT)
    code, stderr, out = piped.wait()
    assert (code, stderr, out.strip()) == (0, f"{group}\n", b"6888896")


def test_a_closed_terminal_ends_execdeck_run_and_its_command(entries: Path) -> None:
    main, tty = os.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "tui", "run", "--entries", str(entries), "t:free", YES],
            stdin=tty, stdout=tty, stderr=subprocess.PIPE, cwd=ROOT, env=dict(os.environ),
            start_new_session=True, preexec_fn=_take_terminal,
        )
    finally:
        os.close(tty)
    try:
        assert child.stderr is not None
        assert select.select([child.stderr], [], [], ENDS_WITHIN)[0], "no pid line from the command"
        group = int(child.stderr.readline())
        os.close(main)  # the terminal goes away: a hang-up for its session
        main = -1
        code = child.wait(ENDS_WITHIN)
        # SIGHUP ends the session (129); a write that met the hung-up terminal first ends it as a closed
        # pipe does (141). Either way, at once and completely.
        assert code in (128 + signal.SIGHUP, CLOSED_PIPE)
        assert_quiet(child.stderr.read().decode(errors="replace"))
        assert_no_group_survives([group])
    finally:
        if main >= 0:
            os.close(main)
        with contextlib.suppress(OSError):
            child.kill()
        child.wait(10)
        if child.stderr is not None:
            child.stderr.close()


# ---- Docker ---------------------------------------------------------------------------------------------


def _docker_entries(tmp_path: Path, image: str) -> Path:
    path = tmp_path / "docker.yaml"
    common = f"    kind: exec.docker\n    image: {image}\n    network_mode: none\n    auto_remove: true\n"
    path.write_text(
        f'version: "1.0"\nnamespace: d\nentries:\n  - name: box\n{common}  - name: bare\n{common}    init: false\n'
    )
    return path


@pytest.mark.docker
@pytest.mark.parametrize("entry", ["d:box", "d:bare"], ids=["with-init", "without-init"])
def test_a_container_piped_into_head_ends_and_is_removed(
        pipeline: Start, tmp_path: Path, records: Path, test_image: str, docker_engine: docker.APIClient,
        entry: str) -> None:
    # Without an init, PID 1 ignores SIGPIPE (no handler): the run is ended all the same.
    piped = pipeline(["run", "--entries", str(_docker_entries(tmp_path, test_image)), entry, "yes"], ["head", "-1"])
    code, stderr, out = piped.wait()
    assert (code, stderr, out) == (CLOSED_PIPE, "", b"y\n")
    [run] = recorded_runs(records)
    if entry == "d:box":
        assert run["exit_code"] == CLOSED_PIPE, "the init passed SIGPIPE on to yes"

    def gone() -> bool:
        return not docker_engine.containers(all=True, filters={"label": f"{LABEL_RUN}={run['run_id']}"})

    poll_until(gone, 10, "the run's container to be removed")


# ---- show, history, list, check ---------------------------------------------------------------------------


def _many_executors(tmp_path: Path) -> Path:
    """600 executors with long names, each with an unknown field: `list` and `check` print far more than
    a pipe holds, so their writes meet the closed pipe."""
    path = tmp_path / "many.yaml"
    rows = [f"  - name: {'x' * 100}{i}\n    kind: exec.native\n    whitelist_typo: 1\n" for i in range(600)]
    path.write_text('version: "1.0"\nnamespace: many\nentries:\n' + "".join(rows))
    return path


def _record_runs(records: Path) -> str:
    """Records a run with a large output and 100 runs with long commands; returns the large run's id."""
    engine = Engine(LoadResult(entries=(native_entry("free", default_env={"PATH": "/usr/bin:/bin"}),)), source="cli")
    recorder = attach_recorder(engine, path=records)
    try:
        big = engine.get("t:free").exec("seq 1 300000")
        big.start()
        big.wait()
        for _ in range(100):
            process = engine.get("t:free").exec("true " + "a" * 1500)
            process.start()
            process.wait()
    finally:
        engine.shutdown()
        recorder.close()
    return big.run_id


@pytest.mark.parametrize("subcommand", ["show", "history", "list", "check"])
def test_every_listing_piped_into_head_exits_141_quietly(
        pipeline: Start, tmp_path: Path, records: Path, subcommand: str) -> None:
    if subcommand in ("list", "check"):
        args = [subcommand, "--entries", str(_many_executors(tmp_path))]
    else:
        big = _record_runs(records)
        args = ["show", big] if subcommand == "show" else ["history", "--json", "--limit", "0"]
    piped = pipeline(args, ["head", "-1"])
    code, stderr, out = piped.wait()
    assert code == CLOSED_PIPE, stderr
    assert stderr == ""
    assert out.endswith(b"\n") and out.count(b"\n") == 1


def test_lua_piped_into_head_ends_the_script_and_its_processes_and_exits_141(
        pipeline: Start, entries: Path, tmp_path: Path) -> None:
    script = tmp_path / "flood.lua"
    # A process of its own that would run for a minute, then print for ever.
    script.write_text(
        'local p = require("exec").get("t:free"):exec("sleep 61.0421")\n'
        "p:start()\n"
        "local i = 0\n"
        'while true do i = i + 1; print("line " .. i) end\n'
    )
    piped = pipeline(["lua", "--entries", str(entries), str(script)], ["head", "-1"])
    code, stderr, out = piped.wait()
    assert code == CLOSED_PIPE, stderr
    assert stderr == ""
    assert out == b"line 1\n"
    poll_until(lambda: not _with_argument("61.0421"), ENDS_WITHIN, "the script's process to end")


def _with_argument(marker: str) -> list[int]:
    """Processes with an argument that contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if any(marker.encode() in arg for arg in (entry / "cmdline").read_bytes().split(b"\0")[1:]):
                    found.append(int(entry.name))
    return found
