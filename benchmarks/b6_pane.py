"""B6 (pane half): lines per second into one output pane, headless, against Textual's ``Log``.

Product: a thread appends the output as a process reader would (64 KiB chunks of raw bytes) to an
``OutputPane`` inside a ``RunView``; the pane's timer drains it. Baseline: the same lines written into a
``Log`` from a thread with ``call_from_thread(log.write_lines, batch)``, 1,000 lines per batch (the way
``Log`` is fast). Each measure runs from the first byte until every line is in the widget and the screen
has refreshed. Product and baseline alternate; the ratio is the median of the per-pair ratios.

Key latency: while 200,000 lines stream into the pane, ``up`` is pressed every ~20 ms; the time from
posting the key to the pane's handler running is recorded, and the p95 reported.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Log

from tui.ui.run_info import RunInfo
from tui.ui.themes import DEFAULT_VARIABLES
from tui.ui.widgets.output_pane import OutputPane
from tui.ui.widgets.run_view import RunView

SIZE = (120, 40)
CHUNK = 64 * 1024


def make_lines(count: int) -> list[str]:
    """Lines like a build log: varied lengths, a few ANSI colours (the pane must parse those)."""
    return [
        f"\x1b[32mok\x1b[0m step {i}: compiled module_{i % 97}.c in {i % 13}.{i % 7} ms"
        if i % 10 == 0
        else f"step {i}: checking dependency {i % 331} of target {i % 17} ... done"
        for i in range(count)
    ]


class _PaneApp(App[None]):
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DEFAULT_VARIABLES)

    def compose(self) -> ComposeResult:
        yield RunView(RunInfo(executor_id="bench", command="b6"), max_lines=250_000, stdin=False)


class _LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Log(max_lines=250_000)


def _chunks(lines: list[str]) -> list[bytes]:
    data = ("\n".join(lines) + "\n").encode()
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]



class KeyClock:
    """Times key presses (B6, B6A): :meth:`press` posts a key to the app the way a terminal's driver does,
    and the first call of a watched handler after it (:meth:`watch`) records the latency in ms, by kind.

    "Answered" means the key's handler ran: what the key changed is drawn on the next screen update.
    """

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        """Milliseconds from posting to the handler, per kind of key."""
        self._pending: tuple[str, float] | None = None

    def watch(self, target: object, *methods: str) -> None:
        """Let calls of ``target``'s ``methods`` (bound methods of this instance) answer a pending key."""
        for name in methods:
            original = getattr(target, name)

            def timed(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                self.answer()
                return _original(*args, **kwargs)

            setattr(target, name, timed)

    def press(self, app: App[Any], key: str, kind: str, character: str | None = None) -> None:
        """Post ``key`` (with the ``character`` it types, if any) and start its clock."""
        self._pending = (kind, time.perf_counter())
        app.post_message(events.Key(key, character))

    def answer(self) -> None:
        """Record the pending key's latency now (the watched handlers call this; a benchmark that gives
        up on a key too, which then counts with a lower bound of its latency)."""
        if self._pending is not None:
            kind, pressed = self._pending
            self._pending = None
            self.latencies.setdefault(kind, []).append((time.perf_counter() - pressed) * 1000)

    @property
    def waiting(self) -> float:
        """Seconds the pending key has waited; 0 when none is pending."""
        return 0.0 if self._pending is None else time.perf_counter() - self._pending[1]

    def all(self) -> list[float]:
        """Every latency, all kinds together."""
        return [ms for kind in self.latencies.values() for ms in kind]


async def _measure_pane(lines: list[str], keys: bool = False) -> tuple[float, list[float]]:
    """Seconds to get every line into the pane (and latencies of keys pressed meanwhile, in ms)."""
    app = _PaneApp()
    chunks = _chunks(lines)
    clock = KeyClock()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(OutputPane)
        await pilot.pause()
        clock.watch(pane, "action_cursor")
        start = time.perf_counter()

        def feed() -> None:
            for chunk in chunks:  # as a process reader would: raw chunks, from its own thread
                pane.append("stdout", chunk)

        feeder = threading.Thread(target=feed, name="b6-feed")
        feeder.start()
        while len(pane.buffer) + pane.buffer.dropped_lines < len(lines):
            if keys and not clock.waiting:
                clock.press(app, "up", "scroll")
            await asyncio.sleep(0.02 if keys else 0.005)
        await pilot.pause()
        elapsed = time.perf_counter() - start
        feeder.join()
    return elapsed, clock.all()


async def _measure_log(lines: list[str]) -> float:
    app = _LogApp()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(Log)
        await pilot.pause()
        done = threading.Event()

        def feed() -> None:
            for i in range(0, len(lines), 1000):
                app.call_from_thread(log.write_lines, lines[i : i + 1000])
            done.set()

        start = time.perf_counter()
        threading.Thread(target=feed, name="b6-log-feed").start()
        while not done.is_set():
            await asyncio.sleep(0.005)
        await pilot.pause()
        elapsed = time.perf_counter() - start
    return elapsed


def key_p95(latencies: list[float]) -> float:
    """The 95th percentile of key-press latencies (ms); NaN with fewer than two."""
    return statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else float("nan")


def run_b6(lines: int = 200_000, runs: int = 3) -> dict[str, Any]:
    """Run B6's pane half; returns the figures as ``benchmarks/results.json`` wants them."""
    data = make_lines(lines)
    ratios: list[float] = []
    products: list[float] = []
    baselines: list[float] = []
    for _ in range(runs):
        product_s, _ = asyncio.run(_measure_pane(data))
        baseline_s = asyncio.run(_measure_log(data))
        products.append(lines / product_s)
        baselines.append(lines / baseline_s)
        ratios.append(products[-1] / baselines[-1])
    _, latencies = asyncio.run(_measure_pane(data, keys=True))
    p95 = key_p95(latencies)
    return {
        "ratio": round(statistics.median(ratios), 3),
        "product": round(statistics.median(products)),
        "baseline": round(statistics.median(baselines)),
        "unit": "lines/s",
        "runs": runs,
        "key_p95_ms": round(p95, 1),
        "key_presses": len(latencies),
    }


if __name__ == "__main__":
    print(run_b6())
