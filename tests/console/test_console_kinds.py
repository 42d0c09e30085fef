"""A kind registered alone lights up the console: its label, its settings, its status, and what it can do
beyond running (pull, prune, orphan sweep) are offered with no edit in the console. The kind here is the
in-memory one, given capabilities of the test's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from textual.widgets import ProgressBar, Static

from tests.console.conftest import SIZE, ConsoleFactory, ready, wait_until
from tui.core.executors import registry
from tui.core.executors.base import (
    PULL,
    ExecutorStatus,
    Leftover,
    OrphanSweep,
    Prune,
    Pull,
    PullProgress,
    Scope,
)
from tui.core.executors.memory import MemoryKind, MemorySpec
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.pull import PullScreen
from tui.ui.widgets.executor_list import ExecutorTree

ENTRIES = """\
namespace: lab
entries:
  - name: box
    kind: lab.thing
    default_work_dir: /srv/things
    command_whitelist: [make]
"""


class Capabilities:
    """What the test's kind does when the console asks, and what it was asked."""

    def __init__(self) -> None:
        self.pulled: list[str] = []
        self.pruned: list[tuple[str, bool]] = []
        self.killed: list[tuple[str, list[str]]] = []
        self.orphans = [Leftover("o1", "orphan one")]

    def places(self, specs: Sequence[MemorySpec]) -> list[str]:
        return ["place-a", *(spec.default_work_dir for spec in specs)]

    def pull(self, spec: MemorySpec, scope: Scope, on_progress: Callable[[PullProgress], None]) -> None:
        self.pulled.append(spec.default_work_dir)
        on_progress(PullProgress("fetching", 1, 2))
        on_progress(PullProgress("fetched", 2, 2, done=True))

    def remove(self, place: str, scope: Scope, dry_run: bool, timeout: float) -> list[Leftover]:
        self.pruned.append((place, dry_run))
        return [Leftover(f"{place}-1", "one"), Leftover(f"{place}-2", "two")]

    def find(self, place: str, scope: Scope, timeout: float) -> list[Leftover]:
        return self.orphans if place == "place-a" else []

    def kill(self, place: str, scope: Scope, orphans: list[Leftover]) -> list[Leftover]:
        self.killed.append((place, [o.id for o in orphans]))
        return orphans


@pytest.fixture
def capabilities() -> Capabilities:
    return Capabilities()


@pytest.fixture
def thing_kind(capabilities: Capabilities) -> Iterator[MemoryKind]:
    c = capabilities
    kind = MemoryKind(
        name="lab.thing", label="thing",
        pull=Pull(target=lambda spec: f"the thing for {spec.default_work_dir}", run=c.pull),
        prune=Prune(places=c.places, noun="leftover thing(s)", remove=c.remove, title="Prune things",
                    help="remove the things ended runs left"),
        orphans=OrphanSweep(places=c.places, noun="thing(s)", find=c.find, kill=c.kill, title="Orphan things"),
    )
    unregister = registry.register(kind)
    yield kind
    unregister()


@pytest.fixture
def entries(thing_kind: MemoryKind, tmp_path: Path) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(ENTRIES)
    return path


async def test_the_tree_and_the_details_show_the_kind_its_settings_and_a_status_with_a_remedy(
    console: ConsoleFactory, entries: Path, thing_kind: MemoryKind, capabilities: Capabilities
) -> None:
    thing_kind.status = ExecutorStatus(False, "the thing is not here yet", short="thing missing", remedy=PULL)
    app = console([entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tree = app.query_one(ExecutorTree)
        assert str(tree.get_node_at_line(1).label) == "box  thing  ● thing missing  1 cmd"
        details = {w.id: str(w.render()) for w in app.query("#executor-details Static") if w.id}
        assert "lab:box" in details["details-title"] and "thing" in details["details-title"]
        assert "the thing is not here yet" in details["details-status"]
        assert "press p to pull it" in details["details-status"]
        settings = details["details-settings"].splitlines()
        assert [line.split()[0] for line in settings] == ["id", "kind", "default_work_dir", "default_env"]
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PullScreen), "the pull dialog")
        screen = app.screen
        assert isinstance(screen, PullScreen) and screen.image == "the thing for /srv/things"
        await wait_until(pilot, lambda: screen.done, "the pull to end")
        assert capabilities.pulled == ["/srv/things"]
        bar = screen.query_one(ProgressBar)
        assert bar.total == bar.progress == 2
        thing_kind.status = ExecutorStatus(True, "ready")
        await pilot.press("escape")
        await wait_until(pilot, lambda: (app.statuses.get("lab:box") or ExecutorStatus(False, "")).ready,
                         "the probe after the pull")


async def test_p_on_an_executor_whose_kind_cannot_pull_says_so(
    console: ConsoleFactory, memory_entries: Path
) -> None:
    app = console([memory_entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: any("nothing to pull" in str(n.message) for n in app._notifications),
                         "the notice")
        assert not isinstance(app.screen, PullScreen)


async def test_prune_is_offered_in_the_palette_and_asks_every_place_of_the_kind(
    console: ConsoleFactory, entries: Path, capabilities: Capabilities
) -> None:
    app = console([entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        from tui.ui.screens.palette import ConsoleCommands

        commands = {text: callback for text, callback, _ in ConsoleCommands(app.screen).commands()}
        assert "Prune things" in commands and "Prune containers" in commands
        commands["Prune things"]()
        await wait_until(pilot, lambda: any("removed 4 leftover thing(s)" in str(n.message)
                                            for n in app._notifications), "the count")
        assert capabilities.pruned == [("place-a", False), ("/srv/things", False)]


async def test_orphans_found_at_start_up_are_offered_for_killing(
    console: ConsoleFactory, entries: Path, capabilities: Capabilities
) -> None:
    app = console([entries], sweep_orphans=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        question = str(app.screen.query_one(".confirm-question", Static).render())
        assert "1 thing(s) of execdeck consoles that are gone still run on place-a." in question
        await pilot.press("y")
        await wait_until(pilot, lambda: capabilities.killed, "the kill")
        assert capabilities.killed == [("place-a", ["o1"])]
