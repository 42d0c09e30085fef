"""B6 (full-app half): key latency in the whole console while a real process streams 200,000 lines.

The console (:class:`~tui.ui.app.ExecdeckApp`, headless, 120 x 40) runs ``awk`` printing N lines of
build-log text (a colour every tenth line) through a native executor from its own run
dialog path, so the bytes go process -> pipe -> reactor -> ``RunFeed`` -> ``OutputPane`` exactly as
for an operator. While they stream, ``up`` is posted every ~20 ms to the focused pane and the time from
posting to the pane's handler running is recorded. Reported: lines per second into the pane (from the
run's start until every line is in the buffer) and the p95 key latency. There is no baseline here (the
pane-vs-``Log`` ratio is :mod:`benchmarks.b6_pane`'s); the figure to watch is ``key_p95_ms`` < 100.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from textual import events

SIZE = (120, 40)
# Lines like b6_pane's build log (a colour every tenth line), printed by a real process as fast as it can.
COMMAND = (
    "awk 'BEGIN { for (i = 0; i < LINES; i++) "
    "if (i % 10 == 0) printf \"\\033[32mok\\033[0m step %d: compiled module_%d.c in %d.%d ms\\n\", "
    "i, i % 97, i % 13, i % 7; "
    "else printf \"step %d: checking dependency %d of target %d ... done\\n\", i, i % 331, i % 17 }'"
)
ENTRY = """namespace: bench
entries:
  - name: free
    kind: exec.native
    default_env: {PATH: /usr/bin:/bin}
"""


async def _measure(lines: int, folder: Path) -> tuple[float, list[float]]:
    from benchmarks.b6_pane import time_cursor_keys
    from tui.ui.app import ExecdeckApp
    from tui.ui.widgets.output_pane import OutputPane

    entries = folder / "bench.yaml"
    entries.write_text(ENTRY)
    app = ExecdeckApp([entries], sweep_orphans=False, no_record=True)
    latencies: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        while app.probes_pending or not app.statuses:
            await pilot.pause(0.02)
        started = time.perf_counter()
        app.run_command("bench:free", COMMAND.replace("LINES", str(lines)))
        while not (app.main.run_tabs() and app.main.run_tabs()[0].query(OutputPane)):
            await asyncio.sleep(0.005)
        pane = app.main.run_tabs()[0].query_one(OutputPane)
        pressed = time_cursor_keys(pane, latencies)
        while pane.buffer.lines_by_stream["stdout"] < lines:
            if not pressed and app.screen.focused is pane:
                pressed.append(time.perf_counter())
                app.post_message(events.Key("up", None))
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        await pilot.pause()
    app.shutdown_engine()
    return elapsed, latencies


def run_b6_app(lines: int = 2_000_000, runs: int = 3) -> dict[str, Any]:
    """Lines per second into the console's pane from a real process, and the p95 key latency meanwhile.

    The default is 2,000,000 lines: 200,000 lines of this text are all in the pane about 0.2 s after the
    run starts on this kind of machine, before its tab even has the focus, which leaves no time to press
    keys "while they stream". With 2,000,000 (the pane keeps its 100,000-row scrollback and drops the
    rest, as the console does) the stream lasts seconds.
    """
    rates: list[float] = []
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            os.environ.setdefault(name, str(folder / name.lower()))
        for _ in range(runs):
            elapsed, keys = asyncio.run(_measure(lines, folder))
            rates.append(lines / elapsed)
            latencies += keys
    from benchmarks.b6_pane import key_p95  # with Textual, like the rest of the measurement

    p95 = key_p95(latencies)
    return {
        "product": round(statistics.median(rates)),
        "unit": "lines/s",
        "runs": runs,
        "key_p95_ms": round(p95, 1),
        "key_presses": len(latencies),
    }


if __name__ == "__main__":
    print(run_b6_app())
