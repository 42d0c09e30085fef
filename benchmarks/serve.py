"""BSV (information): what one visitor of ``execdeck serve`` costs, and many at once.

Against the real server on loopback, on the sample entries, through the websocket as a browser uses it:

* ``list_s``: from opening the websocket to the executor list drawn; ``ready_s``: to every status probed;
* per session, once the REPL has evaluated a chunk (its Lua worker started): ``peak_rss_mib``, the peak
  RSS (VmHWM) of the keeper, the console and the Lua worker added up, ``pss_mib`` their proportional set
  size (shared pages counted once across sessions, so it is what each more visitor adds), and
  ``start_cpu_s``, the CPU time the console and its worker took to get there;
* ``together``: that many visitors connecting at once, ``together_list_s`` until the last one's list is
  drawn, ``together_pss_mib`` all of them, and ``idle_cpu_pct`` what one idle console then uses.

No baseline: the figures are absolute, for sizing a demo machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.serve.servetools import ENTER, F3, ServeProcess, Visitor, descendants
from tui.core.pids import children

SAMPLES = Path(__file__).resolve().parents[1] / "sample_entries"
_TICK = os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _session_pids(server: ServeProcess) -> list[list[int]]:
    """For each visitor now: its keeper and everything below it (console, Lua worker)."""
    return [[keeper, *descendants(keeper)] for keeper in server.keepers()]


async def _visit(visitor: Visitor, repl: bool) -> tuple[float, float]:
    """Connect, wait for the list and the statuses (seconds from the connect); with ``repl``, evaluate a
    chunk so that the Lua worker runs."""
    started = time.monotonic()
    await visitor.enter()
    await visitor.connect()
    await visitor.see("sandbox  docker", timeout=120)
    listed = time.monotonic() - started
    await visitor.see("sandbox  docker  ●", timeout=120)  # probed, whatever the answer
    ready = time.monotonic() - started
    if repl:
        await visitor.send("focus")
        await visitor.see("Pull image", timeout=60)
        mark = len(visitor.received)
        await visitor.type(F3)
        await visitor.see("Cancel/clear", since=mark, timeout=60)
        mark = len(visitor.received)
        await visitor.type("return 6 * 7" + ENTER)
        await visitor.see("42", since=mark, timeout=60)
    return listed, ready


async def _measure(sequential: int, together: int, folder: Path) -> dict[str, Any]:
    server = ServeProcess(["--entries", str(SAMPLES), "--max-sessions", str(together),
                           "--max-per-address", str(together)], folder)
    try:
        lists, readies, peaks, psses, cpus = [], [], [], [], []
        for _ in range(sequential):
            async with Visitor(server) as visitor:
                listed, ready = await _visit(visitor, repl=True)
                (pids,) = _session_pids(server)
                lists.append(listed)
                readies.append(ready)
                peaks.append(sum(_status_kib(pid, "VmHWM") for pid in pids) / 1024)
                psses.append(sum(_pss_kib(pid) for pid in pids) / 1024)
                cpus.append(sum(_cpu_s(pid) for pid in pids))
            while server.keepers():
                await asyncio.sleep(0.1)
        visitors = [Visitor(server) for _ in range(together)]
        try:
            started = time.monotonic()
            await asyncio.gather(*(_visit(visitor, repl=False) for visitor in visitors))
            all_listed = time.monotonic() - started
            sessions = _session_pids(server)
            total_pss = sum(_pss_kib(pid) for pids in sessions for pid in pids) / 1024
            before = {pid: _cpu_s(pid) for pids in sessions for pid in pids}
            await asyncio.sleep(10)
            idle = sum(_cpu_s(pid) - used for pid, used in before.items()) / 10 / len(sessions) * 100
            server_rss = _status_kib(server.pid, "VmRSS") / 1024
        finally:
            for visitor in visitors:
                await visitor.__aexit__()
        return {
            "list_s": round(statistics.median(lists), 2), "ready_s": round(statistics.median(readies), 2),
            "peak_rss_mib": round(statistics.median(peaks), 1), "pss_mib": round(statistics.median(psses), 1),
            "start_cpu_s": round(statistics.median(cpus), 2), "together": together,
            "together_list_s": round(all_listed, 2), "together_pss_mib": round(total_pss, 1),
            "idle_cpu_pct": round(idle, 2), "server_rss_mib": round(server_rss, 1), "runs": sequential,
            "processes_per_session": len(sessions[0]) if sessions else 0,
        }
    finally:
        server.stop()
        assert not children(server.pid)


def run_bsv(sequential: int = 3, together: int = 10) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="execdeck-bsv-") as folder:
        return asyncio.run(_measure(sequential, together, Path(folder)))
