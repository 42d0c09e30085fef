"""A run tab's content: header, output pane, status line, find bar and stdin bar.

The app creates one ``RunView`` per run, feeds it with :meth:`RunView.append` (any thread), updates the
header with :meth:`RunView.update_info`, and handles the messages posted from inside it:
:class:`OutputPane.StdinLine`, :class:`OutputPane.EndOfInput` and :class:`OutputPane.SignalRequest`.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container

from tui.ui.output_buffer import SearchError, Stream
from tui.ui.run_info import RunInfo
from tui.ui.settings import DEFAULT_SCROLLBACK
from tui.ui.widgets.output_pane import OutputPane, PaneStatus
from tui.ui.widgets.run_bars import FindBar, PaneStatusLine, StdinBar
from tui.ui.widgets.run_header import RunHeader


class RunView(Container):
    """Everything about one run; see the module docstring for how the app drives it."""

    DEFAULT_CSS = """
    RunView {
        layout: vertical;
        & > OutputPane { height: 1fr; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "open_find('search')", "Search"),
        Binding("f", "open_find('filter')", "Filter"),
        Binding("s", "open_find('save')", "Save"),
        Binding("escape", "clear", "Clear search/filter", show=False),
        Binding("i", "focus_stdin", "Stdin"),
        Binding("ctrl+c", f"signal({int(signal.SIGINT)})", "SIGINT"),
        Binding("ctrl+t", f"signal({int(signal.SIGTERM)})", "SIGTERM"),
        Binding("ctrl+backslash", f"signal({int(signal.SIGKILL)})", "SIGKILL"),
    ]

    def __init__(
        self, info: RunInfo, *, max_lines: int = DEFAULT_SCROLLBACK, stdin: bool = True,
        id: str | None = None, classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._info = info
        # Made here and kept: append() runs on I/O threads for every chunk, where a DOM query is neither
        # cheap nor safe.
        self._pane = OutputPane(max_lines=max_lines)
        self._stdin = stdin

    def compose(self) -> ComposeResult:
        yield RunHeader(self._info)
        yield self._pane
        yield PaneStatusLine()
        yield FindBar()
        if self._stdin:
            yield StdinBar()

    def on_mount(self) -> None:
        self.watch(self.pane, "status", self._show_status)
        # At once rather than through ``focus()``, whose deferred call could land after a key that
        # already took the operator elsewhere.
        self.screen.set_focus(self.pane)

    @property
    def pane(self) -> OutputPane:
        """The output pane of this run."""
        return self._pane

    def append(self, stream: Stream, data: bytes) -> None:
        """Queue output for the pane. Safe from any thread (see :meth:`OutputPane.append`)."""
        self.pane.append(stream, data)

    def update_info(self, info: RunInfo) -> None:
        """Show a new snapshot of the run in the header (UI thread). A view being removed (its tab closed, the
        console quitting) has no header any more, and a run's end may still arrive: nothing to show then."""
        for header in self.query(RunHeader):
            header.info = info

    def _show_status(self, status: PaneStatus) -> None:
        for line in self.query(PaneStatusLine):  # none while the view is being removed
            line.show(status)

    # -- actions -----------------------------------------------------------------------------------

    def action_open_find(self, mode: str) -> None:
        """Open the find bar for a search (``/``), a filter (``f``) or a save path (``s``)."""
        assert mode in ("search", "filter", "save")
        if mode == "save" and not getattr(self.app, "WRITES_FILES", True):
            self.notify("saving writes into the server's files, which a served console may not do: "
                        "copy the output instead (Y)", title="Save", severity="warning")
            return
        self.query_one(FindBar).open(mode)  # type: ignore[arg-type]

    def action_clear(self) -> None:
        """Drop the search highlights and the filter."""
        self.pane.clear_search()
        self.pane.clear_filter()

    def action_focus_stdin(self) -> None:
        for bar in self.query(StdinBar):
            bar.focus()

    def action_signal(self, signum: int) -> None:
        self.post_message(OutputPane.SignalRequest(signum))

    # -- the find bar ------------------------------------------------------------------------------

    def on_find_bar_changed(self, event: FindBar.Changed) -> None:
        bar = self.query_one(FindBar)
        pane = self.pane
        if event.mode == "save":
            return
        try:
            if event.mode == "search":
                if event.text:
                    pane.search(event.text, event.regex, event.case)
                else:
                    pane.clear_search()
            elif event.text:
                pane.set_filter(event.text, event.context, event.regex, event.case)
            else:
                pane.clear_filter()
        except SearchError as err:
            bar.show_error(str(err))
        else:
            bar.show_error("")

    def on_find_bar_done(self, event: FindBar.Done) -> None:
        bar = self.query_one(FindBar)
        if event.mode == "save" and event.submitted:
            if not self._save(event.text):
                return  # keep the bar open to fix the path
        elif event.mode == "search" and event.submitted:
            self.pane.action_next_match()
        bar.close()
        self.pane.focus()

    def _save(self, text: str) -> bool:
        if not text.strip():
            self.query_one(FindBar).show_error("a file path is needed")
            return False
        path = Path(text.strip()).expanduser()
        try:
            count = self.pane.save(path)
        except OSError as err:
            self.query_one(FindBar).show_error(f"cannot write {path}: {err.strerror or err}")
            return False
        self.notify(f"saved {count} lines to {path}", title="Save")
        return True
