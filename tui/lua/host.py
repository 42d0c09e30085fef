"""Where Lua runs: a worker process (:class:`LuaWorker`) or a thread of this process (:class:`LocalLua`).

Both drive a :class:`~tui.lua.commands.LuaSession` whose ``exec`` calls an
:class:`~tui.lua.exec_service.ExecService` over the engine of this process, and both keep one contract:

* **One command at a time.** :meth:`LuaHost.command` sends one and blocks until its result; a second
  caller waits for the first (or, with ``wait_turn`` false, gets :class:`WorkerBusy`).
* **A cancel always ends the command.** :meth:`LuaHost.cancel` (any thread) makes the service's blocking
  calls answer "cancelled" and asks the sandbox's hook to stop the chunk (again every 0.1 s, in case the
  chunk had not started yet). A chunk that has not ended :data:`CANCEL_DEADLINE` seconds later is inside
  a C function that no hook reaches (a backtracking ``string.find`` on a long subject):
  :meth:`LuaHost.command` raises :class:`WorkerStopped` with ``stuck`` set. The chunk's processes are
  the caller's to end (:meth:`ExecService.close`).

What differs is what "stuck" costs. A :class:`LuaWorker` kills its process, so nothing of the chunk runs on:
the console's REPL runs there. A :class:`LocalLua` cannot stop the thread, which is left behind: only a
process that ends right after may use it, which is what ``execdeck lua`` does (its channel-free calls
keep a script's ``exec`` as fast as the engine itself).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.lua.channel import Channel, ChannelClosed
from tui.lua.commands import LuaSession
from tui.lua.exec_service import ExecService
from tui.lua.worker import GEN

CANCEL_DEADLINE = 0.5
"""Seconds a cancelled chunk has to end by itself before it counts as stuck."""

START_DEADLINE = 30.0
"""Seconds a new worker has to say it is ready (an interpreter start and lupa's import, on a busy machine)."""

_RESEND = 0.1
_POLL = 0.05
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

# Starts the worker with the interpreter's isolated mode (no user site, no PYTHON* variables, not the
# current folder on the path), finding this package where this process found it.
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from tui.lua.worker import main; sys.exit(main(sys.argv[2:]))"
)

PrintLines = Callable[[list[str]], None]


class WorkerStopped(Exception):
    """The command ended without a result: its chunk did not stop when cancelled (``stuck``), or the
    worker process ended on its own (a crash). The message says which, for a person."""

    def __init__(self, message: str, *, stuck: bool) -> None:
        super().__init__(message)
        self.stuck = stuck


class WorkerBusy(Exception):
    """Another command is in progress (see ``wait_turn``)."""


class _Pending:
    def __init__(self, gen: int) -> None:
        self.gen = gen
        self.done = threading.Event()
        self.result: Any = None
        self.failure: WorkerStopped | None = None

    def finish(self, result: Any) -> None:
        self.result = result
        self.done.set()

    def fail(self, failure: WorkerStopped) -> None:
        if not self.done.is_set():
            self.failure = failure
            self.done.set()


def _stuck(deadline: float, what: str) -> WorkerStopped:
    return WorkerStopped(
        f"the chunk did not stop within {deadline:g} s of the cancel (it was inside a library function such "
        f"as a long string.find), so {what}",
        stuck=True,
    )


