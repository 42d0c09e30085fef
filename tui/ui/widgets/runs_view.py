"""The Runs view: the recorded history in a table, a filter, and a past run's output on demand.

Self-contained: build it with a :class:`RecordStore` (or ``None`` and the problem to show when
recording is off) and mount it. It reads the store on worker threads (never the UI thread: the
file may be locked for seconds), refreshes every :data:`REFRESH_SECONDS` and on :meth:`reload`, and
posts :class:`RunsView.Rerun` for the app to run a recorded command again (the app owns running).

Keys: ``enter`` opens the selected run's recorded output in a read-only :class:`RunView` on a
screen of its own (``b`` or ``backspace`` goes back); ``r`` re-runs; ``/`` focuses the filter.
The filter takes ``executor:ID``, ``status:failed``, ``source:cli``, ``actor:ID`` and free text
(command, executor or run id); a bare status word (``failed``) filters by status. Header clicks sort.
An Actor column appears once a listed run has an actor (a visitor of a served console, ``--actor``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from tui.core.records import STATUSES, RecordsError, RecordStore, RunRecord, format_duration
from tui.ui.run_info import RunInfo
from tui.ui.settings import DEFAULT_SCROLLBACK
from tui.ui.widgets.run_view import RunView

#: Seconds between two refreshes of the table.
REFRESH_SECONDS = 3.0
#: Rows shown at most (newest first, before sorting).
ROW_LIMIT = 500

_COLUMNS: tuple[tuple[str, str, Callable[[RunRecord], Any]], ...] = (
    ("time", "Time", lambda r: r.started_at),
    ("run", "Run", lambda r: r.run_id),
    ("executor", "Executor", lambda r: r.executor_id),
    ("command", "Command", lambda r: r.command),
    ("duration", "Duration", lambda r: -1.0 if r.duration is None else r.duration),
    ("result", "Result", lambda r: r.result_text),
    ("source", "Source", lambda r: r.source),
    ("actor", "Actor", lambda r: r.actor),
)
#: Columns shown only once a listed run has a value in them.
_WHEN_USED = frozenset({"actor"})


@dataclass(frozen=True)
class RunFilter:
    """What the filter input asks for (see the module docstring for the syntax)."""

    executor: str | None = None
    status: str | None = None
    source: str | None = None
    actor: str | None = None
    text: str | None = None

    @classmethod
    def parse(cls, query: str) -> RunFilter:
        fields: dict[str, str] = {}
        words: list[str] = []
        for word in query.split():
            key, sep, value = word.partition(":")
            if sep and key in ("executor", "status", "source", "actor") and value:
                fields[key] = value
            elif word in STATUSES:
                fields["status"] = word
            else:
                words.append(word)
        return cls(text=" ".join(words) or None, **fields)


def run_info(record: RunRecord) -> RunInfo:
    """The header snapshot of a recorded run."""
    ok = None if record.status in ("running", "interrupted") else record.status == "ok"
    return RunInfo(
        executor_id=record.executor_id, command=record.command, argv=record.argv, state=record.status,
        handle=record.handle, started_at=record.started_at, ended_at=record.ended_at or record.started_at,
        exit_text=record.result_text, ok=ok, stdout_bytes=record.stdout_bytes, stderr_bytes=record.stderr_bytes,
        lines=record.stdout_lines + record.stderr_lines,
    )


class RecordedRunScreen(Screen[None]):
    """A past run's recorded output in a read-only :class:`RunView` (search, filter, copy, save)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b,backspace", "back", "Back"),
        Binding("r", "rerun", "Re-run"),
    ]

    def __init__(self, store: RecordStore, record: RunRecord, runs_view: RunsView,
                 max_lines: int = DEFAULT_SCROLLBACK) -> None:
        super().__init__()
        self.loaded = False
        """True once the whole recorded output was queued to the pane (tests wait on it)."""
        self.store = store
        self.record = record
        self._runs_view = runs_view
        self._max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield RunView(run_info(self.record), max_lines=self._max_lines, stdin=False)
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._load, thread=True, name="recorded-output", exit_on_error=False)

    @property
    def view(self) -> RunView:
        return self.query_one(RunView)

    def _load(self) -> None:
        view = self.view  # RunView.append is safe from a thread
        try:
            for stream, data in self.store.iter_output(self.record.run_id):
                view.append(stream, data)
        except RecordsError as err:
            view.append("stderr", f"\n[execdeck: {err}]\n".encode())
        if self.record.truncated:
            view.append("stderr", f"\n[execdeck: output truncated: {self.record.output_dropped} more bytes "
                        "were not recorded]\n".encode())
        self.loaded = True

    def action_back(self) -> None:
        self.dismiss(None)

    def action_rerun(self) -> None:
        self._runs_view.request_rerun(self.record)


