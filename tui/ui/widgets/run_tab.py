"""A run as a tab: the :class:`RunView` of one :class:`Process`, wired both ways.

Output: a :class:`RunFeed` subscribes to the process as soon as the engine reports it (on the creating
thread, before it starts, so nothing is missed); until the tab's :class:`RunView` exists it keeps the
chunks, then hands them over and passes every later chunk straight to :meth:`RunView.append`, which only
enqueues. The end: the process's exit callback (a waiter thread) posts back to the UI thread, which
flushes the pane and shows the exit code or signal name in the header.

Input: the pane's :class:`OutputPane.StdinLine`, :class:`OutputPane.EndOfInput` and
:class:`OutputPane.SignalRequest` reach the process from a thread worker (a write to a full pipe blocks);
an :class:`ExecError` becomes a notification.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual import events
from textual.app import App
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from tui.core.errors import ExecError
from tui.core.process import KILL_GRACE, Process, signal_name
from tui.ui.output_buffer import Stream
from tui.ui.run_info import RunInfo
from tui.ui.settings import DEFAULT_SCROLLBACK
from tui.ui.widgets.output_pane import OutputPane
from tui.ui.widgets.run_view import RunView

Sink = Callable[[Stream, bytes], None]
InfoFilter = Callable[[RunInfo], RunInfo]


def post_call(app: App[Any], callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``callback(*args)`` on the UI thread soon; safe from any thread, never blocks.

    This is ``post_message`` of a callback event. It is used instead of ``call_from_thread`` on the
    engine's threads (waiters, the Lua worker) because ``call_from_thread`` waits for the UI, and would
    wait forever if the app stopped before running it. After the app closed it does nothing.
    """
    with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody to tell
        app.call_later(callback, *args, **kwargs)


