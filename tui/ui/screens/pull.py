"""The explicit pull of a missing Docker image, with a progress bar (images are never pulled implicitly)."""

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
from tui.ui.widgets.run_tab import post_call

Puller = Callable[[Callable[[Any], None]], None]
"""Runs the pull (blocking, on a worker thread), calling its argument with each ``PullProgress``."""


class PullScreen(ModalScreen[bool]):
    """Pulls on a worker, shows the daemon's progress; dismissed with True once the image is there."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, executor_id: str, image: str, puller: Puller) -> None:
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


def docker_clients(engine: Any) -> list[tuple[str, Any]]:
    """``(url, client)`` for each daemon the docker entries name; unreachable ones are left out."""
    from tui.core.entries.models import DockerSpec
    from tui.core.executors.docker_client import host_for

    found: dict[str, Any] = {}
    for entry in engine.load.executors:
        if isinstance(entry.spec, DockerSpec):
            host = host_for(engine, entry.spec.host)
            if host.url not in found:
                try:
                    found[host.url] = host.client(2.0)
                except Exception:  # noqa: BLE001 - no daemon there: nothing to sweep or prune
                    continue
    return list(found.items())


def offer_pull(app: Any, executor_id: str) -> None:
    """Push the pull dialog for the image of docker executor ``executor_id``; re-probe when it closes."""
    from tui.core.entries.models import DockerSpec
    from tui.core.executors.docker import pull_image

    entry = app.engine.entry(executor_id)
    if entry is None or not isinstance(entry.spec, DockerSpec):
        return
    screen = PullScreen(executor_id, entry.spec.image,
                        lambda on_progress: pull_image(app.engine, executor_id, on_progress))
    app.push_screen(screen, lambda _done: app.probe_all())


def sweep_orphans(app: Any) -> None:
    """Worker: find running containers of consoles that are gone, and offer to kill them (spec 4.6)."""
    from tui.core.executors.docker import find_orphans, kill_orphans
    from tui.ui.screens.confirm import ConfirmScreen

    for url, client in docker_clients(app.engine):
        try:
            orphans = find_orphans(client)
        except Exception:  # noqa: BLE001 - the sweep is an offer; a daemon error just skips it
            continue
        if not orphans:
            continue

        def answered(yes: bool | None, client: Any = client, orphans: list[Any] = orphans) -> None:
            if yes:
                app.run_worker(lambda: kill_orphans(client, orphans), thread=True, exit_on_error=False)

        question = (f"{len(orphans)} container(s) of execdeck consoles that are gone still run on {url}.\n"
                    "Kill them?")
        post_call(app, app.push_screen, ConfirmScreen(question, yes="Kill", title="Orphan containers"), answered)


def prune_containers(app: Any) -> None:
    """Worker: remove the product's exited containers on every daemon the entries name; notify the count."""
    from tui.core.executors.docker import prune

    removed = 0
    for url, client in docker_clients(app.engine):
        try:
            removed += len(prune(client))
        except Exception as err:  # noqa: BLE001 - one daemon failing must not hide the others
            post_call(app, app.notify, f"prune on {url} failed: {err}", severity="error")
    post_call(app, app.notify, f"removed {removed} exited container(s)")
