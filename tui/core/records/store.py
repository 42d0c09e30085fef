"""The records database: open it safely, query it, prune it. Thread-safe (one lock per store).

SQLite in WAL mode with a busy timeout, so the console and several ``execdeck run`` write at once.
Opening runs the migrations and a write probe, so a damaged, locked or read-only file is found at
open and reported as one :class:`RecordsError` line; the caller then runs with recording off.
Opening also marks as ``interrupted`` every ``running`` run whose writer process is gone.
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tui.core.pids import process_alive
from tui.core.private import FILE_MODE, FOLDER_MODE, create_private_file, private_folder, tighten
from tui.core.records.models import (
    DEFAULT_BUSY_TIMEOUT,
    STATUSES,
    RecordsError,
    RunRecord,
    Status,
    default_records_path,
    resolve_records_path,
)
from tui.core.records.schema import SCHEMA_VERSION, SchemaTooNew, migrate, unpack_chunks
from tui.core.streams import StreamName

#: A run id prefix must be at least this long to be accepted by :meth:`RecordStore.resolve`.
MIN_PREFIX = 4

_WRITABLE = ("status", "handle", "started_at", "ended_at", "duration", "exit_code", "signal", "timed_out",
             "oom_killed", "error", "stdout_bytes", "stderr_bytes", "stdout_lines", "stderr_lines",
             "output_kept", "output_dropped")


def describe_error(err: BaseException, path: Path, busy_timeout: float) -> str:
    """One line saying what is wrong with ``path`` and what to do."""
    text = str(err)
    low = text.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return (f"{path} is damaged or not a records database ({text}); "
                "move it away, or choose another file with --records or EXECDECK_RECORDS")
    if "locked" in low or "busy" in low:
        return f"{path} is locked by another program (waited {busy_timeout:g}s)"
    if "readonly" in low or "read-only" in low or "attempt to write" in low:
        return f"{path} is read-only ({text})"
    if "unable to open" in low or isinstance(err, OSError):
        return f"{path} cannot be opened for writing ({text}); check the folder and its permissions"
    if isinstance(err, SchemaTooNew):
        return f"{path}: {text}; use a newer execdeck or another file"
    return f"{path}: {text}"


class RecordStore:
    """One connection to a records file. Build with :meth:`open`; every method may raise
    :class:`RecordsError` (one line) when the database fails later (locked, damaged, disk full)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, busy_timeout: float, readonly: bool) -> None:
        self._conn = conn
        self.path = path
        self.busy_timeout = busy_timeout
        self.readonly = readonly
        self._lock = threading.RLock()
        #: What opening had to say (permissions made private): one line each, for the operator.
        self.notices: tuple[str, ...] = ()

    # -- opening -----------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
             readonly: bool = False) -> RecordStore:
        """Open (and create, migrate, reap) the records file at ``path``.

        ``readonly`` opens with SQLite's ``mode=ro`` (no creation, no migration, no reaping: the
        interrupted state is then computed when reading). Blocks at most about ``busy_timeout``
        seconds on another writer's lock. Raises :class:`RecordsError`.
        """
        path = Path(path)
        if readonly:
            try:
                return cls._open(path, busy_timeout, "mode=ro")
            except RecordsError:
                # A WAL database in a read-only folder without its -shm file opens only as immutable.
                return cls._open(path, busy_timeout, "mode=ro&immutable=1")
        return cls._open(path, busy_timeout, None)

    @classmethod
    def _open(cls, path: Path, busy_timeout: float, ro_params: str | None) -> RecordStore:
        readonly = ro_params is not None
        conn: sqlite3.Connection | None = None
        notices: tuple[str, ...] = ()
        try:
            if ro_params is not None:
                conn = sqlite3.connect(f"file:{quote(str(path))}?{ro_params}", uri=True, timeout=busy_timeout,
                                       isolation_level=None, check_same_thread=False)
            else:
                notices = _make_private(path)
                conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None,
                                       check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            store = cls(conn, path, busy_timeout, readonly)
            store.notices = notices
            if readonly:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if version != SCHEMA_VERSION:
                    raise RecordsError(f"{path}: schema version {version}, expected {SCHEMA_VERSION}")
            else:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")  # WAL keeps the file sound; a power cut may lose the tail
                migrate(conn)
                store._probe_and_reap()
            return store
        except (sqlite3.Error, SchemaTooNew, OSError) as err:
            if conn is not None:
                conn.close()
            raise RecordsError(describe_error(err, path, busy_timeout)) from err
        except RecordsError:
            if conn is not None:
                conn.close()
            raise

    def _probe_and_reap(self) -> int:
        """Take the write lock (finds locked and read-only files now, not at the first run) and mark
        the runs of dead writers ``interrupted``. Returns how many were marked."""
        with self.transaction() as conn:
            # A real header write: BEGIN IMMEDIATE alone succeeds on some read-only files.
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return self._reap(conn)

    def _reap(self, conn: sqlite3.Connection) -> int:
        rows = conn.execute("SELECT run_id, writer_pid, writer_start FROM runs WHERE status = 'running'").fetchall()
        dead = [r["run_id"] for r in rows if not process_alive(r["writer_pid"], r["writer_start"])]
        conn.executemany("UPDATE runs SET status = 'interrupted' WHERE run_id = ?", [(d,) for d in dead])
        return len(dead)

    def reap(self) -> int:
        """Mark ``interrupted`` the running runs whose writer died since the store was opened."""
        if self.readonly:
            return 0
        with self.transaction() as conn:
            return self._reap(conn)

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # -- writing (the recorder's writer thread) ----------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error). Raises :class:`RecordsError`."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise RecordsError(describe_error(err, self.path, self.busy_timeout)) from err
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as err:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error):
                    raise RecordsError(describe_error(err, self.path, self.busy_timeout)) from err
                raise

    @staticmethod
    def insert_run(conn: sqlite3.Connection, row: Mapping[str, Any]) -> None:
        """Insert a run row (inside :meth:`transaction`); ``row`` has the column names as keys."""
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT OR REPLACE INTO runs ({names}) VALUES ({marks})", tuple(row.values()))

    @staticmethod
    def update_run(conn: sqlite3.Connection, run_id: str, fields: Mapping[str, Any]) -> None:
        """Update the mutable columns of a run (inside :meth:`transaction`)."""
        assert all(name in _WRITABLE for name in fields), fields
        sets = ", ".join(f"{name} = ?" for name in fields)
        conn.execute(f"UPDATE runs SET {sets} WHERE run_id = ?", (*fields.values(), run_id))

    @staticmethod
    def add_chunk(conn: sqlite3.Connection, run_id: str, seq: int, blob: bytes) -> None:
        """Store one packed batch of output (see :mod:`tui.core.records.schema`)."""
        conn.execute("INSERT INTO chunks (run_id, seq, data) VALUES (?, ?, ?)", (run_id, seq, blob))

    # -- reading -----------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise RecordsError(describe_error(err, self.path, self.busy_timeout)) from err

    def _record(self, row: sqlite3.Row) -> RunRecord:
        status: Status = row["status"]
        # A writer may have died after this store was opened: never show its run as running.
        if status == "running" and not process_alive(row["writer_pid"], row["writer_start"]):
            status = "interrupted"
        return RunRecord.from_row(row, status)

    def list_runs(
        self, *, executor: str | None = None, status: Status | None = None, since: float | None = None,
        until: float | None = None, source: str | None = None, text: str | None = None, limit: int | None = 200,
        actor: str | None = None,
    ) -> list[RunRecord]:
        """Runs newest first, filtered by executor id, status, start time in ``[since, until]``, source,
        actor, and ``text`` (a substring of the command, executor id or run id). ``limit=None``: all."""
        if status is not None and status not in STATUSES:
            raise RecordsError(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("executor_id", executor), ("source", source), ("actor", actor)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        if until is not None:
            where.append("started_at <= ?")
            params.append(until)
        if text:
            where.append("(instr(command, ?) > 0 OR instr(executor_id, ?) > 0 OR instr(run_id, ?) > 0)")
            params += [text, text, text]
        # Running and interrupted are decided here too (a dead writer), so they are filtered after.
        live_status = status in ("running", "interrupted")
        if live_status:
            where.append("status IN ('running', 'interrupted')")
        elif status is not None:
            where.append("status = ?")
            params.append(status)
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY started_at DESC, rowid DESC"
        if limit is not None and not live_status:
            sql += f" LIMIT {int(limit)}"
        records = [self._record(row) for row in self._query(sql, params)]
        if live_status:
            records = [r for r in records if r.status == status][:limit]
        return records

    def get(self, run_id: str) -> RunRecord | None:
        """The run with exactly this id, or None."""
        rows = self._query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return self._record(rows[0]) if rows else None

    def resolve(self, ref: str) -> RunRecord:
        """The run named by its id or a unique prefix of at least :data:`MIN_PREFIX` characters.

        Raises :class:`RecordsError` for an unknown, too short or ambiguous reference.
        """
        record = self.get(ref)
        if record is not None:
            return record
        if len(ref) < MIN_PREFIX:
            raise RecordsError(f"no recorded run {ref!r} (a prefix needs at least {MIN_PREFIX} characters)")
        rows = self._query("SELECT * FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY started_at DESC LIMIT 6",
                           (len(ref), ref))
        if not rows:
            raise RecordsError(f"no recorded run {ref!r}")
        if len(rows) > 1:
            ids = ", ".join(r["run_id"] for r in rows[:5])
            raise RecordsError(f"run id prefix {ref!r} is ambiguous: {ids}")
        return self._record(rows[0])

    def iter_output(self, run_id: str) -> Iterator[tuple[StreamName, bytes]]:
        """The stored output of a run as ``(stream, bytes)`` chunks in arrival order.

        Raises :class:`RecordsError` when a stored chunk is damaged.
        """
        blobs = self._query("SELECT data FROM chunks WHERE run_id = ? ORDER BY seq", (run_id,))
        for row in blobs:
            try:
                yield from unpack_chunks(bytes(row["data"]))
            except (zlib.error, struct.error, ValueError) as err:
                raise RecordsError(f"{self.path}: the output of run {run_id} is damaged ({err})") from err

    # -- pruning -----------------------------------------------------------------------------------

    def prune_older_than(self, seconds: float, *, now: float | None = None) -> int:
        """Delete the finished runs (and their output) that ended more than ``seconds`` ago; running
        runs stay. Returns how many runs were removed."""
        cutoff = (time.time() if now is None else now) - seconds
        with self.transaction() as conn:
            old = "SELECT run_id FROM runs WHERE status != 'running' AND coalesce(ended_at, started_at) < ?"
            conn.execute(f"DELETE FROM chunks WHERE run_id IN ({old})", (cutoff,))
            return conn.execute(
                "DELETE FROM runs WHERE status != 'running' AND coalesce(ended_at, started_at) < ?", (cutoff,)
            ).rowcount


def _make_private(path: Path) -> tuple[str, ...]:
    """Create the file (and missing folders) private to the user; tighten an existing looser database
    (it holds the output of every run). SQLite gives its WAL and shared-memory files the database's
    mode, so a private database keeps them private. Returns the notices to show. Raises ``OSError``."""
    private_folder(path.parent)
    changed = [(name, old) for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
               if (old := tighten(name, FILE_MODE)) is not None]
    # The default folder is execdeck's own; a folder named with --records may be shared on purpose.
    folder_old = tighten(path.parent, FOLDER_MODE) if path.parent == default_records_path().parent else None
    create_private_file(path)
    notices = []
    if changed:
        modes = ", ".join(f"{name.name} was {old:04o}" for name, old in changed)
        notices.append(f"{path}: run records were readable by other users ({modes}); now private (0600)")
    if folder_old is not None:
        notices.append(f"{path.parent}: was mode {folder_old:04o}; now private (0700)")
    return tuple(notices)


def open_store(path: Path | str | None = None, *, disabled: bool = False,
               busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> tuple[RecordStore | None, str | None]:
    """For a reader such as the console's Runs view: ``(store, None)``, or ``(None, problem)`` with the
    one line to show instead (``None, None`` when recording is off). Never raises.

    ``path`` and ``disabled`` mean what they mean for :func:`attach_recorder`. A file that cannot be
    written (locked, read-only) is still opened for reading when possible.
    """
    target = resolve_records_path(str(path) if path is not None else None, disabled=disabled)
    if target is None:
        return None, None
    try:
        return RecordStore.open(target, busy_timeout=busy_timeout), None
    except RecordsError as err:
        if target.exists():
            with contextlib.suppress(RecordsError):
                return RecordStore.open(target, busy_timeout=busy_timeout, readonly=True), None
        return None, f"run records off: {err}"
