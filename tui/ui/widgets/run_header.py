"""The header of a run tab: who runs what, its state, and how much output came."""

from __future__ import annotations

import time

from textual.content import Content
from textual.reactive import var
from textual.widgets import Static

from tui.ui.run_info import RunInfo, format_bytes, format_elapsed


class RunHeader(Static):
    """Two lines from a :class:`RunInfo`; set :attr:`info` to update. Elapsed time ticks while running."""

    DEFAULT_CSS = """
    RunHeader {
        height: 2;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    info: var[RunInfo] = var(RunInfo(executor_id="", command=""))
    """The run shown; a new value redraws the header."""

    def __init__(self, info: RunInfo, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(RunHeader.info, info)

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        self.update(self.describe(self.info, time.monotonic()), layout=False)

    def watch_info(self, info: RunInfo) -> None:
        self.update(self.describe(info, time.monotonic()), layout=False)

    def _tick(self) -> None:
        if self.info.started_at is not None and self.info.ended_at is None:
            self.update(self.describe(self.info, time.monotonic()), layout=False)

    @staticmethod
    def describe(info: RunInfo, now: float) -> Content:
        """The header's content; colours are theme variables (exit ok/failed)."""
        if info.ok is None:
            outcome = Content(info.exit_text)
        else:
            variable = "$execdeck-exit-ok" if info.ok else "$execdeck-exit-failed"
            outcome = Content.from_markup(f"[bold {variable}]$text[/]", text=info.exit_text or info.state)
        handle = f"  {info.handle}" if info.handle else ""
        first = Content.from_markup(
            "[bold]$executor[/] [dim]·[/] $command  [dim]│[/] $state$handle  [dim]│[/] $elapsed  ",
            executor=info.executor_id,
            command=info.command,
            state=info.state,
            handle=handle,
            elapsed=format_elapsed(info.elapsed(now)),
        )
        second = Content.from_markup(
            "[dim]argv[/] $argv  [dim]│ out[/] $out  [dim]err[/] $err  [dim]lines[/] $lines",
            argv=" ".join(_quote(arg) for arg in info.argv) or "-",
            out=format_bytes(info.stdout_bytes),
            err=format_bytes(info.stderr_bytes),
            lines=str(info.lines),
        )
        return Content.assemble(first, outcome, "\n", second)


def _quote(arg: str) -> str:
    """An argv item as the operator would type it: quoted only when it needs to be."""
    return arg if arg and not any(c.isspace() or c in "'\"\\" for c in arg) else repr(arg)
