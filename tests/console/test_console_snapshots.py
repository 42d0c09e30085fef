"""How the console looks, at a fixed size (120 x 40), in the project's dark and light themes.

Each test's docstring says what you should see. Content is deterministic: the entries are the test
entries (a docker entry whose daemon is never there), headers are frozen (pid 4242, 1.5s), paths are
shown relative to the repository (the tests run from there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList
from textual.pilot import Pilot
from textual.widgets import TextArea

from tests.console.conftest import ConsoleFactory, ready, wait_until
from tui.ui.app import ExecdeckApp

SIZE = (120, 40)
PROBLEMS = Path(__file__).resolve().parent / "problem_entries"
Before = Callable[[Pilot[Any]], Awaitable[None]]


def themed(console: ConsoleFactory, theme: str, paths: list[Path] | None = None) -> ExecdeckApp:
    app = console(paths)
    app.settings = type(app.settings)(theme=theme, scrollback_lines=app.settings.scrollback_lines)
    return app


def steps(*keys: str, then: Callable[[ExecdeckApp, Pilot[Any]], Awaitable[None]] | None = None) -> Before:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = await ready(pilot)
        if keys:
            await pilot.press(*keys)
        if then is not None:
            await then(app, pilot)
        await pilot.pause(0.3)
        # A blinking cursor is visible or not depending on timing: stop the blink in every editor, so a focused
        # one shows its cursor steadily. TextArea caches its lines under a key that leaves the cursor out once
        # blinking is off, so a line drawn in the blink's dark phase would be reused without the cursor (that
        # was the "editor lost its focus" seen under load: it had the focus): drop the cache.
        for widget in app.screen.query("Input, TextArea"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
            widget.notify_style_update()
            widget.refresh()
        await pilot.pause()

    return run_before


async def _run_mixed(app: ExecdeckApp, pilot: Pilot[Any]) -> None:
    app.run_command("app:demo", "sh mixed-output.sh")
    await wait_until(pilot, lambda: app.main.run_tabs(), "the run tab")
    tab = app.main.run_tabs()[0]
    pane = tab.view.pane
    # The script waits on stdin after each part (stdout and stderr are two pipes): go on once the pane shows it.
    for shown in (3, 4, 5, 6):

        def part_shown(shown: int = shown) -> bool:
            return pane.buffer.complete_count >= shown

        await wait_until(pilot, part_shown, f"{shown} lines")
        tab.process.write_stdin(b"\n")
    await wait_until(pilot, lambda: tab.process.exit_status is not None and app.main.tabs.active == tab.id, "end")
    await wait_until(pilot, lambda: "exit" in str(tab.view.query_one("RunHeader").render()), "the header")


@pytest.mark.parametrize("theme", ["execdeck-dark", "execdeck-light"])
def test_main_screen(snap_compare: Any, console: ConsoleFactory, theme: str) -> None:
    """You should see: tabs Executors (active), Problems, REPL, History; the tree with namespaces "app" and
    "tools", each executor with its kind, a green "● ready" (a red "● unavailable" for app:boxed, whose
    daemon is missing) and its command count, "notes" dimmed as not an executor; on the right app:shell's
    status, settings, whitelist, "Source tests/console/entries/_index.yaml:6" and its YAML highlighted;
    the footer with r Run, p Pull image, ^w Close tab, q Quit, f1 Help and ^p palette."""
    assert snap_compare(themed(console, theme), terminal_size=SIZE, run_before=steps())


def test_details_of_an_unavailable_docker_executor(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: app:boxed selected (fourth in the tree); the details say "cannot reach the Docker daemon at
    unix:///nonexistent/execdeck-test/docker.sock" in the error colour, its docker settings (image,
    network_mode none, init True...) and its two-command whitelist."""
    assert snap_compare(themed(console, "execdeck-dark"), terminal_size=SIZE, run_before=steps("down", "down", "down"))


@pytest.mark.parametrize("theme", ["execdeck-dark", "execdeck-light"])
def test_run_picker(snap_compare: Any, console: ConsoleFactory, theme: str) -> None:
    """You should see: the "Run on app:shell" dialog over the main screen, listing only the four allowed
    commands with "sh -c 'echo out; echo err >&2'" highlighted, the argv line ‹sh› ‹-c› ‹echo out; echo
    err >&2›, empty work dir (placeholder "executor default"), time limit and env fields, Run and Cancel."""
    assert snap_compare(themed(console, theme), terminal_size=SIZE, run_before=steps("r", "down", "down", "down"))


def test_command_input_shows_the_argv(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: the "Run on app:free" dialog with a command input holding `echo "a b" c` and the
    argv line ‹echo› ‹a b› ‹c› under it (no shell: quotes group, nothing else is interpreted)."""
    assert snap_compare(themed(console, "execdeck-dark"), terminal_size=SIZE,
                        run_before=steps("down", "r", *'echo "a b" c'))


def test_refusal_in_the_dialog(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: the app:shell run dialog with LD_PRELOAD=/tmp/x.so in the env field and, above the
    buttons, a red ✗ and "env LD_PRELOAD is not allowed on an executor with a command whitelist: it would
    change how the allowed program loads"; no run tab opened."""

    async def refuse(app: ExecdeckApp, pilot: Pilot[Any]) -> None:
        app.screen.query_one("#env", TextArea).text = "LD_PRELOAD=/tmp/x.so"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "LD_PRELOAD" in str(app.screen.query_one("#run-error").render()), "refusal")

    assert snap_compare(themed(console, "execdeck-dark"), terminal_size=SIZE, run_before=steps("r", then=refuse))


