"""The console's REPL with the ``exec`` module: :func:`make_repl`.

The Lua of a REPL session runs in a worker process (:mod:`tui.lua.host`); processes it starts are
created through the console's own :class:`Engine`, so the console sees them through
``engine.add_listener`` like any other run. What a session owns ends with it:

* a chunk that is cancelled ends the processes it created (and any process whose ``wait()`` it was
  blocked in, which ``wait()`` had already closed); processes of earlier chunks keep running;
* a chunk that does not stop when cancelled (stuck inside a C function) costs the session: its worker is
  killed, and, as for :meth:`ExecRepl.reset`, a fresh session replaces it: the old one's executors are
  released and every process it started is ended;
* :meth:`ExecRepl.close` does the same for the current session (the console calls it when it exits).

At the prompt ``exec`` is also a global (``require("exec")`` works too, and returns the same table).

No step here waits for a process to end: ending processes (SIGTERM, then SIGKILL after a grace) runs
on a background thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from tui.core.engine import Engine
from tui.lua.exec_service import ExecService
from tui.lua.host import LuaWorker, WorkerBusy, WorkerStopped
from tui.lua.pretty import PrettyOptions
from tui.lua.repl import CHUNKNAME, ReplResult, chunk_is_complete
from tui.lua.runtime import DEFAULT_MAX_MEMORY, LuaSandbox

COMPLETION_TIMEOUT = 1.0
"""Seconds a completion may take in the worker before it is given up (the editor waits for it)."""


class ExecRepl:
    """A REPL session whose Lua runs in a worker process, with ``exec`` over ``engine``.

    ``evaluate`` blocks until the chunk ends (call it from a worker thread); ``cancel``, ``reset`` and
    ``close`` may be called from any thread; ``is_complete`` only compiles, here, and never waits for the
    worker; ``complete`` asks the worker and gives up after :data:`COMPLETION_TIMEOUT`.
    ``on_print(line)`` gets the ``print`` lines of the current session's chunks, on a background thread.
    """

    def __init__(
        self,
        engine: Engine,
        on_print: Callable[[str], None] | None = None,
        *,
        max_memory: int = DEFAULT_MAX_MEMORY,
        module_dir: str | None = None,
        pretty_options: PrettyOptions | None = None,
    ) -> None:
        self.engine = engine
        self._on_print = on_print
        self._options: dict[str, Any] = {
            "repl": True, "max_memory": max_memory, "module_dir": module_dir,
            "pretty": asdict(pretty_options or PrettyOptions()),
        }
        self._lock = threading.Lock()
        self._closed = False
        # Compiles only (never runs a chunk): tells a complete chunk from one that needs more lines.
        self._compiler = LuaSandbox(max_memory=max_memory)
        self._compiler_lock = threading.Lock()
        self._worker = self._new_worker()

    @property
    def worker(self) -> LuaWorker:
        """The current session's worker (replaced by :meth:`reset`)."""
        return self._worker

    def _new_worker(self) -> LuaWorker:
        holder: list[LuaWorker] = []

        def forward(lines: list[str]) -> None:
            # Only the current session's lines: a reset must not let the old chunk's output through.
            with self._lock:
                if not holder or holder[0] is not self._worker or self._on_print is None:
                    return
                for line in lines:
                    self._on_print(line)

        worker = LuaWorker(ExecService(self.engine), dict(self._options), forward)
        holder.append(worker)
        # Started in the background: the console's first paint does not wait for an interpreter.
        threading.Thread(target=self._prestart, args=(worker,), name="lua-start", daemon=True).start()
        return worker

    @staticmethod
    def _prestart(worker: LuaWorker) -> None:
        with contextlib.suppress(WorkerStopped):  # said by the first command that needs the worker
            worker.start()

    def evaluate(self, text: str) -> ReplResult:
        """Run one input (see :meth:`tui.lua.repl.ReplEngine.evaluate`). A chunk stuck past its cancel, or a
        worker that died, gives a result with ``restarted`` set: the session was replaced by a fresh one."""
        worker = self._worker
        mark = worker.service.checkpoint()
        try:
            values, error, traceback, cancelled = worker.command("evaluate", text)
        except WorkerStopped as stopped:
            self._replace(worker)
            return ReplResult(error=str(stopped), cancelled=stopped.stuck, restarted=True)
        result = ReplResult(values=list(values), error=error, traceback=traceback, cancelled=bool(cancelled))
        if result.cancelled:
            worker.service.end_processes(mark, block=False)
        return result

    def is_complete(self, text: str) -> bool:
        """False when the input only needs more lines (Lua's compile error ends in ``<eof>``)."""
        with self._compiler_lock:
            return chunk_is_complete(lambda source: self._compiler.compile_error(source, CHUNKNAME), text)

    def complete(self, text: str, cursor: int) -> list[str]:
        """Completions from the session's live globals; empty while a chunk runs or the worker starts."""
        worker = self._worker
        if not worker.ready:
            return []
        try:
            return list(worker.command("complete", text, cursor, timeout=COMPLETION_TIMEOUT, wait_turn=False))
        except WorkerBusy:
            return []
        except WorkerStopped:
            self._replace(worker)
            return []

    def cancel(self) -> None:
        """Stop the chunk in progress (any thread); it reports ``cancelled``."""
        self._worker.cancel()

    def reset(self) -> None:
        """A fresh session: the old worker is killed at once (a running chunk included), its executors are
        released and its processes ended."""
        self._replace(self._worker)

    def close(self) -> None:
        """End the session for good (idempotent)."""
        with self._lock:
            self._closed = True
            worker = self._worker
        worker.kill()
        worker.service.close(block=False)

    def _replace(self, old: LuaWorker) -> None:
        with self._lock:
            if self._closed or old is not self._worker:
                return
            self._worker = self._new_worker()
        old.kill()
        old.service.close(block=False)


def make_repl(engine: Engine, on_print: Callable[[str], None] | None = None, **options: Any) -> ExecRepl:
    """A REPL session for the console, with ``require("exec")`` and ``errors`` over ``engine``.

    ``options``: ``max_memory``, ``module_dir``, ``pretty_options``.
    """
    return ExecRepl(engine, on_print, **options)