class LuaHost:
    """The shared half of :class:`LuaWorker` and :class:`LocalLua` (see the module docstring).

    ``options`` go to the :class:`~tui.lua.commands.LuaSession`. ``on_print(lines)`` gets the ``print``
    output, on a thread of the host's.
    """

    def __init__(self, service: ExecService, options: dict[str, Any], on_print: PrintLines | None = None, *,
                 cancel_deadline: float = CANCEL_DEADLINE) -> None:
        self.service = service
        self._options = options
        self._on_print = on_print
        self._cancel_deadline = cancel_deadline
        self._command_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._gen = 0
        self._pending: _Pending | None = None
        self._cancel_at: float | None = None
        self._killed = False

    def command(self, op: str, *args: Any, cancel_if: Callable[[], bool] | None = None,
                timeout: float | None = None, wait_turn: bool = True) -> Any:
        """Run one command (see :mod:`tui.lua.commands`) and return its result.

        ``cancel_if`` is polled every 50 ms; when it answers true the command is cancelled, as it is after
        ``timeout`` seconds. With ``wait_turn`` false, a command already in progress makes this one raise
        :class:`WorkerBusy` at once. Raises :class:`WorkerStopped` (see there).
        """
        if not self._command_lock.acquire(blocking=wait_turn):
            raise WorkerBusy()
        try:
            self._prepare()
            with self._state_lock:
                if self._killed:
                    raise WorkerStopped("the Lua runtime was ended", stuck=False)
                self._gen += 1
                pending = self._pending = _Pending(self._gen)
                self._cancel_at = None
            self.service.cancel_event.clear()
            self._begin(pending, op, args)
            return self._wait(pending, cancel_if, None if timeout is None else time.monotonic() + timeout)
        finally:
            with self._state_lock:
                self._pending = None
                self._cancel_at = None
            self._command_lock.release()

    def cancel(self) -> None:
        """Cancel the command in progress (any thread; nothing happens when none runs)."""
        with self._state_lock:
            pending = self._pending
            if pending is None or pending.done.is_set():
                return
            if self._cancel_at is None:
                self._cancel_at = time.monotonic()
        self.service.cancel_event.set()
        self._cancel_chunk(pending.gen)

    def kill(self) -> None:
        """End the host for good (idempotent, any thread); a command in progress raises
        :class:`WorkerStopped`, and no ``print`` output is passed on after this returns."""
        with self._state_lock:
            if self._killed:
                return
            self._killed = True
            pending = self._pending
        self._end()
        if pending is not None:
            pending.fail(WorkerStopped("the Lua runtime was ended", stuck=False))

    @property
    def stopped(self) -> bool:
        """Whether the host can take no more commands."""
        return self._killed

    def _wait(self, pending: _Pending, cancel_if: Callable[[], bool] | None, timeout_at: float | None) -> Any:
        last_sent = 0.0
        while not pending.done.wait(_POLL):
            now = time.monotonic()
            if (cancel_if is not None and cancel_if()) or (timeout_at is not None and now >= timeout_at):
                self.cancel()
            cancel_at = self._cancel_at
            if cancel_at is None:
                continue
            if now - cancel_at >= self._cancel_deadline:
                failure = self._stuck_failure()
                self.kill()
                pending.failure = failure
                pending.done.set()
                break
            if now - last_sent >= _RESEND:
                last_sent = now
                self._cancel_chunk(pending.gen)
        if pending.failure is not None:
            raise pending.failure
        return pending.result

    def _print(self, lines: list[str]) -> None:
        # Not under a lock: ``on_print`` may block (a command line's stdout behind a slow reader), and a
        # kill must never wait for that.
        if not self._killed and self._on_print is not None:
            self._on_print(lines)

    # -- what each host does its own way ---------------------------------------------------------------

    def _prepare(self) -> None:
        """Be ready for a command (start a worker); raise :class:`WorkerStopped` if that fails."""

    def _begin(self, pending: _Pending, op: str, args: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def _cancel_chunk(self, gen: int) -> None:
        raise NotImplementedError

    def _stuck_failure(self) -> WorkerStopped:
        raise NotImplementedError

    def _end(self) -> None:
        """Release what the host holds (called once, by :meth:`kill`)."""


class LocalLua(LuaHost):
    """A Lua session on a thread of this process: for a process that ends after its commands (see the
    module docstring). A stuck chunk's thread is left running; :meth:`kill` only disowns it."""

    def __init__(self, service: ExecService, options: dict[str, Any], on_print: PrintLines | None = None, *,
                 cancel_deadline: float = CANCEL_DEADLINE) -> None:
        super().__init__(service, options, on_print, cancel_deadline=cancel_deadline)
        self._session = LuaSession(options, service.call, service.notify, lambda line: self._print([line]))

    def _begin(self, pending: _Pending, op: str, args: tuple[Any, ...]) -> None:
        def run() -> None:
            try:
                pending.finish(self._session.dispatch(op, args))
            except Exception as exc:  # noqa: BLE001 - said to the caller, without a traceback
                pending.fail(WorkerStopped(f"the Lua runtime failed: {type(exc).__name__}: {exc}", stuck=False))

        threading.Thread(target=run, name=f"lua-{op}", daemon=True).start()

    def _cancel_chunk(self, gen: int) -> None:
        self._session.cancel()

    def _stuck_failure(self) -> WorkerStopped:
        return _stuck(self._cancel_deadline, "it was abandoned")


class LuaWorker(LuaHost):
    """A Lua session in a worker process of its own (:mod:`tui.lua.worker`), served by a thread here
    (``lua-serve``). Killing it ends the process (SIGKILL) and reaps it; the worker also ends by itself
    the moment this process goes away (it watches a pipe whose only writer is here)."""

    def __init__(self, service: ExecService, options: dict[str, Any], on_print: PrintLines | None = None, *,
                 cancel_deadline: float = CANCEL_DEADLINE) -> None:
        super().__init__(service, options, on_print, cancel_deadline=cancel_deadline)
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: Channel | None = None
        self._control: int | None = None
        self._ready = threading.Event()
        self._gone: WorkerStopped | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id once started."""
        return self._process.pid if self._process is not None else None

    @property
    def ready(self) -> bool:
        """Whether the worker has started and said it is ready."""
        return self._ready.is_set() and not self.stopped

    @property
    def stopped(self) -> bool:
        return self._killed or self._gone is not None

    def start(self) -> None:
        """Start the process and wait until it is ready (idempotent). Raises :class:`WorkerStopped` when it
        cannot start, dies first, or is killed meanwhile."""
        with self._state_lock:
            if self._killed:
                raise WorkerStopped("the Lua runtime was ended", stuck=False)
            if self._process is None:
                self._spawn()
        deadline = time.monotonic() + START_DEADLINE
        while not self._ready.is_set():
            if self._gone is not None:
                raise self._gone
            if self._killed:
                raise WorkerStopped("the Lua runtime was ended", stuck=False)
            if time.monotonic() >= deadline:
                self.kill()
                raise WorkerStopped(f"the Lua runtime did not start within {START_DEADLINE:g} s", stuck=False)
            self._ready.wait(_POLL)

    def _spawn(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        control_read, control_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, _PACKAGE_ROOT, str(child.fileno()), str(control_read)],
                pass_fds=(child.fileno(), control_read),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={}, start_new_session=True,
            )
        except OSError as exc:
            parent.close()
            os.close(control_write)
            raise WorkerStopped(f"the Lua runtime could not start: {exc.strerror or exc}", stuck=False) from None
        finally:
            child.close()
            os.close(control_read)
        self._channel = Channel(parent)
        self._control = control_write
        self._channel.send(("init", self._options))
        threading.Thread(target=self._serve, name="lua-serve", daemon=True).start()

    def _prepare(self) -> None:
        self.start()
        if self._gone is not None:
            raise self._gone

    def _begin(self, pending: _Pending, op: str, args: tuple[Any, ...]) -> None:
        channel = self._channel
        assert channel is not None
        try:
            channel.send((op, pending.gen, *args))
        except ChannelClosed:
            pending.fail(self._gone or WorkerStopped("the Lua runtime ended unexpectedly", stuck=False))

    def _cancel_chunk(self, gen: int) -> None:
        control = self._control
        if control is None:
            return
        with contextlib.suppress(OSError):
            os.write(control, GEN.pack(gen))

    def _stuck_failure(self) -> WorkerStopped:
        return _stuck(self._cancel_deadline, "the Lua runtime was ended")

    def _end(self) -> None:
        with self._state_lock:
            process, channel, control = self._process, self._channel, self._control
            self._control = None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
        if control is not None:
            os.close(control)
        if channel is not None:
            channel.close()
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)

    def _serve(self) -> None:
        """The serving thread: answers the worker's calls, passes on its output, takes its results."""
        channel = self._channel
        assert channel is not None
        service = self.service
        reason = "the Lua runtime ended unexpectedly"
        try:
            while True:
                message = channel.receive()
                kind = message[0]
                if kind == "call":
                    status, value, error = service.handle(message[1], message[2:])
                    channel.send(("ret", status, value, error))
                elif kind == "print":
                    self._print(message[1])
                elif kind == "drop":
                    service.handle("drop", (message[1],))
                elif kind == "done":
                    pending = self._pending
                    if pending is not None and pending.gen == message[1]:
                        pending.finish(message[2])
                elif kind == "failed":
                    reason = f"the Lua runtime failed: {message[2]}"
                    break
                elif kind == "ready":
                    self._ready.set()
        except ChannelClosed:
            pass
        except Exception as exc:  # noqa: BLE001 - a broken worker ends; the console keeps going
            reason = f"the Lua runtime failed: {type(exc).__name__}: {exc}"
        gone = WorkerStopped(reason, stuck=False)
        with self._state_lock:
            if self._killed:
                return
            self._gone = gone
            pending = self._pending
        if pending is not None:
            pending.fail(gone)
        self.kill()