class RunsView(Container):
    """The history table; see the module docstring. ``store=None`` shows ``problem`` instead."""

    DEFAULT_CSS = """
    RunsView {
        layout: vertical;
        & > Input { height: 3; }
        & > DataTable { height: 1fr; }
        & > #runs-status { height: 1; padding: 0 1; color: $text-muted; }
        & > #runs-problem { padding: 1 2; color: $text-warning; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rerun", "Re-run"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("ctrl+r", "reload", "Refresh", show=False),
    ]

    class Rerun(Message):
        """The operator asked to run a recorded command again (the app decides how: same executor,
        same work dir; the env values were never recorded, only ``env_names``)."""

        def __init__(self, executor_id: str, command: str, work_dir: str, env_names: tuple[str, ...]) -> None:
            super().__init__()
            self.executor_id = executor_id
            self.command = command
            self.work_dir = work_dir
            self.env_names = env_names

    class Loaded(Message):
        """The table was filled from the store (``count`` rows); posted after every refresh."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(self, store: RecordStore | None, problem: str | None = None, *,
                 max_lines: int = DEFAULT_SCROLLBACK, actor: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        """``max_lines``: the scrollback of a recorded run's view (the operator's setting, as for live runs);
        ``actor``: show that actor's runs only, whatever the filter says (a served visitor's console)."""
        super().__init__(id=id, classes=classes)
        self.store = store
        self.problem = problem
        self.max_lines = max_lines
        self.actor = actor
        self.records: list[RunRecord] = []
        """The rows shown, in table order."""
        self._filter = RunFilter()
        self._sort: tuple[str, bool] = ("time", True)  # newest first

    def compose(self) -> ComposeResult:
        if self.store is None:
            yield Static(self.problem or "run records are off (EXECDECK_RECORDS=off)", id="runs-problem")
            return
        yield Input(placeholder="filter: text, executor:ID, status:failed, source:cli", id="runs-filter")
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True, id="runs-table")
        for key, label, _ in _COLUMNS:
            if key not in _WHEN_USED:
                table.add_column(label, key=key)
        yield table
        yield Static("", id="runs-status")

    def on_mount(self) -> None:
        if self.store is not None:
            self.reload()
            self.set_interval(REFRESH_SECONDS, self.reload)

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#runs-table", DataTable)

    # -- loading -----------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the store again (on a worker thread) and refill the table."""
        if self.store is not None:
            self.run_worker(self._fetch, thread=True, exclusive=True, group="runs-fetch", exit_on_error=False)

    def _fetch(self) -> None:
        store, wanted = self.store, self._filter
        assert store is not None
        try:
            records = store.list_runs(executor=wanted.executor, status=wanted.status,  # type: ignore[arg-type]
                                      source=wanted.source, actor=self.actor or wanted.actor, text=wanted.text,
                                      limit=ROW_LIMIT)
            problem = None
        except RecordsError as err:
            records, problem = [], str(err)
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._show, records, problem)

    def _show(self, records: list[RunRecord], problem: str | None) -> None:
        if not self.is_mounted:
            return
        key, reverse = self._sort
        getter = next(g for k, _, g in _COLUMNS if k == key)
        self.records = sorted(records, key=getter, reverse=reverse)
        table = self.table
        selected = self.selected
        table.clear()
        for key, label, getter in _COLUMNS:
            if key in _WHEN_USED and key not in table.columns and any(getter(r) for r in self.records):
                table.add_column(label, key=key)
        for record in self.records:
            when = datetime.fromtimestamp(record.started_at).strftime("%m-%d %H:%M:%S")
            cells = [when, record.run_id, record.executor_id, record.command, format_duration(record.duration),
                     record.result_text, record.source, record.actor]
            table.add_row(*cells[:len(table.columns)], key=record.run_id)
        if selected is not None and selected.run_id in table.rows:
            table.move_cursor(row=table.get_row_index(selected.run_id))
        status = problem or f"{len(self.records)} runs" + (" (filtered)" if self._filter != RunFilter() else "")
        self.query_one("#runs-status", Static).update(status)
        self.post_message(self.Loaded(len(self.records)))

    # -- the operator's moves ------------------------------------------------------------------------

    @property
    def selected(self) -> RunRecord | None:
        """The run under the table's cursor, if any."""
        if self.store is None or not self.records:
            return None
        row = self.table.cursor_row
        return self.records[row] if 0 <= row < len(self.records) else None

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = RunFilter.parse(event.value)
        self.reload()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    @on(DataTable.HeaderSelected)
    def _sort_by(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        current, reverse = self._sort
        self._sort = (key, not reverse if key == current else key == "time")
        self._show(self.records, None)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        record = self.selected
        if record is not None and self.store is not None:
            self.app.push_screen(RecordedRunScreen(self.store, record, self, self.max_lines))

    def request_rerun(self, record: RunRecord) -> None:
        """Post :class:`RunsView.Rerun` for ``record`` (from the table or an opened run)."""
        self.post_message(self.Rerun(record.executor_id, record.command, record.work_dir, record.env_names))

    def action_rerun(self) -> None:
        record = self.selected
        if record is not None:
            self.request_rerun(record)

    def action_focus_filter(self) -> None:
        if self.store is not None:
            self.query_one("#runs-filter", Input).focus()

    def action_reload(self) -> None:
        self.reload()
