"""``execdeck history``: the recorded runs, newest first (``--json`` for machines), and pruning.

``--prune-older-than 30d`` removes the finished runs that ended before then and prints how many.
Exit 0, 1 when the records cannot be read, 2 for a bad option value.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import datetime
from pathlib import Path

from tui.cli.common import error
from tui.cli.output import say
from tui.core.records import STATUSES, RecordsError, RecordStore, RunRecord, format_duration, resolve_records_path

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> float:
    """``30s``, ``30m``, ``2h``, ``1d``, ``2w`` in seconds. Raises ValueError."""
    match = _DURATION.match(text.lower())
    if match is None:
        raise ValueError(f"{text!r}: expected a duration like 30m, 2h, 1d or 2w")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_time(text: str, now: float | None = None) -> float:
    """A point in time: a duration ago (``2h``) or an ISO date/time (local time unless it has an offset)."""
    try:
        return (time.time() if now is None else now) - parse_duration(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(f"{text!r}: expected 30m, 2h, 1d or an ISO date like 2026-01-31 or 2026-01-31T14:00") from None


def add_records_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", metavar="FILE", default=None,
                        help="the run records file (default: $EXECDECK_RECORDS, else "
                        "$XDG_DATA_HOME/execdeck/runs.sqlite3)")


def open_records(args: argparse.Namespace) -> RecordStore | None:
    """The store named by ``--records``/``EXECDECK_RECORDS``/the default, opened for reading.

    Returns None when no runs were ever recorded there (no file). Raises :class:`RecordsError`.
    """
    path = resolve_records_path(args.records)
    if path is None:
        raise RecordsError("run records are off (EXECDECK_RECORDS=off); use --records FILE to read a file")
    if not path.exists():
        return None
    try:
        store = RecordStore.open(path)
    except RecordsError:
        # A read-only or locked file can still be read.
        return RecordStore.open(path, readonly=True)
    for notice in store.notices:
        error(notice)
    return store


def configure(parser: argparse.ArgumentParser) -> None:
    add_records_option(parser)
    parser.add_argument("--executor", metavar="ID", help="only runs of this executor")
    parser.add_argument("--status", choices=STATUSES, help="only runs that ended so (or still run)")
    parser.add_argument("--since", metavar="WHEN", help="started at or after: 2h, 30m, 1d or an ISO date")
    parser.add_argument("--until", metavar="WHEN", help="started at or before: 2h, 30m, 1d or an ISO date")
    parser.add_argument("--source", choices=("console", "cli", "lua"), help="only runs started from there")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="at most N runs (default 50; 0: all)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--prune-older-than", metavar="AGE", dest="prune",
                        help="remove the finished runs that ended more than AGE ago (30d, 12h...)")


def format_row(record: RunRecord, with_actor: bool = False) -> tuple[str, ...]:
    """The table cells of one run: time, run id, [actor,] executor, command, duration, result."""
    when = datetime.fromtimestamp(record.started_at).strftime("%Y-%m-%d %H:%M:%S")
    command = record.command if len(record.command) <= 48 else record.command[:47] + "…"
    duration = format_duration(record.duration)
    actor = (record.actor or "-",) if with_actor else ()
    return when, record.run_id, *actor, record.executor_id, command, duration, record.result_text


def run(args: argparse.Namespace) -> int:
    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
        prune_age = parse_duration(args.prune) if args.prune else None
    except ValueError as err:
        error(str(err))
        return 2
    if args.limit < 0:
        error("--limit must be 0 (all) or more")
        return 2
    try:
        store = open_records(args)
        if prune_age is not None:
            removed = store.prune_older_than(prune_age) if store is not None else 0
            say(f"removed {removed} run{'s' if removed != 1 else ''} older than {args.prune}")
            return 0
        records = [] if store is None else store.list_runs(
            executor=args.executor, status=args.status, since=since, until=until, source=args.source,
            limit=args.limit or None, actor=_actor_filter(args),
        )
    except RecordsError as err:
        error(str(err))
        return 1
    if args.json:
        say(json.dumps({"runs": [r.to_json() for r in records]}, indent=2))
        return 0
    if not records:
        where = resolve_records_path(args.records) or Path("?")
        say(f"no recorded runs{' match' if store is not None else ' yet'} ({where})")
        return 0
    # The actor column appears once someone acted under a name, so plain histories look as they always did.
    with_actor = any(r.actor for r in records)
    head = ("TIME", "RUN", *(("ACTOR",) if with_actor else ()), "EXECUTOR", "COMMAND", "DURATION", "RESULT")
    rows = [head, *(format_row(r, with_actor) for r in records)]
    last = len(head) - 1
    widths = [max(len(row[i]) for row in rows) for i in range(last)]
    for row in rows:
        say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[last])
    return 0


def _actor_filter(args: argparse.Namespace) -> str | None:
    """``--actor ID`` (before or after ``history``) filters; ``EXECDECK_ACTOR`` alone does not: it says
    who acts, not whose runs to list."""
    chosen: str | None = getattr(args, "actor", None) or getattr(args, "global_actor", None)
    return chosen
