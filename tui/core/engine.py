"""The engine: the executors of the loaded entries, the processes it made, and a clean end.

One :class:`Engine` per console, command-line run or script run. It turns a :class:`LoadResult`
into executor handles (``get`` is ``exec.get``), tells listeners about every process it creates
(the console shows processes started from Lua as run tabs; run records subscribe the same way), and
on :meth:`shutdown` ends every process that is still going: SIGTERM, then SIGKILL after a grace. The
kinds never see the engine: it lends them its :attr:`scope`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from tui.core.entries.models import Entry, LoadResult
from tui.core.errors import internal, invalid
from tui.core.executors import registry
from tui.core.executors.base import Executor, ExecutorStatus, Scope, StatusListener
from tui.core.policy import EXEC_GET, EXEC_RUN, Access, Gate
from tui.core.process import KILL_GRACE, Process, finish_off
from tui.core.streams import DEFAULT_CAP

ProcessListener = Callable[[Process], None]


class Engine:
    """Executors by id, processes by run id. Thread-safe."""

    def __init__(
        self, load: LoadResult, *, buffer_cap: int = DEFAULT_CAP, instance_id: str | None = None, source: str = "api",
        access: Access | None = None, long_lived: bool = False,
    ) -> None:
        self.load = load
        #: Decides ``exec.get`` (here) and ``exec.run`` (``Executor.exec``) for this engine's actor; with
        #: no actor and no scope it allows everything without a look.
        self.gate = Gate(access, load.policies)
        #: Where runs come from by default: ``console``, ``cli``, ``lua`` (run records keep it).
        self.source = source
        self.buffer_cap = buffer_cap
        #: What the kinds may use of the engine: the instance id, shared resources, clean-ups at the end.
        # Random hex as uuid4 gives, without importing uuid (which loads platform: a command line pays for it).
        # ``long_lived``: the engine serves many runs over time (console, Lua script), see Scope.
        self.scope = Scope(instance_id or os.urandom(6).hex(), long_lived=long_lived)
        self._lock = threading.Lock()
        self._processes: dict[str, Process] = {}
        self._listeners: list[ProcessListener] = []

    @property
    def instance_id(self) -> str:
        """Names this console instance on what its runs make (container labels), so orphans can be found."""
        return self.scope.instance_id

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
            or an entry that is not an executor, worded as the reference runtime words them (scripts
            match on the messages).
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

    def watch_status(self, entry_id: str, on_status: StatusListener) -> Callable[[], None]:
        """Follow the status of an executor (whoever the actor is, as :meth:`probe`): ``on_status`` hears
        it on another thread once known, then at every change, until the returned function is called or
        the engine shuts down. Never blocks. Raises ExecError ``resource not found`` as :meth:`get` does."""
        return self._handle(entry_id, self.load.get(entry_id)).watch(on_status)

    def _handle(self, entry_id: str, entry: Entry | None) -> Executor:
        kind = registry.find(entry.kind) if entry is not None and entry.spec is not None else None
        if entry is None or kind is None:
            raise internal("resource not found", id=entry_id)
        return Executor(entry, kind, self.scope, on_create=self.track, check_run=self._check_run,
                        buffer_cap=self.buffer_cap, source=self.source)

    def _check_run(self, command: str, meta: Mapping[str, Any]) -> None:
        # The current gate, not the one of the handle's birth: a reload's policies apply at once.
        self.gate.require(EXEC_RUN, command, meta)

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

    def shutdown(self, grace: float = KILL_GRACE, wait: float = 5.0) -> None:
        """End every process still going (SIGTERM, SIGKILL after ``grace``), then run the scope's clean-ups.

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
        self.scope.close()
