"""The process model beyond the edge-case table: subscribers, time limits, loader variables."""

from __future__ import annotations

import threading

import pytest

from tests.core.support import EngineFactory, read_all, seq_output
from tests.dockertools import poll_until
from tui.core.engine import Engine
from tui.core.errors import ErrorKind, ExecError
from tui.core.process import Process
from tui.core.streams import Cancelled


def test_a_subscriber_sees_both_streams_in_arrival_order(engine: Engine) -> None:
    process = engine.get("t:native").exec(
        "sh -c 'echo 1; sleep 0.05; echo 2 >&2; sleep 0.05; echo 3; sleep 0.05; echo 4 >&2'")
    seen: list[tuple[str, bytes]] = []
    process.subscribe(lambda stream, data: seen.append((stream, data)))
    process.start()
    process.wait()
    assert process.wait_done(10)
    assert seen == [("stdout", b"1\n"), ("stderr", b"2\n"), ("stdout", b"3\n"), ("stderr", b"4\n")]


def test_a_late_subscriber_gets_the_retained_output_replayed(engine: Engine) -> None:
    process = engine.get("t:native").exec("sh -c 'echo out; echo err >&2'")
    process.start()
    process.wait()
    assert process.wait_done(10)
    seen: list[tuple[str, bytes]] = []
    process.subscribe(lambda stream, data: seen.append((stream, data)))
    assert sorted(seen) == [("stderr", b"err\n"), ("stdout", b"out\n")]


def test_reading_from_one_reader_takes_nothing_from_another(engine: Engine) -> None:
    process = engine.get("t:native").exec("seq 1 1000")
    lua_stream = process.stream("stdout")
    console = process.open_reader("stdout")
    process.start()
    expected = seq_output(1, 1000)
    assert read_all(lua_stream) == expected
    assert read_all(console) == expected
    process.wait()


def test_the_same_stream_object_is_returned_twice(engine: Engine) -> None:
    process = engine.get("t:native").exec("true")
    assert process.stream("stdout") is process.stream("stdout")
    assert process.stream("stderr") is not process.stream("stdout")


def test_output_can_be_read_before_and_after_start(engine: Engine) -> None:
    process = engine.get("t:native").exec("echo early")
    out = process.stream("stdout")
    assert out.read(timeout=0) == b""
    process.start()
    assert read_all(out) == b"early\n"
    process.wait()


def test_a_time_limit_ends_the_run_and_says_so(engine: Engine) -> None:
    process = engine.get("t:native").exec("sleep 30", timeout=0.3)
    process.start()
    status = process.wait()
    assert status.timed_out
    assert status.shell_code == 124
    assert status.describe() == "timed out after 0.3s"


def test_a_time_limit_kills_a_process_that_ignores_sigterm(engine: Engine) -> None:
    process = engine.get("t:native").exec("""sh -c 'trap "" TERM; while :; do sleep 0.1; done'""", timeout=0.2)
    process.start()
    status = process.wait()
    assert status.timed_out
    assert status.signal == 9


def test_a_non_positive_time_limit_is_invalid(engine: Engine) -> None:
    with pytest.raises(ExecError, match="timeout must be a positive"):
        engine.get("t:native").exec("true", timeout=0)


