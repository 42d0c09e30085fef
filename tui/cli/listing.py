"""``execdeck list``: the executors with kind and status, one a line (``--json`` for machines)."""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from tui.cli.common import load
from tui.cli.output import STDERR, say
from tui.core.engine import Engine
from tui.core.entries import Entry
from tui.core.executors.base import ExecutorStatus

#: The whole listing never waits longer than this for slow hosts.
PROBE_DEADLINE = 3.0


def probe_all(engine: Engine, entries: list[Entry], timeout: float = PROBE_DEADLINE) -> dict[str, ExecutorStatus]:
    """Probe every executor in parallel; those that did not answer in time say so.

    Daemon threads rather than a pool: a probe stuck on an unreachable host must not hold up the
    command line's exit (a pool's workers are joined at interpreter exit).
    """
    statuses: dict[str, ExecutorStatus] = {}
    lock = threading.Lock()

    def probe(entry_id: str) -> None:
        try:
            status = engine.get(entry_id).probe(timeout)
        except Exception as err:  # noqa: BLE001 - a probe failure is a status, not a crash
            status = ExecutorStatus(False, f"probe failed: {err}")
        with lock:
            statuses[entry_id] = status

    threads = [threading.Thread(target=probe, args=(e.id,), name=f"probe-{e.id}", daemon=True)
               for e in entries if e.is_executor]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 0.5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        result = dict(statuses)
    for entry in entries:
        if entry.is_executor and entry.id not in result:
            result[entry.id] = ExecutorStatus(False, f"no answer within {timeout:g}s")
    return result


def run(args: argparse.Namespace) -> int:
    result = load(args)
    engine = Engine(result)
    entries = list(result.entries)
    statuses = probe_all(engine, entries)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        status = statuses.get(entry.id)
        rows.append({
            "id": entry.id,
            "kind": entry.kind,
            "executor": entry.is_executor,
            "ready": status.ready if status else False,
            "status": status.text if status else "not an executor",
            "commands": len(entry.whitelist),
            "source": f"{entry.location}",
        })
    if args.json:
        say(json.dumps({"executors": rows, "problems": [p.format() for p in result.problems]}, indent=2))
        return 0
    if not rows:
        for problem in result.errors:
            STDERR.line(problem.format())
        STDERR.line("no entries found")
        return 2
    width = max((len(r["id"]) for r in rows), default=0)
    for row in rows:
        commands = f"{row['commands']} commands" if row["commands"] else "any command"
        if not row["executor"]:
            commands = ""
        say(f"{row['id']:<{width}}  {row['kind']:<11}  {row['status']:<32}  {commands}".rstrip())
    if result.problems:
        STDERR.line(f"({len(result.problems)} problem(s) in the entry files: run `execdeck check`)")
    return 0
