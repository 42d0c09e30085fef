"""The recorder: every process an engine creates becomes a run record, written off the I/O path.

Threads: the output subscriber runs on the process's I/O thread and only counts and appends to an
in-memory per-run list (recording may cost a fast stream at most a tenth of its throughput); one
writer thread per recorder turns those lists into SQLite rows: the run row at once, its counts every
:data:`FLUSH_INTERVAL` seconds, its output every :data:`OUTPUT_INTERVAL` seconds and at once when the
run ends.
What waits in memory is bounded by the per-run cap: once a run's output reached it, the subscriber
only counts (bytes, lines) and keeps nothing. The writer does not wake early for a big backlog on
purpose: a fast producer then runs undisturbed, and its output is stored in a few large batches.

A database failure never stops a run: the recorder says so once (``problem``, ``on_problem``)
and records nothing more.

The command line opens the database on the writer thread, at its first tick or at the first run's end
(``attach_recorder(open_later=True)``): SQLite's modules and the open then happen while a container
starts, not before its first request to the daemon (a tenth of what ``execdeck run`` adds to a
container's start was records), and a run that ends at once waits for them no longer than before.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.core.engine import Engine
from tui.core.pids import process_start_time
from tui.core.process import Process, ProcessState, count_newlines
from tui.core.records.models import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_OUTPUT_CAP,
    RecordsError,
    json_strings,
    os_user,
    resolve_records_path,
)
from tui.core.streams import StreamName

if TYPE_CHECKING:
    from tui.core.records.store import RecordStore

#: Seconds between two ticks of the writer thread (new runs appear as ``running``, counts move on).
FLUSH_INTERVAL = 0.25
#: Seconds between two stores of a running run's output. Longer than a tick on purpose: the
#: compression then happens in a few large batches, mostly after a short fast run, not during it.
OUTPUT_INTERVAL = 1.0
#: Raw bytes per stored chunk row.
ROW_BYTES = 1024 * 1024
#: Niceness of the writer thread (Linux), relative to the default 0.
WRITER_NICE = 10
#: How long :meth:`Recorder.close` waits for the writer to store what is left.
CLOSE_TIMEOUT = 10.0


class _Run:
    """What the recorder holds for one process until its final row is written."""

    __slots__ = ("bytes", "dropped", "ended", "inserted", "kept", "last", "lines", "lock", "pending",
                 "process", "reported", "seq", "source", "stored_at", "unsubscribe")

    def __init__(self, process: Process, source: str) -> None:
        self.process = process
        self.source = source
        self.lock = threading.Lock()
        self.pending: list[tuple[StreamName, bytes]] = []
        self.kept = 0
        self.dropped = 0
        self.bytes: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
        self.lines: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
        self.last: dict[StreamName, bool] = {"stdout": True, "stderr": True}  # ended on a newline
        self.inserted = False
        self.ended = False
        self.seq = 0
        self.stored_at = time.monotonic()
        self.reported = 0  # bytes counted when the row was last updated
        self.unsubscribe: Callable[[], None] = lambda: None

    def line_counts(self) -> dict[StreamName, int]:
        # A last line without a newline still counts as a line.
        return {s: self.lines[s] + (0 if self.last[s] else 1) for s in ("stdout", "stderr")}


class Recorder:
    """Records the runs of one engine into one :class:`RecordStore`. Build with :func:`attach_recorder`.

    ``active`` is False when recording is off (disabled, or the database failed: see ``problem``).
    :meth:`close` stores what is left and detaches; it never raises.
    """

    def __init__(self, engine: Engine | None, store: RecordStore | None, *, source: str,
                 output_cap: int = DEFAULT_OUTPUT_CAP, problem: str | None = None,
                 on_problem: Callable[[str], None] | None = None,
                 opener: Callable[[], RecordStore] | None = None,
                 on_notice: Callable[[str], None] | None = None) -> None:
        """``opener``, given instead of ``store``, opens the store on the writer thread (and raises
        :class:`RecordsError`); what it has to say goes to ``on_notice``, a failure to ``on_problem``."""
        self.store = store
        self._opener = opener if store is None else None
        self._on_notice = on_notice
        self.source = source
        self.output_cap = output_cap
        self.problem = problem
        self._on_problem = on_problem
        self._runs: dict[str, _Run] = {}
        self._runs_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        actor = engine.gate.access.actor if engine is not None else None
        self._actor = actor.id if actor is not None else ""
        self._pid = os.getpid()
        # Found by the writer thread before its first row (see the module's doc).
        self._identified = False
        self._user = ""
        self._pid_start = ""
        self._remove_listener: Callable[[], None] = lambda: None
        self._thread: threading.Thread | None = None
        if engine is not None and (store is not None or self._opener is not None):
            self._remove_listener = engine.add_listener(self._on_process)
            self._thread = threading.Thread(target=self._writer, name="records-writer", daemon=True)
            self._thread.start()

    @property
    def notices(self) -> tuple[str, ...]:
        """What opening the database had to say (permissions made private), one line each."""
        return self.store.notices if self.store is not None else ()

    @property
    def active(self) -> bool:
        """Whether runs are being recorded now (the store may still be opening)."""
        return ((self.store is not None or self._opener is not None) and self.problem is None
                and not self._closing.is_set())

    # -- the I/O side (must stay cheap) ------------------------------------------------------------

    def _on_process(self, process: Process) -> None:
        if not self.active:
            return
        spec_source = process.spec.source
        run = _Run(process, spec_source if spec_source not in ("", "api") else self.source)
        with self._runs_lock:
            self._runs[process.run_id] = run
        cap = self.output_cap

        def on_chunks(stream: StreamName, chunks: list[bytes], newline: bool) -> bool:
            # A batch: a sole reader's reads since the last hand-over (see Process.subscribe_batches).
            size = sum(map(len, chunks))
            if not size:
                return False
            newlines = count_newlines(chunks, newline)
            with run.lock:
                run.bytes[stream] += size
                run.lines[stream] += newlines
                run.last[stream] = chunks[-1][-1:] == b"\n" if chunks[-1] else run.last[stream]
                room = cap - run.kept
                if room <= 0:
                    run.dropped += size
                    return True
                for data in chunks:
                    if room <= 0:
                        run.dropped += len(data)
                        continue
                    if room < len(data):
                        run.dropped += len(data) - room
                        data = data[:room]
                    if data:
                        run.pending.append((stream, data))
                        run.kept += len(data)
                        room -= len(data)
                return room <= 0  # past the cap only counts are needed (see on_tally)

        def on_tally(stream: StreamName, size: int, newlines: int, ends_with_newline: bool) -> None:
            with run.lock:
                run.bytes[stream] += size
                run.lines[stream] += newlines
                run.last[stream] = ends_with_newline
                run.dropped += size

        def on_exit(_: Process) -> None:
            run.ended = True
            self._wake.set()

        run.unsubscribe = process.subscribe_batches(on_chunks, replay=True, tally=on_tally)
        process.add_exit_callback(on_exit)

    # -- the writer thread -------------------------------------------------------------------------

    def _writer(self) -> None:
        # On Linux a tid is a valid PRIO_PROCESS target and only this thread gets nicer: recording
        # yields the CPU to the runs it records (on a small machine it otherwise competes with them).
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
        while True:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            closing = self._closing.is_set()
            try:
                if self.store is None and not self._open():
                    if closing:
                        return
                    continue
                self._flush(final=closing)
            except RecordsError as err:
                self._fail(str(err))
                return
            except Exception as err:  # noqa: BLE001 - a recorder bug must never stop a run
                self._fail(f"{type(err).__name__}: {err}")
                return
            if closing:
                return

    def _open(self) -> bool:
        """Open the store given as an opener, once a run is there to record. False while none is.

        Raises:
            RecordsError: it cannot be opened (the writer turns that into ``problem``).
        """
        assert self._opener is not None
        with self._runs_lock:
            if not self._runs:
                return False
        self.store = self._opener()
        self._opener = None
        if self._on_notice is not None:
            for notice in self.store.notices:
                with contextlib.suppress(Exception):
                    self._on_notice(notice)
        return True

    def _flush(self, final: bool) -> None:
        from tui.core.records.store import RecordStore  # loaded by the time a store exists

        assert self.store is not None
        with self._runs_lock:
            runs = list(self._runs.values())
        if not runs:
            return
        done: list[_Run] = []
        with self.store.transaction() as conn:
            for run in runs:
                process = run.process
                started = process.started_at is not None or process.start_error is not None
                if not run.inserted:
                    if not started and (run.ended or process.state is ProcessState.CLOSED or final):
                        done.append(run)  # closed before it started: nothing ran, nothing to record
                        continue
                    if not started:
                        continue
                    if not self._identified:
                        self._identified = True
                        self._user = os_user()
                        self._pid_start = process_start_time(self._pid)
                    RecordStore.insert_run(conn, self._first_row(run))
                    run.inserted = True
                closing_run = run.ended or final
                chunks: list[tuple[StreamName, bytes]] = []
                if closing_run or time.monotonic() - run.stored_at >= OUTPUT_INTERVAL:
                    with run.lock:
                        chunks, run.pending = run.pending, []
                    run.stored_at = time.monotonic()
                    self._store_chunks(conn, run, chunks)
                if closing_run:
                    # At close, a run whose exit callback is still on its way has its status already.
                    interrupted = not run.ended and process.exit_status is None
                    RecordStore.update_run(conn, process.run_id, self._final_fields(run, interrupted=interrupted))
                    done.append(run)
                elif run.reported != run.bytes["stdout"] + run.bytes["stderr"]:
                    fields = self._count_fields(run)
                    run.reported = fields["stdout_bytes"] + fields["stderr_bytes"]
                    RecordStore.update_run(conn, process.run_id, fields)
        if done:
            with self._runs_lock:
                for run in done:
                    self._runs.pop(run.process.run_id, None)
                    run.unsubscribe()

    def _store_chunks(self, conn: Any, run: _Run, chunks: list[tuple[StreamName, bytes]]) -> None:
        from tui.core.records.schema import pack_chunks
        from tui.core.records.store import RecordStore

        batch: list[tuple[StreamName, bytes]] = []
        size = 0
        for chunk in [*chunks, None]:
            if chunk is not None:
                batch.append(chunk)
                size += len(chunk[1])
            if batch and (chunk is None or size >= ROW_BYTES):
                RecordStore.add_chunk(conn, run.process.run_id, run.seq, pack_chunks(batch))
                run.seq += 1
                batch, size = [], 0

    def _first_row(self, run: _Run) -> dict[str, Any]:
        spec = run.process.spec
        process = run.process
        return {
            "run_id": spec.run_id, "executor_id": spec.executor_id, "kind": spec.kind, "command": spec.command,
            "argv": json_strings(spec.argv), "work_dir": spec.work_dir,
            "env_names": json_strings(sorted(spec.env)),  # names only: values may be secrets
            "user": self._user, "actor": self._actor, "source": run.source, "handle": process.handle or "",
            "status": "running",
            "started_at": process.started_at if process.started_at is not None else time.time(),
            "writer_pid": self._pid, "writer_start": self._pid_start,
        }

    def _count_fields(self, run: _Run) -> dict[str, Any]:
        with run.lock:
            lines = run.line_counts()
            return {"handle": run.process.handle or "", "stdout_bytes": run.bytes["stdout"],
                    "stderr_bytes": run.bytes["stderr"], "stdout_lines": lines["stdout"],
                    "stderr_lines": lines["stderr"], "output_kept": run.kept, "output_dropped": run.dropped}

    def _final_fields(self, run: _Run, *, interrupted: bool) -> dict[str, Any]:
        process = run.process
        fields = self._count_fields(run)
        status = process.exit_status
        if interrupted or status is None:
            fields["status"] = "interrupted"
            return fields
        ended = process.ended_at if process.ended_at is not None else time.time()
        started = process.started_at if process.started_at is not None else ended
        fields.update({
            "status": "ok" if status.ok else "failed", "started_at": started, "ended_at": ended,
            "duration": max(0.0, ended - started), "exit_code": status.code, "signal": status.signal,
            "timed_out": int(status.timed_out), "oom_killed": int(status.oom_killed), "error": status.error,
        })
        return fields

    def _fail(self, problem: str) -> None:
        self.problem = f"run records off: {problem}"
        if self._on_problem is None:
            import logging  # only here: every command line would pay for loading it

            logging.getLogger(__name__).warning("%s", self.problem)  # nobody else will say it
        with self._runs_lock:
            runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.unsubscribe()
        if self._on_problem is not None:
            with contextlib.suppress(Exception):
                self._on_problem(self.problem)

    # -- the end -----------------------------------------------------------------------------------

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Stop recording new runs, store what is buffered (runs still going are marked
        ``interrupted``), and close the store. Blocks at most about ``timeout`` seconds; never raises."""
        self._remove_listener()
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.store is not None and (self._thread is None or not self._thread.is_alive()):
            self.store.close()


