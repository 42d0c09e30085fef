"""A theme picker with live preview: moving the highlight switches the theme, Enter keeps it, Escape
goes back to the theme that was on before."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList


class ThemePicker(ModalScreen[str | None]):
    """Dismissed with the chosen theme's name, or None (and the old theme back) when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self) -> None:
        super().__init__()
        self._original = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog theme-dialog") as box:
            box.border_title = "Theme"
            yield Label("↑/↓ previews, Enter keeps, Esc goes back")
            yield OptionList(*sorted(self.app.available_themes), id="themes")

    def on_mount(self) -> None:
        self._original = self.app.theme
        options = self.query_one("#themes", OptionList)
        names = sorted(self.app.available_themes)
        if self._original in names:
            options.highlighted = names.index(self._original)
        options.focus()

    @on(OptionList.OptionHighlighted, "#themes")
    def _preview(self, event: OptionList.OptionHighlighted) -> None:
        self.app.theme = str(event.option.prompt)

    @on(OptionList.OptionSelected, "#themes")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.prompt))

    def action_cancel(self) -> None:
        self.app.theme = self._original
        self.dismiss(None)
