"""The engine: the registry of executors, the processes it made, and a clean end.

One :class:`Engine` per console, command-line run or script run. It turns a :class:`LoadResult`
into executor handles (``get`` is ``exec.get``), tells listeners about every process it creates
(the console shows processes started from Lua as run tabs; run records subscribe the same way), and
on :meth:`shutdown` ends every process that is still going: SIGTERM, then SIGKILL after a grace.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from tui.core.entries.models import Entry, LoadResult
from tui.core.errors import internal, invalid
from tui.core.executors.base import Executor, ExecutorStatus
from tui.core.policy import EXEC_GET, Access, Gate
from tui.core.process import KILL_GRACE, Process, finish_off
from tui.core.streams import DEFAULT_CAP

ProcessListener = Callable[[Process], None]


class Engine:
    """Executors by id, processes by run id. Thread-safe."""

    def __init__(
        self, load: LoadResult, *, buffer_cap: int = DEFAULT_CAP, instance_id: str | None = None, source: str = "api",
        access: Access | None = None,
    ) -> None:
        self.load = load
        #: Decides ``exec.get`` (here) and ``exec.run`` (``Executor.exec``) for this engine's actor; with
        #: no actor and no scope it allows everything without a look.
        self.gate = Gate(access, load.policies)
        #: Where runs come from by default: ``console``, ``cli``, ``lua`` (run records keep it).
        self.source = source
        self.buffer_cap = buffer_cap
        #: Names this console instance on the containers it makes (labels), so orphans can be found.
        self.instance_id = instance_id or uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._processes: dict[str, Process] = {}
        self._listeners: list[ProcessListener] = []
        self._resources: dict[str, Any] = {}
        self._resource_lock = threading.RLock()
        self._cleanups: list[Callable[[], None]] = []

    # -- executors ---------------------------------------------------------------------------

    def reload(self, load: LoadResult) -> None:
        """Use newly loaded entries and policies; handles already given out (and their processes) keep theirs."""
        self.load = load
        self.gate = self.gate.with_policies(load.policies)

    def entry(self, entry_id: str) -> Entry | None:
        return self.load.get(entry_id)

    def get(self, entry_id: str) -> Executor:
        """A fresh executor handle for ``entry_id`` (what ``exec.get`` returns).

        The ``exec.get`` check comes first, so a denied actor learns nothing about which ids exist.

        Raises:
            ExecError: invalid ``resource id is required`` for ``""``; ``PermissionDenied`` (invalid
            ``permission denied: access executor``); internal ``resource not found`` for an unknown id
            or an entry that is not an executor (SAME).
        """
        if entry_id == "":
            raise invalid("resource id is required")
        entry = self.load.get(entry_id)
        self.gate.require(EXEC_GET, entry_id, entry.meta if entry is not None else None)
        return self._handle(entry_id, entry)

    def probe(self, entry_id: str, timeout: float = 2.0) -> ExecutorStatus:
        """The status of an executor, whoever the actor is: a status is the console's own business, not
        an acquisition. Raises ExecError ``resource not found`` as :meth:`get` does."""
        return self._handle(entry_id, self.load.get(entry_id)).probe(timeout)

    def _handle(self, entry_id: str, entry: Entry | None) -> Executor:
        from tui.core.executors.registry import executor_class

        cls = executor_class(entry.kind) if entry is not None else None
        if entry is None or cls is None:
            raise internal("resource not found", id=entry_id)
        return cls(entry, self)

    # -- processes ---------------------------------------------------------------------------

    def add_listener(self, listener: ProcessListener) -> Callable[[], None]:
        """Call ``listener(process)`` for every process created from now on, on the creating thread,
        before the process can start (so a subscriber misses nothing). Returns a remover."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def track(self, process: Process) -> None:
        """Register a new process (called by ``Executor.exec``) and tell the listeners."""
        with self._lock:
            self._processes[process.run_id] = process
            listeners = list(self._listeners)
        process.add_exit_callback(self._forget)
        process.add_discard_callback(self._forget)
        for listener in listeners:
            with contextlib.suppress(Exception):
                listener(process)

    def _forget(self, process: Process) -> None:
        with self._lock:
            self._processes.pop(process.run_id, None)

    @property
    def processes(self) -> list[Process]:
        """Processes created and not yet fully ended (including unstarted ones)."""
        with self._lock:
            return list(self._processes.values())

    # -- shared resources (e.g. one Docker client per host) -------------------------------------

    def resource(self, key: str, factory: Callable[[], Any]) -> Any:
        """The resource under ``key``, made once by ``factory``.

        The factory runs under a lock of its own, not the engine's, so it may call back into the
        engine (``add_cleanup``) without deadlocking.
        """
        with self._resource_lock:
            if key not in self._resources:
                self._resources[key] = factory()
            return self._resources[key]

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` at :meth:`shutdown`, after the processes ended (newest first)."""
        with self._lock:
            self._cleanups.append(cleanup)

    def shutdown(self, grace: float = KILL_GRACE, wait: float = 5.0) -> None:
        """End every process still going (SIGTERM, SIGKILL after ``grace``), then run cleanups.

        Unstarted processes are closed. Blocks at most about ``grace + wait`` seconds.
        """
        live = [p for p in self.processes if p.started_at is not None and not p.wait_done(0)]
        for process in self.processes:
            if process.started_at is None:
                process.close()
        for process in live:
            process.backend.terminate(False)
        finish_off(live, grace)
        deadline = time.monotonic() + wait
        for process in live:
            process.wait_done(max(0.0, deadline - time.monotonic()))
        with self._lock:
            cleanups, self._cleanups = self._cleanups[::-1], []
        for cleanup in cleanups:
            with contextlib.suppress(Exception):
                cleanup()
