"""Every problem of the entry files in one table (file:line, entry, field, problem, hint), and the whole
text of the selected one under it (long messages do not fit a column)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from tui.core.entries.models import Problem
from tui.ui.widgets.executor_details import display_path

MESSAGE_WIDTH = 44
"""Cells of the problem column; the full text shows under the table for the selected row."""


class ProblemsView(Vertical):
    """A read-only table of :class:`Problem` rows; :meth:`show` replaces them all."""

    DEFAULT_CSS = """
    ProblemsView {
        & > DataTable { height: 1fr; }
        & > #problem-text { height: auto; min-height: 2; padding: 0 1; background: $panel; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._problems: tuple[Problem, ...] = ()

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static(id="problem-text")

    @property
    def table(self) -> DataTable[Content | str]:
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        table = self.table
        table.add_column("", key="severity")
        table.add_column("file:line", key="where")
        table.add_column("entry", key="entry")
        table.add_column("field", key="field")
        table.add_column("problem", key="message", width=MESSAGE_WIDTH)
        table.add_column("hint", key="hint")
        self.show(self._problems)

    def show(self, problems: tuple[Problem, ...]) -> None:
        """Replace the rows with ``problems`` (errors marked ✗, warnings ⚠)."""
        self._problems = problems
        if not self.is_mounted or not self.query(DataTable):
            return
        table = self.table
        table.clear()
        for problem in problems:
            mark = (Content.from_markup("[$error]✗[/]") if problem.severity == "error"
                    else Content.from_markup("[$warning]⚠[/]"))
            table.add_row(
                mark, display_path(problem.location), problem.entry_id or "-", problem.field or "-",
                problem.message, problem.hint or "",
            )
        self._describe(0)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    def _describe(self, row: int) -> None:
        text = self.query_one("#problem-text", Static)
        if not self._problems:
            text.update(Content.from_markup("[$success]✓[/] no problems in the entry files"))
        elif 0 <= row < len(self._problems):
            problem = self._problems[row]
            text.update(Content(problem.format().replace(str(problem.location), display_path(problem.location), 1)))
