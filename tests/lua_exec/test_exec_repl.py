"""The REPL with exec (make_repl): results, completion, the console's view of its processes, and cancel.

Blocking chunks run on a thread and `print("started")` once they are about to block; the test waits for
that line (bounded), cancels, and joins with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lua_exec.conftest import REPO, STUCK_IN_C, pid_gone
from tui.core.engine import Engine
from tui.core.process import Process, ProcessState
from tui.lua.repl import ReplResult
from tui.lua.session import ExecRepl, make_repl

CANCEL_DEADLINE = 1.0


class Repl:
    """A make_repl session whose print lines signal a waiting test."""

    def __init__(self, engine: Engine) -> None:
        self.started = threading.Event()
        self.repl: ExecRepl = make_repl(engine, self._printed, max_memory=64 * 1024 * 1024)
        self.result: ReplResult | None = None

    def _printed(self, line: str) -> None:
        if line == "started":
            self.started.set()

    def in_background(self, code: str) -> threading.Thread:
        self.started.clear()

        def work() -> None:
            self.result = self.repl.evaluate(code)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        assert self.started.wait(10), "the chunk never reached its blocking call"
        return thread

    def cancel_within_deadline(self, thread: threading.Thread) -> ReplResult:
        begin = time.monotonic()
        self.repl.cancel()
        thread.join(CANCEL_DEADLINE + 1)
        elapsed = time.monotonic() - begin
        assert not thread.is_alive(), "the chunk is still running after cancel"
        assert elapsed < CANCEL_DEADLINE, f"cancel took {elapsed:.2f}s"
        assert self.result is not None and self.result.cancelled, self.result
        return self.result


@pytest.fixture
def session(engine: Engine) -> Iterator[Repl]:
    repl = Repl(engine)
    yield repl
    repl.repl.close()


@pytest.fixture
def created(engine: Engine) -> list[Process]:
    seen: list[Process] = []
    engine.add_listener(seen.append)
    return seen


def _ended(process: Process, deadline: float = 5.0) -> bool:
    return process.wait_exited(deadline)


def test_an_executor_prints_as_a_userdata_type_name(session: Repl) -> None:
    result = session.repl.evaluate('exec.get("t:native")')
    assert result.ok and result.values == ["<userdata: Executor>", "nil"]
    result = session.repl.evaluate('exec.get("t:nope")')
    assert result.values == ["nil", "<userdata: Error>"]
    assert session.repl.evaluate('tostring(select(2, exec.get("t:nope")))').values == ['"resource not found"']
    assert session.repl.evaluate('require("exec") == exec').values == ["true"]


def test_completion_offers_the_methods_of_exec_objects(session: Repl) -> None:
    assert session.repl.evaluate('p = exec.get("t:native"):exec("true")').ok
    assert session.repl.complete("p:st", 4) == ["p:start", "p:stderr_stream", "p:stdout_stream"]
    assert session.repl.complete("exec.g", 6) == ["exec.get"]
    assert session.repl.evaluate('s = p:stdout_stream()').ok
    assert session.repl.complete("s:", 2) == ["s:close", "s:read"]
    assert "errors.INVALID" in session.repl.complete("errors.", 7)


def test_the_console_sees_a_process_started_from_the_repl(session: Repl, created: list[Process]) -> None:
    result = session.repl.evaluate('local p = exec.get("t:native"):exec("echo hi") p:start() return p:wait()')
    assert result.values == ["0", "nil"]
    assert [p.spec.command for p in created] == ["echo hi"]
    assert created[0].spec.source == "lua"
    assert created[0].open_reader("stdout").read(100, timeout=5) == b"hi\n"


def test_cancel_a_blocked_wait(session: Repl, created: list[Process]) -> None:
    thread = session.in_background(
        'local p = exec.get("t:native"):exec("sleep 30.0421") p:start() print("started") p:wait()'
    )
    result = session.cancel_within_deadline(thread)
    assert result.error == "cancelled"
    assert created[0].state is ProcessState.CLOSED and _ended(created[0])


def test_cancel_a_blocked_wait_inside_pcall(session: Repl, created: list[Process]) -> None:
    thread = session.in_background(
        'local p = exec.get("t:native"):exec("sleep 30.0421") p:start() print("started") '
        "while true do pcall(p.wait, p) end"
    )
    session.cancel_within_deadline(thread)
    assert _ended(created[0])


def test_cancel_a_blocked_read(session: Repl, created: list[Process]) -> None:
    thread = session.in_background(
        'local p = exec.get("t:native"):exec("sleep 30.0421") local s = p:stdout_stream() p:start() '
        'print("started") s:read()'
    )
    session.cancel_within_deadline(thread)
    assert created[0].state is ProcessState.CLOSED and _ended(created[0])


def test_cancel_a_blocked_write_stdin(session: Repl, created: list[Process]) -> None:
    # `sleep` never reads its stdin: the write blocks once the pipe is full.
    thread = session.in_background(
        'local p = exec.get("t:native"):exec("sleep 30.0421") p:start() print("started") '
        'p:write_stdin(string.rep("x", 8 * 1024 * 1024))'
    )
    session.cancel_within_deadline(thread)
    assert _ended(created[0])


def test_cancel_ends_only_the_chunks_own_processes_and_reset_ends_the_rest(
    session: Repl, created: list[Process], engine: Engine
) -> None:
    assert session.repl.evaluate('bg = exec.get("t:native"):exec("sleep 30.0421") bg:start()').ok
    thread = session.in_background(
        'local p = exec.get("t:native"):exec("sleep 30.0421") p:start() print("started") while true do end'
    )
    session.cancel_within_deadline(thread)
    background, own = created
    assert _ended(own)
    assert background.running, "a process of an earlier chunk was ended by a later chunk's cancel"
    session.repl.reset()
    assert _ended(background)
    # the fresh session has exec again, over the same engine
    assert session.repl.evaluate('exec.get("t:native"):exec("true"):start()').values == ["true", "nil"]


def test_close_ends_the_sessions_processes(session: Repl, created: list[Process]) -> None:
    assert session.repl.evaluate('p = exec.get("t:native"):exec("sleep 30.0421") p:start()').ok
    assert session.repl.evaluate('q = exec.get("t:native"):exec("sleep 30.0421")').ok
    ex_released = session.repl.evaluate('ex = exec.get("t:native")')
    assert ex_released.ok
    session.repl.close()
    assert _ended(created[0])
    assert created[1].state is ProcessState.CLOSED
    after = session.repl.evaluate("ex:exec('true')")
    assert not after.ok and after.values == [], "a closed session ran a chunk"
    assert len(created) == 2, "a closed session created a process"


@pytest.mark.parametrize("stuck", list(STUCK_IN_C), ids=list(STUCK_IN_C))
def test_cancel_ends_a_chunk_stuck_in_a_c_function_with_its_runtime(
    session: Repl, created: list[Process], stuck: str
) -> None:
    assert session.repl.evaluate("kept = 1").ok
    old_pid = session.repl.worker.pid
    assert old_pid is not None
    thread = session.in_background(
        f'local p = exec.get("t:native"):exec("sleep 30.0421") p:start() print("started") {STUCK_IN_C[stuck]}'
    )
    session.repl.cancel()
    thread.join(10)
    assert not thread.is_alive(), "the stuck chunk still runs after its cancel"
    result = session.result
    assert result is not None and result.cancelled and result.restarted, result
    assert "did not stop" in (result.error or "")
    assert pid_gone(old_pid), "the old Lua runtime still runs"
    assert _ended(created[0]), "the stuck chunk's process outlived it"
    # A fresh session: the globals are gone, exec works again over the same engine.
    assert session.repl.evaluate("kept").values == ["nil"]
    assert session.repl.evaluate('exec.get("t:native"):exec("true"):start()').values == ["true", "nil"]


def test_reset_ends_a_stuck_chunk_at_once(session: Repl) -> None:
    thread = session.in_background(f'print("started") {STUCK_IN_C["find"]}')
    old_pid = session.repl.worker.pid
    assert old_pid is not None
    session.repl.reset()
    thread.join(10)
    assert not thread.is_alive()
    assert pid_gone(old_pid)
    assert session.repl.evaluate("1 + 1").values == ["2"]


def test_a_line_printed_before_a_stuck_c_call_arrives(engine: Engine) -> None:
    lines: list[str] = []
    arrived = threading.Event()

    def printed(line: str) -> None:
        lines.append(line)
        if line == "last words":
            arrived.set()

    repl = make_repl(engine, printed)
    try:
        thread = threading.Thread(target=repl.evaluate, args=(f'print("last words") {STUCK_IN_C["find"]}',),
                                  daemon=True)
        thread.start()
        assert arrived.wait(10), "a line printed before the stuck call never arrived"
        repl.cancel()
        thread.join(10)
        assert not thread.is_alive()
    finally:
        repl.close()


def test_a_runtime_that_dies_is_replaced_by_a_fresh_session(session: Repl) -> None:
    assert session.repl.evaluate("kept = 1").ok
    pid = session.repl.worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    result = session.repl.evaluate("kept")
    assert result.restarted and not result.cancelled and "ended unexpectedly" in (result.error or "")
    assert session.repl.evaluate("kept").values == ["nil"]


def test_close_ends_a_stuck_runtime(session: Repl) -> None:
    thread = session.in_background(f'print("started") {STUCK_IN_C["find"]}')
    pid = session.repl.worker.pid
    assert pid is not None
    session.repl.close()
    thread.join(10)
    assert not thread.is_alive()
    assert pid_gone(pid)


def test_the_runtime_ends_when_the_console_process_is_killed(tmp_path: Path) -> None:
    # A console killed with SIGKILL runs no clean-up: the worker must see it go and end on its own, even
    # while its chunk is stuck inside a C function.
    host = tmp_path / "host.py"
    host.write_text(
        "import sys, threading\n"
        "from tui.core.engine import Engine\n"
        "from tui.core.entries.models import LoadResult\n"
        "from tui.lua.session import make_repl\n"
        "started = threading.Event()\n"
        "repl = make_repl(Engine(LoadResult()), lambda line: started.set())\n"
        f"threading.Thread(target=repl.evaluate, args=({'print(1) ' + STUCK_IN_C['find']!r},), daemon=True).start()\n"
        "started.wait(30)\n"
        "print(repl.worker.pid, flush=True)\n"
        "threading.Event().wait(60)\n"
    )
    proc = subprocess.Popen([sys.executable, str(host)], cwd=REPO, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), f"the host did not start its chunk: {line!r}"
        worker = int(line)
        proc.kill()
        proc.wait(10)
        assert pid_gone(worker), "the Lua runtime outlived the console that was killed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
