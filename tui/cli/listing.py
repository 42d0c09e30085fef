"""``execdeck list``: the executors with kind and status, one a line (``--json`` for machines)."""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from tui.cli.common import load
from tui.core.engine import Engine
from tui.core.entries import Entry
from tui.core.executors.base import ExecutorStatus

#: The whole listing never waits longer than this for slow hosts.
PROBE_DEADLINE = 3.0


def probe_all(engine: Engine, entries: list[Entry], timeout: float = PROBE_DEADLINE) -> dict[str, ExecutorStatus]:
    """Probe every executor in parallel; those that did not answer in time say so."""
    statuses: dict[str, ExecutorStatus] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(8, len(entries))), thread_name_prefix="probe")
    futures = {pool.submit(engine.get(e.id).probe, timeout): e.id for e in entries if e.is_executor}
    done, _ = wait(futures, timeout=timeout + 0.5)
    for future, entry_id in futures.items():
        if future in done:
            try:
                statuses[entry_id] = future.result()
            except Exception as err:  # noqa: BLE001 - a probe failure is a status, not a crash
                statuses[entry_id] = ExecutorStatus(False, f"probe failed: {err}")
        else:
            statuses[entry_id] = ExecutorStatus(False, f"no answer within {timeout:g}s")
    pool.shutdown(wait=False, cancel_futures=True)
    return statuses


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
        print(json.dumps({"executors": rows, "problems": [p.format() for p in result.problems]}, indent=2))
        return 0
    if not rows:
        print("no entries found")
    width = max((len(r["id"]) for r in rows), default=0)
    for row in rows:
        commands = f"{row['commands']} commands" if row["commands"] else "any command"
        if not row["executor"]:
            commands = ""
        print(f"{row['id']:<{width}}  {row['kind']:<11}  {row['status']:<32}  {commands}".rstrip())
    if result.problems:
        print(f"({len(result.problems)} problem(s) in the entry files: run `execdeck check`)")
    return 0
