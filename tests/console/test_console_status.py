"""Live status in the console: the tree and the details follow a daemon that starts after the console, goes
away and comes back, and an image removed or tagged with the docker command line, with no reload; the pull
dialog offers a build here once the pull failed (or says what the machine lacks); the console follows a
kind's status watch without knowing the kind, and ends what it follows on reload and at the end."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Static

from tests import dockertools as dt
from tests.console.conftest import SIZE, ConsoleFactory, ready, wait_until
from tui.core.executors import registry
from tui.core.executors.base import ExecutorStatus, Scope, StatusListener, StatusWatch
from tui.core.executors.memory import MemoryKind, MemorySpec
from tui.ui.app import ExecdeckApp
from tui.ui.screens.pull import PullScreen
from tui.ui.widgets.executor_list import ExecutorTree

#: Generous: a change shows within seconds by design; a loaded machine may be slower.
DEADLINE = 20.0
#: A recipe like the sample sandbox's: a static busybox in an image of its own (FROM scratch).
RECIPE = """\
    build:
      files: {{busybox: {busybox}}}
      needs: install busybox-static
      dockerfile: |
        FROM scratch
        COPY busybox /bin/busybox
        RUN ["/bin/busybox", "--install", "-s", "/bin"]
        CMD ["sh"]
"""


def tree_line(app: ExecdeckApp, entry_id: str) -> str:
    tree = app.query_one(ExecutorTree)
    for branch in tree.root.children:
        for leaf in branch.children:
            if leaf.data == entry_id:
                return str(leaf.label)
    raise AssertionError(f"{entry_id} is not in the tree")


def details_status(app: ExecdeckApp) -> str:
    return str(app.query_one("#details-status", Static).render())


async def details_say(pilot: Any, app: ExecdeckApp, words: str, timeout: float = 15.0) -> None:
    """Wait until the details' status line says ``words`` (the details follow the tree's cursor, which
    settles after the first refresh)."""
    await wait_until(pilot, lambda: words in details_status(app), f"the details to say {words!r}", timeout)


def docker_entries(tmp_path: Path, image: str, host: str = "", recipe: str = "") -> Path:
    path = tmp_path / "docker.yaml"
    path.write_text(f'namespace: d\nentries:\n  - name: box\n    kind: exec.docker\n    image: "{image}"\n'
                    + (f'    host: "{host}"\n' if host else "") + "    command_whitelist: [id]\n" + recipe)
    return path


# -- a kind's status watch, followed by the console ----------------------------------------------------


class PushedStatuses:
    """A status watch the test drives: what is subscribed, and a way to push a status to it."""

    def __init__(self) -> None:
        self.listeners: dict[int, tuple[str, StatusListener]] = {}
        self.ended: list[str] = []
        self._lock = threading.Lock()
        self._serial = 0

    def subscribe(self, spec: MemorySpec, scope: Scope, on_status: StatusListener) -> Callable[[], None]:
        with self._lock:
            self._serial += 1
            serial = self._serial
            self.listeners[serial] = (spec.default_work_dir, on_status)

        def end() -> None:
            with self._lock:
                found = self.listeners.pop(serial, None)
                if found is not None:
                    self.ended.append(found[0])

        return end

    def push(self, status: ExecutorStatus) -> None:
        """Tell every subscriber, from a thread of the kind's own (as a real watch does)."""
        with self._lock:
            listeners = [listener for _, listener in self.listeners.values()]
        thread = threading.Thread(target=lambda: [listener(status) for listener in listeners])
        thread.start()
        thread.join()


@pytest.fixture
def pushed() -> Iterator[PushedStatuses]:
    watch = PushedStatuses()
    kind = MemoryKind(name="lab.watched", label="watched", watch=StatusWatch(subscribe=watch.subscribe))
    unregister = registry.register(kind)
    yield watch
    unregister()


async def test_the_console_follows_a_kinds_status_watch_and_ends_what_it_follows_on_reload_and_at_the_end(
    console: ConsoleFactory, pushed: PushedStatuses, tmp_path: Path
) -> None:
    entries = tmp_path / "lab.yaml"
    entries.write_text("namespace: lab\nentries:\n  - name: box\n    kind: lab.watched\n"
                       "    default_work_dir: /first\n")
    app = console([entries], watch_interval=3600)  # one reload, ctrl+r's (the edit is not noticed on its own)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(pushed.listeners) == 1, "the subscription")
        assert app.statuses["lab:box"] is None and "… probing" in tree_line(app, "lab:box")
        pushed.push(ExecutorStatus(False, "the place is gone", short="gone"))
        await wait_until(pilot, lambda: "● gone" in tree_line(app, "lab:box"), "the pushed status in the tree")
        await details_say(pilot, app, "the place is gone")
        pushed.push(ExecutorStatus(True, "ready"))
        await wait_until(pilot, lambda: "● ready" in tree_line(app, "lab:box"), "ready in the tree")

        entries.write_text(entries.read_text().replace("/first", "/second"))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: pushed.ended == ["/first"], "the old subscription to end on reload")
        assert [place for place, _ in pushed.listeners.values()] == ["/second"]
        pushed.push(ExecutorStatus(True, "ready again"))
        await wait_until(pilot, lambda: app.statuses["lab:box"] == ExecutorStatus(True, "ready again"),
                         "the status of the reloaded entry")
        app.shutdown_engine()
    assert pushed.listeners == {} and pushed.ended == ["/first", "/second"]


# -- against the real daemons --------------------------------------------------------------------------