def attach_recorder(
    engine: Engine, *, source: str | None = None, path: Path | str | None = None, disabled: bool = False,
    output_cap: int = DEFAULT_OUTPUT_CAP, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    on_problem: Callable[[str], None] | None = None, open_later: bool = False,
    on_notice: Callable[[str], None] | None = None,
) -> Recorder:
    """Record every process ``engine`` creates from now on; never raises.

    ``path`` (``--records``) wins over ``EXECDECK_RECORDS`` and the default file; ``disabled``
    (``--no-record``) or ``EXECDECK_RECORDS=off`` record nothing. ``source`` defaults to
    ``engine.source``. When the database cannot be used, the returned recorder is inactive and its
    ``problem`` is the one line to show (``run records off: ...``). If the database fails later,
    ``on_problem(line)`` is called once from the writer thread (without it, the line is logged).
    Call :meth:`Recorder.close` at the end.

    With ``open_later`` the database is opened by the writer thread once a run is there (see the
    module's doc): a database that cannot be used then reaches ``on_problem`` too, and what opening it
    had to say (``notices``) reaches ``on_notice``.
    """
    chosen = source or engine.source
    target = resolve_records_path(str(path) if path is not None else None, disabled=disabled)
    if target is None:
        return Recorder(None, None, source=chosen)
    if open_later:
        def opener() -> RecordStore:
            from tui.core.records.store import RecordStore  # on the writer thread, with SQLite

            return RecordStore.open(target, busy_timeout=busy_timeout)

        return Recorder(engine, None, source=chosen, output_cap=output_cap, on_problem=on_problem,
                        opener=opener, on_notice=on_notice)
    from tui.core.records.store import RecordStore

    try:
        store = RecordStore.open(target, busy_timeout=busy_timeout)
    except RecordsError as err:
        # Returned, not logged: the caller shows it once, where the operator looks.
        return Recorder(None, None, source=chosen, problem=f"run records off: {err}")
    return Recorder(engine, store, source=chosen, output_cap=output_cap, on_problem=on_problem)
