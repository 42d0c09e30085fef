"""The records database's schema and its migrations (``PRAGMA user_version``).

One row per run in ``runs``; the output in ``chunks``: each row is one batch of frames ``stream tag
(1 byte, o/e) + length (4 bytes, big endian) + bytes``, in arrival order, so stdout and stderr stay
interleaved as received and many small chunks compress together. A blob starts with ``z`` (zlib,
level 1: the writer shares the CPU with the runs) or ``r`` (stored raw: the batch did not compress).
"""

from __future__ import annotations

import sqlite3
import struct
import zlib
from collections.abc import Callable, Iterator

from tui.core.streams import StreamName

SCHEMA_VERSION = 2

_V1 = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    executor_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    command TEXT NOT NULL,
    argv TEXT NOT NULL,               -- JSON list
    work_dir TEXT NOT NULL,
    env_names TEXT NOT NULL,          -- JSON list of names, never values
    user TEXT NOT NULL,
    source TEXT NOT NULL,
    handle TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,             -- running, ok, failed, interrupted
    started_at REAL NOT NULL,         -- seconds since the epoch
    ended_at REAL,
    duration REAL,
    exit_code INTEGER,
    signal INTEGER,
    timed_out INTEGER NOT NULL DEFAULT 0,
    oom_killed INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    stdout_bytes INTEGER NOT NULL DEFAULT 0,
    stderr_bytes INTEGER NOT NULL DEFAULT 0,
    stdout_lines INTEGER NOT NULL DEFAULT 0,
    stderr_lines INTEGER NOT NULL DEFAULT 0,
    output_kept INTEGER NOT NULL DEFAULT 0,     -- bytes of output stored in chunks
    output_dropped INTEGER NOT NULL DEFAULT 0,  -- bytes over the cap: the truncation mark
    writer_pid INTEGER NOT NULL,
    writer_start TEXT NOT NULL        -- the writer's start time (/proc), tells a reused pid apart
);
CREATE INDEX runs_by_start ON runs(started_at);
CREATE INDEX runs_by_executor ON runs(executor_id, started_at);
CREATE INDEX runs_by_status ON runs(status);
CREATE TABLE chunks (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""

#: Migration steps: ``_MIGRATIONS[n]`` takes a database at version ``n`` to ``n + 1``.
def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _to_v1(conn: sqlite3.Connection) -> None:
    # Not executescript: it would COMMIT the migration's transaction first.
    for statement in _statements(_V1):
        conn.execute(statement)


def _to_v2(conn: sqlite3.Connection) -> None:
    # Who acted (``--actor``; empty when nobody was named), kept so history can filter by it.
    conn.execute("ALTER TABLE runs ADD COLUMN actor TEXT NOT NULL DEFAULT ''")
    conn.execute("CREATE INDEX runs_by_actor ON runs(actor, started_at)")


_MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_to_v1, _to_v2]
assert len(_MIGRATIONS) == SCHEMA_VERSION


class SchemaTooNew(Exception):
    """The file was written by a newer execdeck: never touch it."""


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION`, one step per transaction.

    The caller holds no transaction. Raises :class:`SchemaTooNew`, or ``sqlite3.Error`` (locked,
    read-only, not a database).
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(f"schema version {version} is newer than this execdeck's ({SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated between our read and our lock.
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current == version:
                _MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])


_FRAME = struct.Struct(">cI")
_SAMPLE = 64 * 1024
_TAGS: dict[str, bytes] = {"stdout": b"o", "stderr": b"e"}
_NAMES: dict[bytes, StreamName] = {b"o": "stdout", b"e": "stderr"}


def pack_chunks(chunks: list[tuple[StreamName, bytes]]) -> bytes:
    """One compressed blob of framed chunks (see the module docstring)."""
    parts: list[bytes] = []
    for stream, data in chunks:
        parts.append(_FRAME.pack(_TAGS[stream], len(data)))
        parts.append(data)
    raw = b"".join(parts)
    # Try a sample first: incompressible output (binary, already compressed) would cost ~40 ms per MiB for nothing.
    sample = raw[:_SAMPLE]
    if len(zlib.compress(sample, 1)) > len(sample) * 0.9:
        return b"r" + raw
    return b"z" + zlib.compress(raw, 1)


def unpack_chunks(blob: bytes) -> Iterator[tuple[StreamName, bytes]]:
    """The chunks of one blob, in order. Raises ``zlib.error`` / ``ValueError`` when damaged."""
    if blob[:1] == b"z":
        raw = zlib.decompress(blob[1:])
    elif blob[:1] == b"r":
        raw = blob[1:]
    else:
        raise ValueError("unknown output chunk format")
    pos = 0
    while pos < len(raw):
        tag, size = _FRAME.unpack_from(raw, pos)
        pos += _FRAME.size
        if tag not in _NAMES or pos + size > len(raw):
            raise ValueError("damaged output chunk")
        yield _NAMES[tag], raw[pos:pos + size]
        pos += size