@pytest.mark.docker
async def test_a_daemon_started_after_the_console_then_stopped_and_started_again_shows_without_a_reload(
    console: ConsoleFactory, test_image: str, halted_dockerd: dt.SecondDockerd, tmp_path: Path
) -> None:
    app = console([docker_entries(tmp_path, test_image, host=halted_dockerd.unix_url)])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "● unavailable" in tree_line(app, "d:box")
        await details_say(pilot, app, f"cannot reach the Docker daemon at {halted_dockerd.unix_url}")

        halted_dockerd.resume()
        await wait_until(pilot, lambda: "● ready" in tree_line(app, "d:box"), "ready once the daemon started",
                         DEADLINE)
        await details_say(pilot, app, "ready (image present)")
        halted_dockerd.halt()
        await wait_until(pilot, lambda: "● unavailable" in tree_line(app, "d:box"),
                         "unavailable once the daemon stopped", DEADLINE)
        halted_dockerd.resume()
        await wait_until(pilot, lambda: "● ready" in tree_line(app, "d:box"), "ready once the daemon is back",
                         DEADLINE)


@pytest.mark.docker
async def test_an_image_removed_with_the_docker_command_line_shows_missing_and_comes_back_when_tagged(
    console: ConsoleFactory, test_image: str, own_tag: str, tmp_path: Path
) -> None:
    app = console([docker_entries(tmp_path, own_tag)])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "● ready" in tree_line(app, "d:box")
        subprocess.run(["docker", "rmi", own_tag], check=True, capture_output=True, timeout=60)
        await wait_until(pilot, lambda: "● image missing" in tree_line(app, "d:box"), "image missing", DEADLINE)
        await details_say(pilot, app, "press p to pull it")
        subprocess.run(["docker", "tag", test_image, own_tag], check=True, timeout=60)
        await wait_until(pilot, lambda: "● ready" in tree_line(app, "d:box"), "ready after docker tag", DEADLINE)


@pytest.fixture
def unpullable() -> Iterator[str]:
    """An image name no pull can bring (its registry is a loopback port nobody listens on), removed from the
    daemon after the test."""
    name = f"127.0.0.1:{dt.free_port()}/execdeck-test/built-{uuid.uuid4().hex[:8]}:1"
    yield name
    subprocess.run(["docker", "rmi", name], capture_output=True, check=False, timeout=60)


async def open_pull_until_it_failed(pilot: Any, app: ExecdeckApp) -> PullScreen:
    await ready(pilot)
    await details_say(pilot, app, "press p to pull it (or build it here)")
    await pilot.press("p")
    await wait_until(pilot, lambda: isinstance(app.screen, PullScreen), "the pull dialog")
    screen = app.screen
    assert isinstance(screen, PullScreen)
    await wait_until(pilot, lambda: screen.failed and screen.offer, "the pull to fail and the offer", 60)
    return screen


@pytest.mark.docker
async def test_where_no_pull_brings_the_image_the_dialog_builds_it_here_and_the_status_follows(
    console: ConsoleFactory, docker_engine: Any, unpullable: str, tmp_path: Path
) -> None:
    app = console([docker_entries(tmp_path, unpullable, recipe=RECIPE.format(busybox="/bin/busybox"))])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pull_until_it_failed(pilot, app)
        assert screen.failed.startswith(f'pull of "{unpullable}" on ')
        assert screen.offer == "It can be built here instead, from /bin/busybox."
        assert screen.query_one("#build", Button).display
        await pilot.press("b")
        await wait_until(pilot, lambda: screen.done or (screen.building and screen.failed), "the build", 120)
        assert screen.done, screen.failed
        assert "is present (built here)" in str(screen.query_one("#pull-status", Static).render())
        steps = [event for event in screen.events if event.total]
        assert steps and steps[-1].total == 5 and screen.events[-1].done  # four instructions, and the label
        await wait_until(pilot, lambda: "● ready" in tree_line(app, "d:box"), "ready once built", DEADLINE)
        await pilot.press("escape")
        await details_say(pilot, app, "ready (image built here)", DEADLINE)
    labels = docker_engine.inspect_image(unpullable)["Config"]["Labels"]
    assert labels == {"execdeck.built-here": "/bin/busybox"}


@pytest.mark.docker
async def test_where_the_recipe_lacks_a_file_the_dialog_says_what_to_install_and_builds_nothing(
    console: ConsoleFactory, unpullable: str, tmp_path: Path
) -> None:
    absent = tmp_path / "no-busybox-static" / "busybox"
    app = console([docker_entries(tmp_path, unpullable, recipe=RECIPE.format(busybox=absent))])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_pull_until_it_failed(pilot, app)
        assert screen.offer == f"It could be built here instead, but {absent} is missing: install busybox-static."
        assert not screen.query_one("#build", Button).display
        await pilot.press("b")
        await pilot.pause()
        assert not screen.building
        assert "image missing" in tree_line(app, "d:box")


async def test_where_the_daemon_does_not_answer_no_build_is_offered(console: ConsoleFactory, tmp_path: Path) -> None:
    host = f"unix://{tmp_path}/no-daemon.sock"
    app = console([docker_entries(tmp_path, "busybox:1.36", host=host, recipe=RECIPE.format(busybox="/bin/busybox"))])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await details_say(pilot, app, f"cannot reach the Docker daemon at {host}")
        assert "press p" not in details_status(app)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PullScreen), "the pull dialog")
        screen = app.screen
        assert isinstance(screen, PullScreen)
        await wait_until(pilot, lambda: screen.failed, "the pull to fail")
        assert screen.failed.startswith(f"cannot reach the Docker daemon at {host}")
        assert screen.offer == "" and not screen.query_one("#build", Button).display
