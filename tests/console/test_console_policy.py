"""The console acting for an actor under policies: locked executors, disabled commands, a run dialog
that never offers a refused run, the palette, and the header naming actor and scope. Snapshots at 120 x 40.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, OptionList, Static

from tests.console.conftest import ENTRIES, SIZE, ConsoleFactory, ready, wait_until
from tests.console.test_console_snapshots import steps
from tui.core.policy import Access, Actor
from tui.ui.app import ExecdeckApp
from tui.ui.screens.palette import ConsoleCommands
from tui.ui.screens.run_dialog import RunDialog
from tui.ui.widgets.executor_list import ExecutorTree

POLICIES = Path(__file__).resolve().parent / "policy_entries"
VISITOR = Access(Actor("visitor:1"), ("demo",))


def visitor_console(console: ConsoleFactory) -> ExecdeckApp:
    """The console on the test entries and policies, acting as visitor:1 in scope demo (dark theme)."""
    app = console([ENTRIES, POLICIES], access=VISITOR)
    app.settings = type(app.settings)(theme="execdeck-dark", scrollback_lines=app.settings.scrollback_lines)
    return app


def tree_lines(app: ExecdeckApp) -> list[str]:
    tree = app.query_one(ExecutorTree)
    return [str(tree.get_node_at_line(i).label) for i in range(tree.last_line + 1)]


def details(app: ExecdeckApp) -> dict[str, str]:
    return {w.id: str(w.render()) for w in app.query("#executor-details Static") if w.id}


async def test_locked_executors_are_dimmed_with_a_lock_and_their_reason(console: ConsoleFactory) -> None:
    app = visitor_console(console)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        lines = tree_lines(app)
        assert lines[1:5] == ["shell  native  ● ready  3/4 cmds", "free  native  ● ready  any cmd",
                              "🔒 demo  native  locked", "🔒 boxed  docker  locked"]
        assert lines[6] == "build  native  ● ready  1/2 cmds"
        assert not app.query_one("#details-access", Static).display  # app:shell is not locked
        await pilot.press("down", "down")
        await wait_until(pilot, lambda: app.query_one(ExecutorTree).selected_id == "app:demo", "app:demo")
        shown = details(app)
        assert shown["details-access"] == "🔒 locked for visitor:1: no policy allows it"
        assert app.query_one("#details-access", Static).display
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, RunDialog)
        assert any("app:demo is locked: no policy allows it" in str(n.message) for n in app._notifications)


async def test_a_disabled_command_shows_its_reason_and_the_dialog_never_offers_it(console: ConsoleFactory) -> None:
    app = visitor_console(console)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        whitelist = details(app)["details-whitelist"]
        assert "✗ sh -c 'echo out; echo err >&2'  denied by policy:no_shells" in whitelist
        assert "• echo hello world" in whitelist
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RunDialog), "the run dialog")
        options = app.screen.query_one("#commands", OptionList)
        disabled = [options.get_option_at_index(i).disabled for i in range(options.option_count)]
        assert disabled == [False, False, False, True]
        seen = set()
        for _ in range(6):  # around the list and past its end: the cursor never lands on the refused one
            await pilot.press("down")
            seen.add(options.highlighted)
        assert seen == {0, 1, 2}
        await pilot.press("escape")


async def test_a_typed_command_the_policies_refuse_is_refused_in_the_dialog(console: ConsoleFactory) -> None:
    app = visitor_console(console)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("down", "r")
        await wait_until(pilot, lambda: isinstance(app.screen, RunDialog), "the run dialog of app:free")
        await pilot.press(*"sh -c id")
        error = app.screen.query_one("#run-error", Static)
        assert str(error.render()) == "✗ permission denied (denied by policy:no_shells)"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, RunDialog) and app.engine.processes == []
        field = app.screen.query_one("#command", Input)
        field.value = "echo allowed"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.main.run_tabs(), "the run tab of the allowed command")


async def test_the_palette_offers_only_the_runs_the_policies_allow(console: ConsoleFactory) -> None:
    app = visitor_console(console)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        offered = [text for text, _, _ in ConsoleCommands(app.screen).commands() if text.startswith("Run: ")]
        assert "Run: app:shell › echo hello world" in offered and "Run: tools:build › make test" in offered
        assert not any("sh -c" in text or "make lint" in text or "app:boxed" in text for text in offered)


async def test_the_header_names_the_actor_and_scope_only_when_set(console: ConsoleFactory) -> None:
    app = visitor_console(console)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert str(app.screen.query_one("#access-bar", Static).render()) == "actor visitor:1 · scope demo"
    plain = console([ENTRIES, POLICIES])
    async with plain.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not plain.screen.query("#access-bar")
        assert tree_lines(plain)[3] == "demo  native  ● ready  1 cmd"


async def test_the_repl_passes_through_the_same_checks(console: ConsoleFactory) -> None:
    from tui.ui.widgets.repl_view import ReplView

    app = visitor_console(console)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        view = app.query_one(ReplView)
        chunk = ('local exec = require("exec")\nlocal _, err = exec.get("app:demo")\n'
                 'local _, run = exec.get("app:shell"):exec("sh -c id")\n'
                 'return err:kind() .. "|" .. err:message() .. "|" .. run:message()')
        assert view.submit(chunk)
        expected = "Invalid|permission denied: access executor|permission denied: execute command"
        await wait_until(pilot, lambda: any(expected in e.text for e in view.transcript.entries), "the denials")
        assert app.engine.processes == []


def test_locked_executor_snapshot(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: a header line "actor visitor:1 · scope demo" above the tabs; in the tree "🔒 demo
    native locked" and "🔒 boxed docker locked" dimmed, "shell ... 3/4 cmds", "build ... 1/2 cmds" and a
    "policy" namespace with three policies listed as not executors; app:demo selected, its details saying
    "🔒 locked for visitor:1: no policy allows it" under its status."""
    app = visitor_console(console)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps("down", "down"))


def test_disabled_command_snapshot(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: the "Run on app:shell" dialog over the main screen with four commands, the last
    "sh -c 'echo out; echo err >&2'" dimmed with "✗ denied by policy:no_shells" beside it; "echo hello
    world" highlighted with its argv ‹echo› ‹hello› ‹world›."""
    app = visitor_console(console)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps("r"))