class RunFeed:
    """The output of one process on its way to a tab. Thread-safe; see the module docstring."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.lines = 0
        """Newlines received on both streams (for the header)."""
        self._lock = threading.Lock()
        self._pending: list[tuple[Stream, bytes]] = []
        self._sink: Sink | None = None
        self._unsubscribe = process.subscribe(self._on_chunk, replay=True)

    def _on_chunk(self, stream: Stream, data: bytes) -> None:
        # Runs on pump threads: count and enqueue only.
        with self._lock:
            self.lines += data.count(b"\n")
            if self._sink is None:
                self._pending.append((stream, data))
                return
            sink = self._sink
        sink(stream, data)

    def attach(self, sink: Sink) -> None:
        """Send what came so far, then every new chunk, to ``sink`` (which must only enqueue)."""
        with self._lock:
            for stream, data in self._pending:
                sink(stream, data)
            self._pending.clear()
            self._sink = sink

    def close(self) -> None:
        """Stop receiving (the tab closed)."""
        self._unsubscribe()
        with self._lock:
            self._sink = None
            self._pending.clear()


def run_info(process: Process, lines: int, now_wall: float | None = None, now_mono: float | None = None, *,
             show_end: bool = True) -> RunInfo:
    """A header snapshot of ``process`` (its times turned from wall clock to ``time.monotonic``). Without
    ``show_end``, a process that ended is shown as still running (its pane has not shown all it printed)."""
    wall = time.time() if now_wall is None else now_wall
    mono = time.monotonic() if now_mono is None else now_mono
    spec = process.spec
    status = process.exit_status if show_end else None
    started = None if process.started_at is None else mono - (wall - process.started_at)
    ended_at = process.ended_at if show_end else None
    ended = None if ended_at is None or started is None else mono - (wall - ended_at)
    if status is None:
        state = "running" if process.started_at is not None else "starting"
    elif status.error is not None:
        state = "failed"
    elif status.timed_out:
        state = "timed out"
    elif status.signal is not None or status.oom_killed:
        state = "killed"
    else:
        state = "exited"
    return RunInfo(
        executor_id=spec.executor_id, command=spec.command, argv=spec.argv, state=state, handle=process.handle_text,
        started_at=started, ended_at=ended,
        exit_text="" if status is None else status.describe(),
        ok=None if status is None else status.ok,
        stdout_bytes=process.buffer("stdout").total, stderr_bytes=process.buffer("stderr").total, lines=lines,
    )


def tab_title(process: Process, *, show_end: bool = True) -> str:
    """``▶ app:shell: sleep 30`` while running (or while its end is not shown yet: ``show_end``); ✓ or ✗ once
    ended. Short enough for a tab."""
    status = process.exit_status if show_end else None
    mark = "▶" if status is None else ("✓" if status.ok else "✗")
    command = process.spec.command
    if len(command) > 24:
        command = command[:23] + "…"
    return f"{mark} {process.spec.executor_id}: {command}"


class RunTab(TabPane):
    """The tab of one run. ``info_filter`` lets tests freeze pids and times in the header."""

    def __init__(
        self, feed: RunFeed, *, max_lines: int = DEFAULT_SCROLLBACK, info_filter: InfoFilter | None = None,
        background: bool = False, return_focus: Widget | None = None,
    ) -> None:
        """``background``: open without taking the focus, which goes back to ``return_focus`` (a run started
        from Lua must not switch tabs under the operator's hands; the view focuses its pane as it mounts)."""
        self.feed = feed
        self._background = background
        self._return_focus = return_focus
        self.process = feed.process
        self._info_filter = info_filter
        self._end_shown = False
        stdin = True
        super().__init__(
            tab_title(self.process, show_end=False),  # the end shows once the pane shows everything
            RunView(self._info(), max_lines=max_lines, stdin=stdin),
            id=f"run-{self.process.run_id}",
        )

    @property
    def view(self) -> RunView:
        return self.query_one(RunView)

    def _info(self) -> RunInfo:
        # The end is shown once the pane shows everything (_show_end): the once-a-second refresh, between the
        # process's end and then, would otherwise say "exited" above a pane that is still empty.
        info = run_info(self.process, self.feed.lines, show_end=self._end_shown)
        return self._info_filter(info) if self._info_filter is not None else info

    def on_mount(self) -> None:
        self.feed.attach(self.view.append)
        self._ticker = self.set_interval(1.0, self._refresh_info)
        self.process.add_exit_callback(lambda _process: post_call(self.app, self._ended))

    def _on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Textual also runs TabPane's own handler (which shows this tab) unless the default is prevented.
        background, self._background = self._background, False
        if not background:
            return
        event.prevent_default()
        # At once: a deferred focus() could land after the operator's next tab key, and switch back.
        self.screen.set_focus(
            self._return_focus if self._return_focus is not None and self._return_focus.is_attached else None)

    def _refresh_info(self) -> None:
        for view in self.query(RunView):
            view.update_info(self._info())

    def _ended(self) -> None:
        if not self.is_attached or not self.query(RunView):
            return  # the tab closed meanwhile
        # The header says how it ended once the pane shows all it printed, as an operator reads them.
        self.view.pane.finish(then=self._show_end)

    def _show_end(self) -> None:
        if not self.is_attached or not self.query(RunView):
            return  # the tab closed meanwhile
        self._end_shown = True
        self._refresh_info()
        self._ticker.stop()
        for ancestor in self.ancestors:
            if isinstance(ancestor, TabbedContent):
                with contextlib.suppress(Exception):  # the tab may be on its way out
                    ancestor.get_tab(self).label = tab_title(self.process)
                break

    @property
    def running(self) -> bool:
        """Launched and not yet ended."""
        return self.process.running

    def stop(self) -> None:
        """End the run for good: SIGTERM now, SIGKILL after the grace if it is still going."""
        self.process.close(False)
        process = self.process
        self.app.set_timer(KILL_GRACE + 0.5, lambda: process.close(True))

    def on_unmount(self) -> None:
        self.feed.close()

    # -- the pane's requests -----------------------------------------------------------------------

    def on_output_pane_stdin_line(self, message: OutputPane.StdinLine) -> None:
        message.stop()
        self._to_process("write stdin", lambda: self.process.write_stdin(message.text.encode() + b"\n"))

    def on_output_pane_end_of_input(self, message: OutputPane.EndOfInput) -> None:
        message.stop()
        self._to_process("end input", lambda: self.process.write_stdin(b""))
        self.notify("end of input sent", timeout=2)

    def on_output_pane_signal_request(self, message: OutputPane.SignalRequest) -> None:
        message.stop()
        name = signal_name(message.signum)
        self._to_process(f"send {name}", lambda: self.process.signal(message.signum))

    def _to_process(self, what: str, action: Callable[[], None]) -> None:
        def work() -> None:
            try:
                action()
            except ExecError as err:
                post_call(self.app, self.app.notify, f"cannot {what}: {err.message}", severity="error")
            except Exception as err:  # noqa: BLE001 - shown to the operator, never a traceback
                post_call(self.app, self.app.notify, f"cannot {what}: {err}", severity="error")

        self.run_worker(work, thread=True, exit_on_error=False, group="run-io", name=what)


def frozen_info(info: RunInfo) -> RunInfo:
    """An ``info_filter`` for snapshots: a fixed handle and times, so the header never changes.

    The handle keeps its kind's word (``pid``, ``container``) and gets a fixed value of the same shape:
    ``4242`` for a number, ``0123456789ab`` for anything else."""
    label, _, value = info.handle.rpartition(" ")
    handle = f"{label} {'4242' if value.isdigit() else '0123456789ab'}" if info.handle else ""
    ended = 1000.0 + 1.5 if info.ended_at is not None else None
    return replace(info, handle=handle, started_at=1000.0 if info.started_at is not None else None,
                   ended_at=ended if ended is not None else (1001.5 if info.started_at is not None else None))