@pytest.mark.parametrize("theme", ["execdeck-dark", "execdeck-light"])
def test_run_tab_with_mixed_output(snap_compare: Any, console: ConsoleFactory, theme: str) -> None:
    """You should see: a fifth tab "✗ app:demo: sh mixed-output.sh" active; the header "app:demo · sh
    mixed-output.sh │ exited pid 4242 │ 1.5s exited 2" (exit in the failed colour) and the argv; "building"
    in bold, OK in green, FAILED in bold red, the two stderr lines in the stderr colour with a ▌ gutter mark, only
    "progress 100%" of the \\r progress bar; "following │ 7 lines", the stdin bar and the run's keys."""
    assert snap_compare(themed(console, theme), terminal_size=SIZE, run_before=steps(then=_run_mixed))


def test_problems_view(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: the Problems (3) tab active with a table: a ⚠ warning for bad:typo's unknown field
    default_work_dri with the hint "did you mean 'default_work_dir'?", ✗ errors for bad:port's
    default_env (hint: quote it: "8080") and bad:box's empty image, each with
    tests/console/problem_entries/broken.yaml and its line; a notice "3 problems in the entry files"."""
    app = themed(console, "execdeck-dark", [PROBLEMS])
    assert snap_compare(app, terminal_size=SIZE, run_before=steps("right_square_bracket"))


def test_help_for_the_executors(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: a Help dialog titled "Help (Esc closes)" with the Executors section (what the list
    shows, keys ↑ ↓, Enter/r, p, space) and then the keys that work everywhere (ctrl+p, tabs, ctrl+w, t,
    ctrl+r, q, F1)."""
    assert snap_compare(themed(console, "execdeck-dark"), terminal_size=SIZE, run_before=steps("f1"))


def test_help_for_a_run(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see (light theme): F1 pressed in a run tab shows the help of a run: following, search,
    filter, copy, save, stdin and the SIGINT/SIGTERM/SIGKILL keys."""

    async def run_then_help(app: ExecdeckApp, pilot: Pilot[Any]) -> None:
        await _run_mixed(app, pilot)
        await pilot.press("f1")

    assert snap_compare(themed(console, "execdeck-light"), terminal_size=SIZE, run_before=steps(then=run_then_help))


def test_palette_offers_whitelisted_commands(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: the command palette with "run: echo" typed and the matching commands listed, first
    "Run: app:shell › echo hello world" with its help "run this allowed command now"."""

    async def search(app: ExecdeckApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+p")
        await pilot.press(*"run: echo")
        await wait_until(pilot, lambda: app.screen.query_one(CommandList).option_count >= 2, "the hits")

    assert snap_compare(themed(console, "execdeck-dark"), terminal_size=SIZE, run_before=steps(then=search))


def test_repl_tab(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: the REPL tab active, the transcript with the input `1+1` highlighted and the result
    2, the `lua>` prompt in the editor, and the status line naming the sandbox."""
    pytest.importorskip("tui.ui.widgets.repl_view", reason="the REPL tab is not built yet")

    async def evaluate(app: ExecdeckApp, pilot: Pilot[Any]) -> None:
        await pilot.press("1", "+", "1", "enter")
        view = app.query_one("ReplView")
        await wait_until(pilot, lambda: any(e.text == "2" for e in view.transcript.entries), "2")  # type: ignore[attr-defined]
        # The editor keeps the keys after a chunk: the snapshot shows its cursor. (A CI run once drew it
        # without: this names what went wrong where a pixel diff would not.)
        await wait_until(pilot, lambda: view.editor.has_focus, "the editor to have the focus")  # type: ignore[attr-defined]

    assert snap_compare(themed(console, "execdeck-dark"), terminal_size=SIZE, run_before=steps("l", then=evaluate))


def test_closing_a_running_tab_asks(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: a "Close run" question over the run tab of `sleep 30` (state running, pid 4242):
    "'sleep 30' on app:shell is still running. Stop it (SIGTERM, then SIGKILL) and close the tab?", with
    "Stop and close (y)" and "No (n)" buttons."""

    async def ask(app: ExecdeckApp, pilot: Pilot[Any]) -> None:
        app.run_command("app:shell", "sleep 30")
        await wait_until(pilot, lambda: app.main.run_tabs() and app.main.tabs.active != "executors", "the tab")
        await wait_until(pilot, lambda: app.main.run_tabs()[0].running, "the start")
        await pilot.press("ctrl+w")

    assert snap_compare(themed(console, "execdeck-dark"), terminal_size=SIZE, run_before=steps(then=ask))


def test_theme_picker(snap_compare: Any, console: ConsoleFactory) -> None:
    """You should see: the Theme dialog listing every theme (built-in and execdeck-dark/-light) with the
    highlight on execdeck-light, which is already previewed on the whole screen behind it."""

    async def pick(app: ExecdeckApp, pilot: Pilot[Any]) -> None:
        await pilot.press("t")
        await pilot.pause(0.2)
        await pilot.press("down")

    assert snap_compare(themed(console, "execdeck-dark"), terminal_size=SIZE, run_before=steps(then=pick))
