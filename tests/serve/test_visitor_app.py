"""A visitor's console (headless, as the server starts it): who it acts as, what it offers, and what it
refuses to do on the server's disk."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from tests.serve.servetools import REPO
from tui.serve.visitor_app import VisitorApp
from tui.ui.widgets.run_bars import FindBar
from tui.ui.widgets.run_tab import RunTab

SAMPLES = REPO / "sample_entries"
SIZE = (120, 40)


@pytest.fixture
def visitor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], VisitorApp]]:
    """``visitor(scope)``: a visitor's console on the samples, with a home of its own; ended afterwards."""
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR"):
        folder = tmp_path / name.lower()
        folder.mkdir(mode=0o700)
        monkeypatch.setenv(name, str(folder))
    monkeypatch.setenv("EXECDECK_RECORDS", str(tmp_path / "runs.sqlite3"))
    apps: list[VisitorApp] = []

    def make(scope: str) -> VisitorApp:
        app = VisitorApp([SAMPLES], "ab12cd34", scope, "testinstance1")
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.shutdown_engine()


async def until(pilot: Pilot[Any], check: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await pilot.pause(0.05)


def said(app: VisitorApp, text: str) -> bool:
    return any(text in str(notification.message) for notification in app._notifications)


async def test_a_visitor_acts_as_visitor_in_the_scope_strict_with_the_repl_and_their_history(
        visitor: Callable[[str], VisitorApp]) -> None:
    app = visitor("demo")
    async with app.run_test(size=SIZE):
        access = app.engine.gate.access
        assert access.actor is not None and access.actor.id == "visitor:ab12cd34"
        assert access.scope == ("demo",) and access.strict
        assert app.engine.instance_id == "testinstance1"
        tabs = app.main.tabs
        assert tabs.query("TabPane#repl") and tabs.query("TabPane#history")
        assert app.main.query_one("#history").query_one("RunsView").actor == "visitor:ab12cd34"  # type: ignore[attr-defined]


async def test_without_an_executor_to_get_there_is_no_repl(visitor: Callable[[str], VisitorApp]) -> None:
    app = visitor("nobody")
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.main.query_one("#main-tabs", TabbedContent)
        assert not tabs.query("TabPane#repl") and tabs.query("TabPane#history")
        await pilot.press("f3")
        assert tabs.active == "executors"


async def test_a_visitor_cannot_save_output_into_the_servers_files_nor_pull_nor_prune(
        visitor: Callable[[str], VisitorApp]) -> None:
    app = visitor("demo")
    async with app.run_test(size=SIZE) as pilot:
        # Settled first: the main screen moves the focus to the executors once it is up.
        await until(pilot, lambda: app.statuses and app.probes_pending == 0, "the executors' statuses")
        await pilot.pause()
        app.run_command("app:shell", "echo hello world")
        await until(pilot, lambda: app.main.run_tabs(), "the run's tab")
        tab: RunTab = app.main.run_tabs()[0]
        await until(pilot, lambda: tab.process.wait_done(0), "the run to end")
        await until(pilot, lambda: app.focused is tab.view.pane, "the run's output pane to have the keys")
        await pilot.press("s")
        await until(pilot, lambda: said(app, "saving writes into the server's files"), "the refusal")
        assert not tab.view.query_one(FindBar).display, "no path is asked for"
        app.pull("app:sandbox")
        app.prune("exec.docker")
        await until(pilot, lambda: said(app, "images are the presenter's to pull"), "the pull's refusal")
        await until(pilot, lambda: said(app, "pruning is the presenter's to do"), "the prune's refusal")
