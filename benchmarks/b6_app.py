"""B6A: the whole console answering keys while a real process prints 2,000,000 lines into a run tab.

The console (:class:`~tui.ui.app.ExecdeckApp`, headless, 120 x 40) is left to settle (probes done, the
screen idle), then runs ``awk`` printing N lines of build-log text (a colour every tenth line) through a
native executor from its own run path, so the bytes go process -> pipe -> reactor -> ``RunFeed`` ->
``OutputPane`` exactly as for an operator. While they stream, keys go in as an operator presses them:
scrolling in the run (up held down, page up, end), a tab switch to the REPL, typing and deleting there, a
switch to the executors and back to the run; each key after the previous one was answered and after a
pause of an operator (a key held down repeats every 30 ms, typing goes at ten keys a second, and the next
key after a tab switch, the run's own tab included, comes a quarter of a second later, once the eyes are
on the new tab). Each key's latency runs from posting it to its handler running (see
:class:`~benchmarks.b6_pane.KeyClock`). Reported: lines per second into the pane (from the run's start
until every line is counted there, kept or skipped) and the p95 of every key's latency, with the p95 per
kind of key for information. A key unanswered for 5 s ends the run's presses; it counts with the 5 s
it waited, and the count of such keys is reported.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

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
# Pauses of an operator between two presses, in seconds: a held key repeats, typing goes at a fast
# typist's pace, and after a tab switch the eyes go to the new tab before the next key.
REPEAT, TYPING, LOOK = 0.03, 0.1, 0.25
# One round of keys, from the run tab back to it: (key, character typed, kind, least pause since the last
# press). A key waits for the one before it to be answered, however long that takes.
SCRIPT: tuple[tuple[str, str | None, str, float], ...] = (
    ("up", None, "scroll", LOOK), ("up", None, "scroll", REPEAT), ("pageup", None, "scroll", TYPING),
    ("up", None, "scroll", TYPING), ("end", None, "scroll", TYPING),
    ("f3", None, "tab", TYPING),  # to the REPL
    ("a", "a", "type", LOOK), ("b", "b", "type", TYPING), ("c", "c", "type", TYPING),
    ("backspace", None, "type", TYPING), ("backspace", None, "type", REPEAT), ("backspace", None, "type", REPEAT),
    ("f2", None, "tab", TYPING),  # to the executors
    ("left_square_bracket", "[", "tab", LOOK),  # back to the run, the last tab
)
UNANSWERED = 5.0
"""Seconds after which a key counts as unanswered."""


async def _measure(lines: int, folder: Path) -> tuple[float, dict[str, list[float]], int]:
    """Seconds until every line is counted in the pane, latencies by kind, keys left unanswered."""
    from textual.widgets import TextArea

    from benchmarks.b6_pane import KeyClock
    from tui.ui.app import ExecdeckApp
    from tui.ui.widgets.output_pane import OutputPane

    entries = folder / "bench.yaml"
    entries.write_text(ENTRY)
    app = ExecdeckApp([entries], sweep_orphans=False, no_record=True)
    clock = KeyClock()
    unanswered = 0
    async with app.run_test(size=SIZE) as pilot:
        while app.probes_pending or not app.statuses:
            await pilot.pause(0.02)
        await pilot.pause()  # settled: what an operator would see before starting a run
        started = time.perf_counter()
        app.run_command("bench:free", COMMAND.replace("LINES", str(lines)))
        while not (app.main.run_tabs() and app.main.run_tabs()[0].query(OutputPane)):
            await asyncio.sleep(0.005)
        pane = app.main.run_tabs()[0].query_one(OutputPane)
        while app.screen.focused is not pane:
            await asyncio.sleep(0.005)
        clock.watch(pane, "action_cursor", "action_page", "action_follow")
        clock.watch(app.main, "action_show_tab", "action_cycle_tab")
        clock.watch(app.main.query_one("#repl").query(TextArea).first(), "edit")
        script = itertools.cycle(SCRIPT)
        key, character, kind, pause = next(script)
        pressed = time.perf_counter()  # the run's tab just came up
        while pane.buffer.lines_by_stream["stdout"] < lines:
            if clock.waiting > UNANSWERED:
                clock.answer()
                unanswered += 1
                break
            if not clock.waiting and time.perf_counter() - pressed >= pause:
                clock.press(app, key, kind, character)
                pressed = time.perf_counter()
                key, character, kind, pause = next(script)
            await asyncio.sleep(0.005)
        while pane.buffer.lines_by_stream["stdout"] < lines:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        await pilot.pause()
    app.shutdown_engine()
    return elapsed, clock.latencies, unanswered


def run_b6_app(lines: int = 2_000_000, runs: int = 3) -> dict[str, Any]:
    """Lines per second into the console's pane from a real process, and the p95 key latency meanwhile.

    The default is 2,000,000 lines: 200,000 lines of this text are all in the pane about 0.2 s after the
    run starts on this kind of machine, before its tab even has the focus, which leaves no time to press
    keys "while they stream". With 2,000,000 (the pane keeps its 100,000-row scrollback and drops the
    rest, as the console does) the stream lasts seconds.
    """
    from benchmarks.b6_pane import key_p95  # with Textual, like the rest of the measurement

    rates: list[float] = []
    latencies: dict[str, list[float]] = {}
    unanswered = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            os.environ.setdefault(name, str(folder / name.lower()))
        for _ in range(runs):
            elapsed, keys, lost = asyncio.run(_measure(lines, folder))
            rates.append(lines / elapsed)
            unanswered += lost
            for kind, values in keys.items():
                latencies.setdefault(kind, []).extend(values)
    every = [ms for values in latencies.values() for ms in values]
    return {
        "product": round(statistics.median(rates)),
        "unit": "lines/s",
        "runs": runs,
        "key_p95_ms": round(key_p95(every), 1),
        "key_presses": len(every),
        "unanswered": unanswered,
        **{f"{kind}_p95_ms": round(key_p95(values), 1) for kind, values in sorted(latencies.items())},
    }


if __name__ == "__main__":
    print(run_b6_app())
