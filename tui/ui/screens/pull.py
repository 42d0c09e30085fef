"""The explicit pull of what an executor needs (a missing Docker image), with a progress bar: the console
offers it for a kind with the ``pull`` capability, and nothing is ever pulled implicitly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, ProgressBar, Static

from tui.core.errors import ExecError
from tui.core.executors import registry
from tui.ui.widgets.run_tab import post_call

Puller = Callable[[Callable[[Any], None]], None]
"""Runs the pull (blocking, on a worker thread), calling its argument with each ``PullProgress``."""


class PullScreen(ModalScreen[bool]):
    """Pulls on a worker, shows the daemon's progress; dismissed with True once the image is there."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, executor_id: str, image: str, puller: Puller) -> None:
        """``image``: what is pulled, as the kind names it for people."""
        super().__init__()
        self.executor_id, self.image = executor_id, image
        self._puller = puller
        self.done = False
        """True once the pull finished and the image is present."""
        self.failed = ""
        """The reason when the pull failed."""
        self.events: list[Any] = []
        """Every ``PullProgress`` shown, in order (the last one has ``done`` set after a success)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog pull-dialog") as box:
            box.border_title = f"Pull {self.image}"
            yield Label(f"for {self.executor_id}")
            yield ProgressBar(total=None, show_eta=False, id="pull-progress")
            yield Static("contacting the daemon…", id="pull-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.run_worker(self._pull, thread=True, exit_on_error=False, group="pull", name=f"pull {self.image}")

    def _pull(self) -> None:
        try:
            self._puller(lambda event: post_call(self.app, self._progress, event))
        except ExecError as err:
            post_call(self.app, self._failed, err.message)
        except Exception as err:  # noqa: BLE001 - shown in the dialog, never a traceback
            post_call(self.app, self._failed, f"unexpected error: {err}")

    def _progress(self, event: Any) -> None:
        self.events.append(event)
        bar = self.query_one("#pull-progress", ProgressBar)
        if event.total:
            bar.update(total=event.total, progress=event.current)
        self.query_one("#pull-status", Static).update(event.status)
        if event.done:
            self.done = True
            bar.update(total=max(1, event.total), progress=max(1, event.total))
            self.query_one("#pull-status", Static).update(
                Content.from_markup("[$success]✓[/] $image is present", image=self.image))

    def _failed(self, message: str) -> None:
        self.failed = message
        self.query_one("#pull-status", Static).update(Content.from_markup("[$error]✗[/] $m", m=message))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_close()

    def action_close(self) -> None:
        # Closing while the pull runs leaves it to finish in the daemon; the status is probed again.
        self.dismiss(self.done)


def offer_pull(app: Any, executor_id: str) -> bool:
    """Push the pull dialog for what executor ``executor_id`` needs; re-probe when it closes. False when
    its kind has nothing to pull."""
    entry = app.engine.entry(executor_id)
    kind = registry.find(entry.kind) if entry is not None and entry.spec is not None else None
    if kind is None or kind.pull is None:
        return False
    pull, spec, scope = kind.pull, entry.spec, app.engine.scope
    screen = PullScreen(executor_id, pull.target(spec), lambda on_progress: pull.run(spec, scope, on_progress))
    app.push_screen(screen, lambda _done: app.probe_all())
    return True
