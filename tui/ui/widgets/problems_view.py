"""Every problem of the entry files (and theme files) in one table: file, line, entry, field, message, hint."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import DataTable

from tui.core.entries.models import Problem
from tui.ui.widgets.executor_details import display_path


class ProblemsView(DataTable[Content | str]):
    """A read-only table of :class:`Problem` rows; :meth:`show` replaces them all."""

    COLUMNS = ("", "file:line", "entry", "field", "problem", "hint")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        for column in self.COLUMNS:
            self.add_column(column, key=column or "severity")

    def show(self, problems: tuple[Problem, ...]) -> None:
        """Replace the rows with ``problems`` (errors marked ✗, warnings ⚠)."""
        self.clear()
        for problem in problems:
            mark = (Content.from_markup("[$error]✗[/]") if problem.severity == "error"
                    else Content.from_markup("[$warning]⚠[/]"))
            self.add_row(
                mark, display_path(problem.location), problem.entry_id or "-", problem.field or "-",
                problem.message, problem.hint or "",
            )
