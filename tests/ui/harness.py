"""A tiny app hosting one RunView, for pilot and snapshot tests."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Footer

from tui.ui.run_info import RunInfo
from tui.ui.settings import DEFAULT_SCROLLBACK
from tui.ui.themes import DEFAULT_VARIABLES, apply_theme, register_themes
from tui.ui.widgets.output_pane import OutputPane
from tui.ui.widgets.run_view import RunView

INFO = RunInfo(
    executor_id="local.shell",
    command="make test",
    argv=("make", "test"),
    state="exited",
    handle="pid 4242",
    started_at=100.0,
    ended_at=112.5,
    exit_text="exit 2",
    ok=False,
    stdout_bytes=2048,
    stderr_bytes=120,
    lines=42,
)


class RunViewApp(App[None]):
    """Hosts a RunView; records the messages the pane's parts post."""

    def __init__(self, theme: str = "execdeck-dark", max_lines: int = DEFAULT_SCROLLBACK, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wanted_theme = theme
        self.max_lines = max_lines
        self.received: list[Message] = []
        self.theme_problems: list[str] = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DEFAULT_VARIABLES)

    def compose(self) -> ComposeResult:
        yield RunView(INFO, max_lines=self.max_lines)
        yield Footer()

    def on_mount(self) -> None:
        self.theme_problems = register_themes(self)
        self.theme_problems += apply_theme(self, self.wanted_theme)

    @property
    def view(self) -> RunView:
        return self.query_one(RunView)

    @property
    def pane(self) -> OutputPane:
        return self.query_one(OutputPane)

    def on_output_pane_stdin_line(self, message: OutputPane.StdinLine) -> None:
        self.received.append(message)

    def on_output_pane_end_of_input(self, message: OutputPane.EndOfInput) -> None:
        self.received.append(message)

    def on_output_pane_signal_request(self, message: OutputPane.SignalRequest) -> None:
        self.received.append(message)
