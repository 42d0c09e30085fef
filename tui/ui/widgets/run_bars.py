"""The bars under an output pane: find (search, filter, save path), status, and the stdin line editor."""

from __future__ import annotations

import signal
from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Static

from tui.ui.widgets.output_pane import OutputPane, PaneStatus

FindMode = Literal["search", "filter", "save"]


class FindBar(Horizontal):
    """One input for a search pattern, a filter pattern or a save path, with regex/case toggles.

    Posts :class:`FindBar.Changed` on every edit and :class:`FindBar.Done` on Enter or Escape; the
    :class:`~tui.ui.widgets.run_view.RunView` applies them to the pane.
    """

    DEFAULT_CSS = """
    FindBar {
        height: auto;
        display: none;
        background: $panel;
        &.-open { display: block; }
        & > Label { padding: 1 1 0 1; }
        & > #find-input { width: 1fr; }
        & > #find-context { width: 12; }
        & > #find-error { color: $error; width: auto; max-width: 50%; }
        &.-save > Checkbox, &.-save > #find-context, &.-search > #find-context { display: none; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("alt+r", "flip('regex')", "Regex"),
        Binding("alt+c", "flip('case')", "Case"),
        Binding("escape", "close", "Close"),
    ]

    class Changed(Message):
        """The pattern, context or a toggle changed."""

        def __init__(self, mode: FindMode, text: str, regex: bool, case: bool, context: int) -> None:
            super().__init__()
            self.mode, self.text, self.regex, self.case, self.context = mode, text, regex, case, context

    class Done(Message):
        """Enter (``submitted`` True) or Escape (False) in the bar."""

        def __init__(self, mode: FindMode, text: str, submitted: bool) -> None:
            super().__init__()
            self.mode, self.text, self.submitted = mode, text, submitted

    mode: FindMode = "search"

    def compose(self) -> ComposeResult:
        yield Label("/", id="find-label")
        yield Input(id="find-input")
        yield Input(placeholder="context", type="integer", id="find-context")
        yield Checkbox("regex", id="regex")
        yield Checkbox("case", id="case")
        yield Label("", id="find-error")

    def open(self, mode: FindMode, value: str = "") -> None:
        """Show the bar in ``mode`` and focus its input."""
        self.mode = mode
        self.set_classes(f"-open -{mode}")
        label = {"search": "/", "filter": "filter", "save": "save to"}[mode]
        self.query_one("#find-label", Label).update(label)
        field = self.query_one("#find-input", Input)
        field.placeholder = "path of the file" if mode == "save" else "pattern"
        field.value = value
        self.show_error("")
        field.focus()

    def close(self) -> None:
        self.remove_class("-open")

    def show_error(self, message: str) -> None:
        """Show ``message`` beside the input (empty to clear)."""
        self.query_one("#find-error", Label).update(message)

    def action_flip(self, which: str) -> None:
        box = self.query_one(f"#{which}", Checkbox)
        box.value = not box.value

    def action_close(self) -> None:
        self.post_message(self.Done(self.mode, self.query_one("#find-input", Input).value, False))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._post_changed()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._post_changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Done(self.mode, self.query_one("#find-input", Input).value, True))

    def _post_changed(self) -> None:
        context = self.query_one("#find-context", Input).value
        self.post_message(
            self.Changed(
                self.mode,
                self.query_one("#find-input", Input).value,
                self.query_one("#regex", Checkbox).value,
                self.query_one("#case", Checkbox).value,
                int(context) if context.lstrip("-").isdigit() else 0,
            )
        )


class StdinBar(Input):
    """Line editor for the process's stdin: Enter sends the line, ``ctrl+d`` ends the input.

    Posts :class:`OutputPane.StdinLine` and :class:`OutputPane.EndOfInput`; ``ctrl+c`` here asks for
    SIGINT as in a terminal (Input's own copy stays on ``super+c``).
    """

    DEFAULT_CSS = """
    StdinBar { dock: bottom; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+d", "end_of_input", "End of input"),
        Binding("ctrl+c", "interrupt", "SIGINT", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="stdin: type a line, Enter sends, ctrl+d ends input", id=id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(OutputPane.StdinLine(event.value))
        self.value = ""

    def action_end_of_input(self) -> None:
        self.post_message(OutputPane.EndOfInput())

    def action_interrupt(self) -> None:
        self.post_message(OutputPane.SignalRequest(signal.SIGINT))


class PaneStatusLine(Static):
    """One line about the pane: follow state or "N new lines ↓", dropped rows, search and filter."""

    DEFAULT_CSS = """
    PaneStatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $foreground-muted;
        &.-paused { color: $accent; text-style: bold; }
    }
    """

    def show(self, status: PaneStatus) -> None:
        """Redraw from ``status``."""
        parts = [f"{status.rows} lines"]
        if status.dropped:
            parts.append(f"{status.dropped} older dropped")
        if status.skipped:
            parts.append(f"{status.skipped} skipped")
        if status.match_count or status.match_position:
            parts.append(f"match {status.match_position}/{status.match_count}")
        if status.filtered is not None:
            parts.append(f"filter: {status.filtered} shown")
        if status.following:
            parts.insert(0, "following")
        else:
            parts.insert(0, f"{status.unseen} new lines ↓ (End follows)" if status.unseen else "paused")
        self.set_class(not status.following, "-paused")
        # Height is fixed (1): no layout pass. With one, every drain tick re-arranged the whole screen
        # (measured: ~1 s of every 5 on the UI thread while a run streamed).
        self.update("  │  ".join(parts), layout=False)
