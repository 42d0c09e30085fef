"""The process model, whatever the kind: subscribers, readers, time limits, pre-checks, the engine's
listeners and its end. Run on the in-memory kind, whose runs the test steps: no process, and no
waiting on the clock but for the time limits themselves.
What only a real process shows is in test_native_*.py and tests/docker_exec."""

from __future__ import annotations

import signal
import threading

import pytest

from tests.core.support import EngineFactory, memory_entry, read_all
from tui.core.engine import Engine
from tui.core.errors import ErrorKind, ExecError
from tui.core.executors.memory import MemoryKind, MemoryRun
from tui.core.process import Process
from tui.core.streams import Cancelled


@pytest.fixture
def engine(memory_kind: MemoryKind, engine_factory: EngineFactory) -> Engine:
    """An engine with one in-memory executor ``t:memory`` and no configuration."""
    return engine_factory(memory_entry())


def started(engine: Engine, command: str = "anything", **options: object) -> tuple[Process, MemoryRun]:
    process = engine.get("t:memory").exec(command, **options)  # type: ignore[arg-type]
    process.start()
    run = process.backend
    assert isinstance(run, MemoryRun)
    return process, run


def test_a_subscriber_sees_both_streams_in_arrival_order(engine: Engine) -> None:
    process = engine.get("t:memory").exec("talk")
    seen: list[tuple[str, bytes]] = []
    process.subscribe(lambda stream, data: seen.append((stream, data)))
    process.start()
    run = process.backend
    assert isinstance(run, MemoryRun)
    run.out("1\n")
    run.err("2\n")
    run.out("3\n")
    run.err("4\n")
    run.exit(0)
    assert process.wait().code == 0
    assert seen == [("stdout", b"1\n"), ("stderr", b"2\n"), ("stdout", b"3\n"), ("stderr", b"4\n")]


def test_a_late_subscriber_gets_the_retained_output_replayed_in_arrival_order(engine: Engine) -> None:
    process, run = started(engine)
    run.out("out\n")
    run.err("err\n")
    run.out("more\n")
    run.exit(0)
    process.wait()
    seen: list[tuple[str, bytes]] = []
    process.subscribe(lambda stream, data: seen.append((stream, data)))
    assert seen == [("stdout", b"out\n"), ("stderr", b"err\n"), ("stdout", b"more\n")]


def test_reading_from_one_reader_takes_nothing_from_another(engine: Engine) -> None:
    process = engine.get("t:memory").exec("anything")
    lua_stream = process.stream("stdout")
    console = process.open_reader("stdout")
    process.start()
    run = process.backend
    assert isinstance(run, MemoryRun)
    chunks = [f"{i}\n".encode() for i in range(1, 1001)]
    for chunk in chunks:
        run.out(chunk)
    run.exit(0)
    assert read_all(lua_stream) == b"".join(chunks)
    assert read_all(console) == b"".join(chunks)
    process.wait()


def test_the_same_stream_object_is_returned_twice(engine: Engine) -> None:
    process = engine.get("t:memory").exec("anything")
    assert process.stream("stdout") is process.stream("stdout")
    assert process.stream("stderr") is not process.stream("stdout")


def test_output_can_be_read_before_and_after_start_and_after_wait(engine: Engine) -> None:
    process = engine.get("t:memory").exec("anything")
    out = process.stream("stdout")
    assert out.read(timeout=0) == b""
    process.start()
    run = process.backend
    assert isinstance(run, MemoryRun)
    run.out("early\n")
    assert out.read(timeout=0) == b"early\n"
    run.out("late\n")
    run.exit(0)
    process.wait()
    assert read_all(out) == b"late\n"


def test_a_time_limit_ends_the_run_with_sigterm_and_says_so(engine: Engine) -> None:
    process, run = started(engine, timeout=0.3)
    status = process.wait()
    assert run.signals == [signal.SIGTERM]
    assert status.timed_out and status.signal == signal.SIGTERM
    assert status.shell_code == 124
    assert status.describe() == "timed out after 0.3s"


def test_a_time_limit_kills_a_run_that_ignores_sigterm(engine: Engine) -> None:
    process = engine.get("t:memory").exec("stubborn", timeout=0.2)
    run = process.backend
    assert isinstance(run, MemoryRun)
    run.ignore(signal.SIGTERM)
    process.start()
    status = process.wait()
    assert run.signals == [signal.SIGTERM, signal.SIGKILL]
    assert status.timed_out and status.signal == signal.SIGKILL


def test_a_non_positive_time_limit_is_invalid(engine: Engine) -> None:
    with pytest.raises(ExecError, match="timeout must be a positive"):
        engine.get("t:memory").exec("true", timeout=0)


def test_a_run_that_ends_before_its_time_limit_is_not_signalled(engine: Engine) -> None:
    process, run = started(engine, timeout=30)
    run.exit(3)
    status = process.wait()
    assert (status.code, status.timed_out, run.signals) == (3, False, [])


