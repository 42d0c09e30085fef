"""The explicit pull of what an executor needs (a missing Docker image), with a progress bar: the console
offers it for a kind with the ``pull`` capability, and nothing is ever pulled implicitly.

When the pull fails (no registry answers, the machine has no internet) and the kind can build what the
executor needs here (the ``build`` capability, for an entry that carries a recipe), the same dialog offers
that build, or says what this machine lacks for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, ProgressBar, Static

from tui.core.errors import ExecError
from tui.core.executors import registry
from tui.core.executors.base import PULL
from tui.ui.widgets.run_tab import post_call

Puller = Callable[[Callable[[Any], None]], None]
"""Runs the pull or the build (blocking, on a worker thread), calling its argument with each ``PullProgress``."""


@dataclass(frozen=True)
class LocalBuild:
    """The build the dialog may offer once the pull failed: ``source`` says what it uses, ``missing()``
    what this machine lacks for it (``""`` when nothing), ``run`` does it. ``wanted()`` tells whether it
    is worth offering now: not when the pull failed because the daemon itself does not answer."""

    source: str
    missing: Callable[[], str]
    run: Puller
    wanted: Callable[[], bool] = lambda: True


class PullScreen(ModalScreen[bool]):
    """Pulls on a worker, shows the daemon's progress; dismissed with True once the image is there.

    With a :class:`LocalBuild`, a failed pull is followed by the offer to build here (``b``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("b", "build", "Build here", show=False),
    ]

    def __init__(self, executor_id: str, image: str, puller: Puller, build: LocalBuild | None = None) -> None:
        """``image``: what is pulled, as the kind names it for people."""
        super().__init__()
        self.executor_id, self.image = executor_id, image
        self._puller = puller
        self._build = build
        self.done = False
        """True once the pull (or the build) finished and the image is present."""
        self.failed = ""
        """The reason when the pull (or the build) failed."""
        self.offer = ""
        """What the dialog says about a build here after a failed pull (empty before, or without a recipe)."""
        self.building = False
        """True once the operator asked for the build."""
        self.events: list[Any] = []
        """Every ``PullProgress`` shown, in order (the last one has ``done`` set after a success)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog pull-dialog") as box:
            box.border_title = f"Pull {self.image}"
            yield Label(f"for {self.executor_id}")
            yield ProgressBar(total=None, show_eta=False, id="pull-progress")
            yield Static("contacting the daemon…", id="pull-status")
            offer = Static(id="build-offer")
            offer.display = False
            yield offer
            with Horizontal(classes="dialog-buttons"):
                build = Button("Build here (b)", id="build", variant="primary")
                build.display = False
                yield build
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.run_worker(lambda: self._work(self._puller), thread=True, exit_on_error=False, group="pull",
                        name=f"pull {self.image}")

    def _work(self, puller: Puller) -> None:
        try:
            puller(lambda event: post_call(self.app, self._progress, event))
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
            where = " (built here)" if self.building else ""
            self.query_one("#pull-status", Static).update(
                Content.from_markup("[$success]✓[/] $image is present$where", image=self.image, where=where))

    def _failed(self, message: str) -> None:
        self.failed = message
        self.query_one("#pull-progress", ProgressBar).display = False  # a bar frozen half-way would say "going on"
        self.query_one("#pull-status", Static).update(Content.from_markup("[$error]✗[/] $m", m=message))
        if self._build is not None and not self.building and self._build.wanted():
            self._offer_build(self._build)

    def _offer_build(self, build: LocalBuild) -> None:
        missing = build.missing()
        if missing:
            self.offer = f"It could be built here instead, but {missing}."
            content = Content.from_markup("[$warning]$offer[/]", offer=self.offer)
        else:
            self.offer = f"It can be built here instead, from {build.source}."
            content = Content.from_markup("$offer  [$accent]press b to build it[/]", offer=self.offer)
            self.query_one("#build", Button).display = True
        offer = self.query_one("#build-offer", Static)
        offer.update(content)
        offer.display = True

    def action_build(self) -> None:
        """Build here, once a failed pull offered it."""
        build = self._build
        if build is None or self.building or not self.query_one("#build", Button).display:
            return
        self.building, self.failed = True, ""
        self.query_one("#build", Button).display = False
        self.query_one("#build-offer", Static).display = False
        self.query_one(".pull-dialog").border_title = f"Build {self.image} here"
        bar = self.query_one("#pull-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.query_one("#pull-status", Static).update(f"building from {build.source}…")
        self.run_worker(lambda: self._work(build.run), thread=True, exit_on_error=False, group="pull",
                        name=f"build {self.image}")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "build":
            self.action_build()
        else:
            self.action_close()

    def action_close(self) -> None:
        # Closing while the pull runs leaves it to finish in the daemon; the status follows it.
        self.dismiss(self.done)


def _still_missing(app: Any, executor_id: str) -> bool:
    """True while the executor's latest status says a pull would make it ready: what it needs is missing
    and the place that would hold it answers (a build there can work)."""
    status = app.statuses.get(executor_id)
    return status is not None and status.remedy == PULL


def offer_pull(app: Any, executor_id: str) -> bool:
    """Push the pull dialog for what executor ``executor_id`` needs (offering a build here after a failed
    pull when its kind can build it); look at the statuses again when it closes. False when its kind has
    nothing to pull."""
    entry = app.engine.entry(executor_id)
    kind = registry.find(entry.kind) if entry is not None and entry.spec is not None else None
    if kind is None or kind.pull is None:
        return False
    pull, spec, scope = kind.pull, entry.spec, app.engine.scope
    build = None
    if kind.build is not None and kind.build.offered(spec):
        builder = kind.build
        build = LocalBuild(builder.source(spec), lambda: builder.missing(spec),
                           lambda on_progress: builder.run(spec, scope, on_progress),
                           wanted=lambda: _still_missing(app, executor_id))
    screen = PullScreen(executor_id, pull.target(spec), lambda on_progress: pull.run(spec, scope, on_progress), build)
    app.push_screen(screen, lambda _done: app.follow_statuses())
    return True