@pytest.mark.parametrize("name", ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES"])
def test_loader_variables_are_refused_on_whitelisted_executors(engine_factory: EngineFactory, name: str) -> None:
    engine = engine_factory(command_whitelist=["env"])
    with pytest.raises(ExecError) as caught:
        engine.get("t:native").exec("env", env={name: "/tmp/evil.so"})
    assert caught.value.kind is ErrorKind.INVALID
    assert name in caught.value.message
    assert caught.value.details["variable"] == name


def test_loader_variables_are_allowed_where_any_command_may_run_anyway(engine: Engine) -> None:
    process = engine.get("t:native").exec("env", env={"LD_LIBRARY_PATH": "/nowhere"})
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert read_all(out) == b"LD_LIBRARY_PATH=/nowhere\n"


def test_a_per_call_path_cannot_choose_which_binary_a_whitelisted_command_runs(
    engine_factory: EngineFactory, tmp_path: object
) -> None:
    import pathlib

    fake = pathlib.Path(str(tmp_path)) / "id"
    fake.write_text("#!/bin/sh\necho hijacked\n")
    fake.chmod(0o755)
    engine = engine_factory(command_whitelist=["id -u"])
    process = engine.get("t:native").exec("id -u", env={"PATH": str(tmp_path)})
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert read_all(out).strip().isdigit()


def test_a_blocked_wait_returns_when_cancelled(engine: Engine) -> None:
    process = engine.get("t:native").exec("sleep 30")
    process.start()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        process.wait(cancel=cancel)
    process.close(True)


def test_the_engine_tells_listeners_about_every_process_before_it_starts(engine: Engine) -> None:
    seen: list[Process] = []
    engine.add_listener(seen.append)
    process = engine.get("t:native").exec("true")
    assert seen == [process]
    assert process in engine.processes


def test_shutdown_ends_running_processes_and_closes_unstarted_ones(engine: Engine) -> None:
    running = engine.get("t:native").exec("""sh -c 'trap "" TERM; echo ready; sleep 100'""")
    out = running.stream("stdout")
    running.start()
    assert out.read(timeout=10) == b"ready\n"  # the trap is set: SIGTERM alone cannot end it
    idle = engine.get("t:native").exec("true")
    engine.shutdown(grace=0.2)
    assert running.exit_status is not None and running.exit_status.signal == 9
    with pytest.raises(ExecError, match="process is closed"):
        idle.start()


def test_exit_callbacks_run_once_the_output_has_ended(engine: Engine) -> None:
    process = engine.get("t:native").exec("echo bye")
    done = threading.Event()
    totals: list[int] = []

    def on_exit(p: Process) -> None:
        totals.append(p.buffer("stdout").total)
        done.set()

    process.add_exit_callback(on_exit)
    process.start()
    assert done.wait(10)
    assert totals == [4]
    process.wait()


def test_a_resource_factory_may_register_a_cleanup_that_runs_at_shutdown(engine: Engine) -> None:
    cleaned: list[str] = []

    def factory() -> str:
        engine.scope.add_cleanup(lambda: cleaned.append("done"))
        return "client"

    assert engine.scope.resource("k", factory) == "client"
    assert engine.scope.resource("k", lambda: "other") == "client"
    engine.shutdown()
    assert cleaned == ["done"]


def test_a_process_closed_before_it_started_is_forgotten_by_the_engine(engine: Engine) -> None:
    process = engine.get("t:native").exec("true")
    assert process in engine.processes
    process.close()
    assert process not in engine.processes
    assert process.exit_status is None


def test_a_lone_reader_and_a_subscriber_both_get_every_byte_in_order(engine: Engine) -> None:
    process = engine.get("t:native").exec("seq 1 200000")
    reader = process.stream("stdout")
    seen: list[bytes] = []
    process.subscribe(lambda stream, data: seen.append(data) if stream == "stdout" else None)
    process.start()
    expected = seq_output(1, 200000)
    assert read_all(reader) == expected  # the reader reads the pipe directly: nothing buffered for it
    process.wait()
    assert process.wait_done(10)
    assert b"".join(seen) == expected
    assert process.buffer("stdout").total == len(expected)


class _TwoParts:
    """A writer that pauses after its first part (more than the 1 MiB after which the pipe grows and
    stops reporting direct reads unless someone subscribed) until :meth:`flood` says go, and then
    floods; its lone reader reads the pipe directly on a thread of its own."""

    def __init__(self, engine: Engine) -> None:
        self.process = engine.get("t:native").exec("sh -c 'seq 1 200000; read go; seq 200001 3000000'")
        reader = self.process.stream("stdout")
        self.process.start()
        self.got: list[bytes] = []
        self.thread = threading.Thread(target=lambda: self.got.append(read_all(reader, deadline=60)))
        self.thread.start()
        self.first_part = len(seq_output(1, 200000))
        self.expected = seq_output(1, 3000000)
        self._wait_for(self.first_part, "the first part")

    def flood(self) -> None:
        """Let the writer go on, and return once it is well into the flood."""
        self.process.write_stdin(b"go\n")
        self._wait_for(4 * self.first_part, "the flood")

    def _wait_for(self, total: int, what: str) -> None:
        buffer = self.process.buffer("stdout")
        poll_until(lambda: buffer.total >= total, 30, what, interval=0.001)


def test_subscribers_joining_while_the_lone_reader_reads_the_pipe_get_every_later_byte(engine: Engine) -> None:
    run = _TwoParts(engine)
    quiet: list[bytes] = []  # joins while the writer waits: nothing is in flight
    run.process.subscribe(lambda stream, data: quiet.append(data) if stream == "stdout" else None)
    run.flood()
    busy: list[bytes] = []  # joins while direct reads are in flight
    run.process.subscribe(lambda stream, data: busy.append(data) if stream == "stdout" else None)
    run.thread.join(60)
    assert run.process.wait_done(10)
    assert run.got == [run.expected]
    assert b"".join(quiet) == run.expected[run.first_part:]
    assert busy and run.expected.endswith(b"".join(busy))  # a gap-free tail: nothing lost, nothing twice


def test_a_reader_opened_while_another_reads_the_pipe_directly_gets_a_gap_free_tail(engine: Engine) -> None:
    run = _TwoParts(engine)
    run.flood()
    tail = read_all(run.process.open_reader("stdout"), deadline=60)
    run.thread.join(60)
    run.process.wait()
    assert run.got == [run.expected]
    assert tail and run.expected.endswith(tail)


def test_a_subscriber_sees_what_the_lone_reader_took_while_the_process_still_runs(engine: Engine) -> None:
    # The reader's direct reads reach subscribers in batches; a batch must not wait for the end.
    process = engine.get("t:native").exec("sh -c 'echo hello; read go; echo bye'")
    reader = process.stream("stdout")
    seen: list[bytes] = []
    process.subscribe(lambda stream, data: seen.append(data) if stream == "stdout" else None)
    batches: list[list[bytes]] = []
    process.subscribe_batches(lambda stream, chunks: batches.append(chunks) if stream == "stdout" else None)
    process.start()
    got = b""
    while got != b"hello\n":
        chunk = reader.read(timeout=10)
        assert chunk, "no output"
        got += chunk
    # The reader stops reading; the process waits for its input meanwhile.
    poll_until(lambda: b"".join(seen) == b"hello\n", 10, "the subscriber to see hello", interval=0.005)
    assert b"".join(b"".join(chunks) for chunks in batches) == b"hello\n"
    assert process.running
    process.write_stdin(b"go\n")
    assert read_all(reader) == b"bye\n"
    process.wait()
    assert process.wait_done(10)
    assert b"".join(seen) == b"hello\nbye\n"
    assert b"".join(b"".join(chunks) for chunks in batches) == b"hello\nbye\n"


def test_a_second_reader_turns_direct_reads_off_and_misses_nothing_after_it_came(engine: Engine) -> None:
    process = engine.get("t:native").exec("sh -c 'seq 1 1000; read line; seq 1001 2000'")
    first = process.stream("stdout")
    process.start()
    got = b""
    while not got.endswith(b"1000\n"):
        chunk = first.read(timeout=10)
        assert chunk, "no output"
        got += chunk
    second = process.open_reader("stdout")
    process.write_stdin(b"go\n")
    rest = seq_output(1001, 2000)
    assert read_all(second) == rest
    assert read_all(first) == rest
    process.wait()