@pytest.mark.parametrize("name", ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES"])
def test_loader_variables_are_refused_on_whitelisted_executors(
    memory_kind: MemoryKind, engine_factory: EngineFactory, name: str
) -> None:
    engine = engine_factory(memory_entry(command_whitelist=["env"]))
    with pytest.raises(ExecError) as caught:
        engine.get("t:memory").exec("env", env={name: "/tmp/evil.so"})
    assert caught.value.kind is ErrorKind.INVALID
    assert name in caught.value.message
    assert caught.value.details["variable"] == name
    assert memory_kind.runs == [], "refused before anything was made"


def test_loader_variables_are_allowed_where_any_command_may_run_anyway(engine: Engine) -> None:
    _, run = started(engine, "env", env={"LD_LIBRARY_PATH": "/nowhere"})
    assert run.env == {"LD_LIBRARY_PATH": "/nowhere"}
    run.exit(0)


def test_a_blocked_wait_returns_when_cancelled(engine: Engine) -> None:
    process, run = started(engine)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        process.wait(cancel=cancel)
    process.close(True)
    assert run.signals == [signal.SIGKILL]


def test_the_engine_tells_listeners_about_every_process_before_it_starts(engine: Engine) -> None:
    seen: list[Process] = []
    engine.add_listener(seen.append)
    process = engine.get("t:memory").exec("true")
    assert seen == [process]
    assert process in engine.processes
    assert process.started_at is None


def test_a_process_is_forgotten_by_the_engine_once_it_ended_and_its_output_too(engine: Engine) -> None:
    process, run = started(engine)
    run.exit(0, end_output=False)
    assert process in engine.processes, "its output has not ended yet"
    run.end_output()
    assert process not in engine.processes


def test_shutdown_ends_running_processes_and_closes_unstarted_ones(engine: Engine) -> None:
    running, run = started(engine, "stubborn")
    run.ignore(signal.SIGTERM)
    idle = engine.get("t:memory").exec("true")
    engine.shutdown(grace=0.2)
    assert run.signals == [signal.SIGTERM, signal.SIGKILL]
    assert running.exit_status is not None and running.exit_status.signal == signal.SIGKILL
    with pytest.raises(ExecError, match="process is closed"):
        idle.start()


def test_exit_callbacks_run_once_the_run_ended_and_its_output_too(engine: Engine) -> None:
    process, run = started(engine)
    totals: list[int] = []
    process.add_exit_callback(lambda p: totals.append(p.buffer("stdout").total))
    run.out("bye\n")
    run.exit(0, end_output=False)
    assert totals == [], "the output has not ended"
    run.end_output()
    assert totals == [4]
    late: list[Process] = []
    process.add_exit_callback(late.append)
    assert late == [process], "a callback added after the end runs at once"


def test_a_broken_exit_callback_does_not_hide_the_end_from_the_others(engine: Engine) -> None:
    process, run = started(engine)
    seen: list[str] = []

    def broken(_: Process) -> None:
        raise RuntimeError("a bug in one observer")

    process.add_exit_callback(broken)
    process.add_exit_callback(lambda _: seen.append("told"))
    run.exit(0)
    assert seen == ["told"]


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
    process = engine.get("t:memory").exec("true")
    assert process in engine.processes
    process.close()
    assert process not in engine.processes
    assert process.exit_status is None


def test_a_failed_start_is_an_internal_error_and_the_process_stays_unusable(engine: Engine) -> None:
    process = engine.get("t:memory").exec("missing")
    run = process.backend
    assert isinstance(run, MemoryRun)
    run.fail_launch('exec: "missing": executable file not found in $PATH')
    with pytest.raises(ExecError) as caught:
        process.start()
    assert caught.value.kind is ErrorKind.INTERNAL
    assert process.exit_status is not None and process.exit_status.error == caught.value.message
    with pytest.raises(ExecError, match="process already started"):
        process.start()
    with pytest.raises(ExecError, match="process is not running"):
        process.signal(signal.SIGTERM)
    assert process not in engine.processes


def test_a_signal_has_the_effect_the_run_gives_it(engine: Engine) -> None:
    process, run = started(engine)

    def interrupted(run: MemoryRun, signum: int) -> None:
        run.out("bye\n")
        run.exit(130)

    run.on_signal(signal.SIGINT, interrupted)
    process.signal(signal.SIGINT)
    status = process.wait()
    assert (status.code, status.signal) == (130, None)
    assert read_all(process.open_reader("stdout")) == b"bye\n"
    assert status.lua_code == 130


def test_a_signal_death_is_minus_one_to_lua_and_128_plus_n_to_the_shell(engine: Engine) -> None:
    process, _ = started(engine)
    process.signal(signal.SIGTERM)
    status = process.wait()
    assert (status.lua_code, status.shell_code, status.describe()) == (-1, 143, "killed by SIGTERM")


def test_signalling_an_ended_run_is_an_error(engine: Engine) -> None:
    process, run = started(engine)
    run.exit(0)
    with pytest.raises(ExecError, match="already finished"):
        process.signal(signal.SIGTERM)


def test_stdin_reaches_the_run_and_an_empty_write_ends_it(engine: Engine) -> None:
    process, run = started(engine, "cat")
    process.write_stdin(b"a\n")
    process.write_stdin(b"b\n")
    assert (run.stdin, run.stdin_closed) == (b"a\nb\n", False)
    process.write_stdin(b"")
    assert run.stdin_closed
    with pytest.raises(ExecError, match="stdin is closed"):
        process.write_stdin(b"late\n")



class _Interrupted(BaseException):
    """What a signal handler of the command line raises in the thread that is starting a run."""


def test_a_start_cut_short_after_the_launch_began_ends_what_it_started(
        memory_kind: MemoryKind, engine: Engine) -> None:
    def interrupt(run: MemoryRun) -> None:
        raise _Interrupted()

    memory_kind.on_launch = interrupt
    process = engine.get("t:memory").exec("anything")
    with pytest.raises(_Interrupted):
        process.start()
    run = process.backend
    assert isinstance(run, MemoryRun)
    assert run.signals == [signal.SIGKILL], "the half-started run was not ended"
    assert process.wait_done(5), "the process never ended"
    assert process.start_error is not None and process.start_error.message == "interrupted while starting"
    engine.shutdown(grace=0.1, wait=1)
    assert engine.processes == []
