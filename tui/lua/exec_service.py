"""The console's half of the Lua ``exec`` module: the engine objects that a Lua worker's handles name.

A Lua worker (:mod:`tui.lua.worker`) holds only integer references; every operation arrives here as
``handle(op, args)`` on the thread that reads the worker's channel, runs against the :class:`Engine`,
and answers ``(status, value, error)`` with plain values (an error is ``(kind, message, details,
retryable)``). Whatever the engine raises is an answer, never an exception.

What one :class:`ExecService` owns (one per script run or REPL session):

* the executors and processes its worker asked for, until the worker says Lua let go of them (``drop``);
* which processes are still going, so that :meth:`end_processes` can end those of a cancelled chunk (and
  any process whose ``wait()`` the cancel interrupted: ``wait()`` had already closed it) while the
  processes of earlier chunks keep running, and :meth:`close` ends them all.

Blocking operations (``wait``, ``read``, ``write_stdin``) wait on :attr:`ExecService.cancel_event`, which
the host sets when it cancels the running chunk; they then answer ``CANCELLED`` within 0.1 s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tui.core.engine import Engine
from tui.core.errors import ExecError, internal, invalid
from tui.core.executors.base import Executor
from tui.core.process import KILL_GRACE, Process, finish_off
from tui.core.streams import Cancelled, StreamReader

OK, CANCELLED = 0, 2

WireError = tuple[str, str, dict[str, str], bool]
Answer = tuple[int, Any, WireError | None]


def error_to_wire(err: ExecError) -> WireError:
    """An :class:`ExecError` as plain values for the channel."""
    return (err.kind.value, err.message, dict(err.details), bool(err.retryable))


class ExecService:
    """The engine objects of one Lua session, by reference. Thread-safe (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cancel_event = threading.Event()
        """Set while the host cancels the running chunk: blocking operations answer ``CANCELLED``."""
        self._lock = threading.Lock()
        self._next_ref = 0
        self._executors: dict[int, Executor] = {}
        self._processes: dict[int, Process] = {}
        # Per process reference: its stream readers' references, so a drop frees them too.
        self._streams: dict[int, StreamReader] = {}
        self._stream_refs: dict[tuple[int, str], int] = {}
        # Processes not yet seen to end, by reference (references grow, so they order creation).
        self._live: dict[int, Process] = {}
        # Processes whose wait() a cancel interrupted: closed, and they must not outlive the chunk.
        self._interrupted: dict[int, Process] = {}
        self._closed = False
        self._ops: dict[str, Callable[..., Any]] = {
            "get": self._get, "exec": self._exec, "release": self._release, "start": self._start,
            "wait": self._wait, "signal": self._signal, "write_stdin": self._write_stdin,
            "stream": self._stream, "close": self._close_process, "read": self._read,
            "stream_close": self._stream_close, "drop": self._drop,
        }

    # -- the channel's entry point -------------------------------------------------------------

    def handle(self, op: str, args: tuple[Any, ...]) -> Answer:
        """Run one operation; never raises (an unknown operation or a bad argument is an error answer)."""
        method = self._ops.get(op)
        if method is None:
            return (OK, None, error_to_wire(internal(f"internal error: unknown operation {op!r}")))
        try:
            return (OK, method(*args), None)
        except Cancelled:
            return (CANCELLED, None, None)
        except ExecError as err:
            return (OK, None, error_to_wire(err))
        except Exception as exc:  # noqa: BLE001 - the worker gets an answer whatever happens here
            return (OK, None, error_to_wire(internal(f"internal error: {type(exc).__name__}: {exc}")))

    def call(self, op: str, *args: Any) -> Answer:
        """:meth:`handle` with the arguments spread: the ``call`` of a Lua session in this process."""
        return self.handle(op, args)

    def notify(self, op: str, *args: Any) -> None:
        """:meth:`handle` for what needs no answer: the ``notify`` of a Lua session in this process."""
        self.handle(op, args)

    # -- lifetime --------------------------------------------------------------------------------

    @property
    def processes(self) -> list[Process]:
        """Processes of this session that have not been seen to end."""
        with self._lock:
            return list(self._live.values())

    def checkpoint(self) -> int:
        """A mark of "now": :meth:`end_processes` with it ends only the processes created after it."""
        with self._lock:
            return self._next_ref

    def end_processes(self, since: int = 0, *, grace: float = KILL_GRACE, block: bool = True) -> None:
        """End the processes created after ``since`` (and those whose ``wait()`` was cancelled).

        Unstarted ones are closed; running ones get SIGTERM and, ``grace`` seconds later if still going,
        SIGKILL (the whole group or container). With ``block`` false the SIGKILL step runs on a thread of
        its own, so that the caller returns at once.
        """
        with self._lock:
            chosen = [p for ref, p in self._live.items() if ref > since]
            chosen += [p for p in self._interrupted.values() if p not in chosen]
            self._interrupted.clear()
        for process in chosen:
            process.close(False)
        live = [p for p in chosen if p.started_at is not None]
        if not live:
            return
        if block:
            finish_off(live, grace)
        else:
            threading.Thread(target=finish_off, args=(live, grace), name="lua-end-processes", daemon=True).start()

    def close(self, *, grace: float = KILL_GRACE, block: bool = True) -> None:
        """The session ends: release every executor handed out, end every process still going (idempotent)."""
        with self._lock:
            self._closed = True
            executors = list(self._executors.values())
        for executor in executors:
            executor.release()
        self.end_processes(0, grace=grace, block=block)

    # -- helpers -------------------------------------------------------------------------------------

    def _new_ref(self) -> int:
        with self._lock:
            self._next_ref += 1
            return self._next_ref

    def _executor(self, ref: int) -> Executor:
        executor = self._executors.get(ref)
        if executor is None:
            raise invalid("executor is released")
        return executor

    def _process(self, ref: int) -> Process:
        process = self._processes.get(ref)
        if process is None:
            raise invalid("process is closed")
        return process

    def _forget(self, ref: int) -> Callable[[Process], None]:
        def forget(_process: Process) -> None:
            with self._lock:
                self._live.pop(ref, None)

        return forget

    # -- operations ------------------------------------------------------------------------------

    def _get(self, entry_id: str) -> int:
        executor = self.engine.get(entry_id)
        ref = self._new_ref()
        with self._lock:
            if self._closed:
                executor.release()  # a late call of a session that is ending gets nothing that lasts
            self._executors[ref] = executor
        return ref

    def _exec(self, executor_ref: int, command: str, work_dir: str | None, env: dict[str, str] | None,
              timeout: float | None) -> int:
        process = self._executor(executor_ref).exec(command, work_dir=work_dir, env=env, timeout=timeout,
                                                    source="lua")
        ref = self._new_ref()
        with self._lock:
            self._processes[ref] = process
            self._live[ref] = process
            closed = self._closed
        process.add_exit_callback(self._forget(ref))
        if closed:
            process.close(True)
        return ref

    def _release(self, executor_ref: int) -> bool:
        executor = self._executors.get(executor_ref)
        return True if executor is None else executor.release()

    def _start(self, ref: int) -> bool:
        self._process(ref).start()
        return True

    def _wait(self, ref: int) -> int:
        process = self._process(ref)
        try:
            status = process.wait(cancel=self.cancel_event)
        except Cancelled:
            # wait() already closed it: nothing in Lua can reach it again, so it must not outlive the run.
            with self._lock:
                self._interrupted[ref] = process
            raise
        return status.lua_code

    def _signal(self, ref: int, signum: int) -> bool:
        self._process(ref).signal(signum)
        return True

    def _write_stdin(self, ref: int, data: bytes) -> bool:
        cancel = self.cancel_event
        self._process(ref).write_stdin(data, cancel=cancel)
        if cancel.is_set():
            raise Cancelled()
        return True

    def _stream(self, ref: int, name: str) -> int:
        reader = self._process(ref).stream("stdout" if name == "stdout" else "stderr")
        with self._lock:
            known = self._stream_refs.get((ref, name))
            if known is not None and self._streams.get(known) is reader:
                return known
        stream_ref = self._new_ref()
        with self._lock:
            self._streams[stream_ref] = reader
            self._stream_refs[(ref, name)] = stream_ref
        return stream_ref

    def _close_process(self, ref: int, force: bool) -> bool:
        process = self._process(ref)
        process.close(force)
        if process.started_at is None:
            with self._lock:
                self._live.pop(ref, None)  # never started: it will never report an end
        return True

    def _reader(self, ref: int) -> StreamReader:
        reader = self._streams.get(ref)
        if reader is None:
            raise invalid("stream is closed")
        return reader

    def _read(self, ref: int, size: int) -> bytes | None:
        return self._reader(ref).read(size, cancel=self.cancel_event)

    def _stream_close(self, ref: int) -> bool:
        self._reader(ref).close()
        return True

    def _drop(self, refs: list[int]) -> None:
        """Lua let go of these handles: forget them. A running process keeps running (the console still
        shows it, and the session's end ends it); one never started can never start now: it is closed."""
        unstarted: list[Process] = []
        with self._lock:
            for ref in refs:
                self._executors.pop(ref, None)
                process = self._processes.pop(ref, None)
                if process is None:
                    continue
                for name in ("stdout", "stderr"):
                    stream_ref = self._stream_refs.pop((ref, name), None)
                    if stream_ref is not None:
                        self._streams.pop(stream_ref, None)
                if process.started_at is None:
                    self._live.pop(ref, None)
                    unstarted.append(process)
        for process in unstarted:
            process.close()
