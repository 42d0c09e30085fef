"""Running commands from the console: the picker, the command input, refusals, the run tab both ways.

One run goes through a real process end to end (the picker's); the others run on the in-memory kind,
whose runs the test steps, so what they show is the console's own part."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from textual.widgets import Input, OptionList, Static, TabPane, TextArea

from tests.console.conftest import SIZE, ConsoleFactory, ready, wait_until
from tui.core.executors.memory import MemoryKind, MemoryRun
from tui.ui.app import ExecdeckApp
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.run_dialog import RunDialog
from tui.ui.widgets.executor_list import ExecutorTree
from tui.ui.widgets.run_header import RunHeader
from tui.ui.widgets.run_tab import RunTab


async def open_dialog(pilot: object, app: ExecdeckApp, entry_id: str) -> RunDialog:
    app.main.select_executor(entry_id)
    await pilot.pause()  # type: ignore[attr-defined]
    assert app.query_one(ExecutorTree).selected_id == entry_id
    await pilot.press("r")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: isinstance(app.screen, RunDialog), "the run dialog")  # type: ignore[arg-type]
    assert isinstance(app.screen, RunDialog)
    return app.screen


def pane_text(tab: RunTab) -> list[str]:
    buffer = tab.view.pane.buffer
    return [buffer.line(i).text for i in range(len(buffer))]


async def test_the_picker_offers_only_the_whitelisted_commands_and_a_run_opens_a_tab_with_output_and_exit(
    console: ConsoleFactory,
) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        dialog = await open_dialog(pilot, app, "app:shell")
        options = dialog.query_one("#commands", OptionList)
        offered = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert offered == ["echo hello world", "cat", "sleep 30", "sh -c 'echo out; echo err >&2'"]
        assert not dialog.query("#command"), "no free command input on a whitelisted executor"
        await pilot.press("down", "down", "down")
        assert "‹sh› ‹-c› ‹echo out; echo err >&2›" in str(dialog.query_one("#argv", Static).render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main.run_tabs(), "a run tab")
        tab = app.main.run_tabs()[0]
        assert app.main.tabs.active == tab.id
        await wait_until(pilot, lambda: tab.process.exit_status is not None and len(pane_text(tab)) == 2, "the end")
        assert sorted(pane_text(tab)) == ["err", "out"]
        streams = {tab.view.pane.buffer.line(i).stream for i in range(2)}
        assert streams == {"stdout", "stderr"}
        header = tab.view.query_one("RunHeader")
        await wait_until(pilot, lambda: "exited 0" in str(header.render()), "the header to say how it ended")
        assert "app:shell" in str(header.render())
        assert str(app.main.tabs.get_tab(tab).label).startswith("✓")


async def test_a_command_input_on_an_executor_without_whitelist_shows_the_argv_before_running(
    console: ConsoleFactory, memory_entries: Path, memory_kind: MemoryKind,
) -> None:
    app = console([memory_entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        dialog = await open_dialog(pilot, app, "mem:free")
        await pilot.press(*"printf '%s|' a\"b c\"d  e")
        assert dialog.query_one("#command", Input).value == "printf '%s|' a\"b c\"d  e"
        argv = str(dialog.query_one("#argv", Static).render())
        assert "‹printf› ‹%s|› ‹ab cd› ‹e›" in argv
        assert not app.main.run_tabs() and not memory_kind.runs, "nothing runs before Enter"
        await pilot.press("enter")
        await wait_until(pilot, lambda: memory_kind.launched(), "the run to start")
        assert memory_kind.runs[0].argv == ["printf", "%s|", "ab cd", "e"], "the argv shown is the argv run"
        await wait_until(pilot, lambda: app.main.run_tabs(), "a run tab")
        memory_kind.runs[0].exit(0)
        # Typed commands are remembered for ↑ in the next dialog.
        assert app.history["mem:free"] == ["printf '%s|' a\"b c\"d  e"]


async def test_a_loader_variable_on_a_whitelisted_executor_is_refused_in_the_dialog(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        dialog = await open_dialog(pilot, app, "app:shell")
        dialog.query_one("#env", TextArea).text = "LD_PRELOAD=/tmp/evil.so\n"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "LD_PRELOAD" in str(dialog.query_one("#run-error", Static).render()), "refusal")
        assert app.screen is dialog, "the dialog stays open to fix it"
        assert not app.main.run_tabs()


async def test_a_missing_work_dir_is_explained_in_the_dialog(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        dialog = await open_dialog(pilot, app, "app:shell")
        dialog.query_one("#work-dir", Input).value = "/nonexistent/execdeck-dir"
        await pilot.press("ctrl+r")
        error = dialog.query_one("#run-error", Static)
        await wait_until(pilot, lambda: "/nonexistent/execdeck-dir" in str(error.render()), "the refusal")
        assert app.screen is dialog
        await pilot.pause(0.2)
        assert not app.main.run_tabs(), "a failed start opens no tab"


async def test_bad_options_are_explained_before_anything_runs(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        dialog = await open_dialog(pilot, app, "app:shell")
        dialog.query_one("#timeout", Input).value = "soon"
        await pilot.press("ctrl+r")
        assert "not a number of seconds" in str(dialog.query_one("#run-error", Static).render())
        dialog.query_one("#timeout", Input).value = ""
        dialog.query_one("#env", TextArea).text = "JUSTANAME\n"
        await pilot.press("ctrl+r")
        assert "env line 1" in str(dialog.query_one("#run-error", Static).render())


async def start_in_tab(pilot: object, app: ExecdeckApp, entry_id: str, command: str) -> RunTab:
    app.run_command(entry_id, command)
    await wait_until(pilot, lambda: app.main.run_tabs(), "a run tab")  # type: ignore[arg-type]
    tab = app.main.run_tabs()[-1]
    await wait_until(pilot, lambda: tab.process.running or tab.process.exit_status, "the start")  # type: ignore[arg-type]
    return tab


def run_of(tab: RunTab) -> MemoryRun:
    run = tab.process.backend
    assert isinstance(run, MemoryRun)
    return run


async def test_a_stdin_line_and_end_of_input_reach_the_run(console: ConsoleFactory, memory_entries: Path) -> None:
    app = console([memory_entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tab = await start_in_tab(pilot, app, "mem:shell", "cat")
        run = run_of(tab)
        await pilot.press("i", *"hello cat", "enter")
        await wait_until(pilot, lambda: run.stdin == b"hello cat\n", "the line on the run's stdin")
        run.out(run.stdin)
        await wait_until(pilot, lambda: pane_text(tab) == ["hello cat"], "the echoed line")
        assert tab.process.running and not run.stdin_closed
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: run.stdin_closed, "the end of input")
        run.exit(0)
        await wait_until(pilot, lambda: "exited 0" in str(tab.view.query_one("RunHeader").render()), "the header")


async def test_the_sigterm_key_ends_the_run_and_the_header_says_killed_by_sigterm(
    console: ConsoleFactory, memory_entries: Path
) -> None:
    app = console([memory_entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tab = await start_in_tab(pilot, app, "mem:shell", "serve")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: tab.process.exit_status is not None, "the run to end")
        assert run_of(tab).signals == [signal.SIGTERM]
        await wait_until(pilot, lambda: "killed by SIGTERM" in str(tab.view.query_one("RunHeader").render()), "header")
        assert str(app.main.tabs.get_tab(tab).label).startswith("✗")


async def test_a_signal_to_an_ended_run_is_a_notice_not_a_crash(console: ConsoleFactory, memory_entries: Path) -> None:
    app = console([memory_entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tab = await start_in_tab(pilot, app, "mem:shell", "echo hello world")
        run_of(tab).exit(0)
        await wait_until(pilot, lambda: tab.process.exit_status is not None, "the end")
        tab.process.wait()  # closes it: a signal is now refused by the engine
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: any("cannot send SIGTERM" in str(n.message) for n in app._notifications),
                         "the notice")
        assert run_of(tab).signals == []


async def test_closing_a_running_tab_asks_first_then_ends_the_run(
    console: ConsoleFactory, memory_entries: Path
) -> None:
    app = console([memory_entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tab = await start_in_tab(pilot, app, "mem:shell", "serve")
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        assert tab.process.running and app.main.run_tabs() == [tab]
        assert run_of(tab).signals == []
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.main.run_tabs(), "the tab to close")
        assert tab.process.wait_done(5)
        assert not tab.process.running and run_of(tab).signals == [signal.SIGTERM]


async def test_a_process_started_through_the_engine_from_another_thread_appears_as_a_run_tab(
    console: ConsoleFactory, memory_entries: Path, memory_kind: MemoryKind,
) -> None:
    app = console([memory_entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        codes: list[int | None] = []

        def lua_like() -> None:  # what the exec module does on the Lua worker thread
            process = app.engine.get("mem:free").exec("seq 1 500", source="lua")
            process.start()
            codes.append(process.wait().code)

        worker = threading.Thread(target=lua_like)
        worker.start()
        await wait_until(pilot, lambda: app.main.run_tabs(), "the tab of the Lua run")
        tab = app.main.run_tabs()[0]
        run = memory_kind.wait_for_launch()
        for i in range(1, 501):
            run.out(f"{i}\n")
        run.exit(0)
        await wait_until(pilot, lambda: len(pane_text(tab)) == 500, "all 500 lines")
        assert pane_text(tab)[0] == "1" and pane_text(tab)[-1] == "500"
        assert app.main.tabs.active == "executors", "a run from Lua does not steal the operator's tab"
        worker.join(5)
        assert codes == [0]


async def test_quit_with_a_run_going_asks_first_and_leaves_nothing_running(
    console: ConsoleFactory, memory_entries: Path
) -> None:
    app = console([memory_entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tab = await start_in_tab(pilot, app, "mem:shell", "serve")
        await pilot.press("e", "q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        assert tab.process.running
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, "the exit", timeout=10)
    assert not tab.process.running
    assert run_of(tab).signals == [signal.SIGTERM]
    assert app.return_code == 0
    assert not app.engine.processes



async def test_a_tab_key_takes_the_keys_along_at_once_and_a_late_focus_never_brings_the_run_tab_back(
    console: ConsoleFactory,
) -> None:
    """Keys typed right after a tab key go to the new tab. Left in the hidden run tab, the focus would be
    handed to a sibling there (the stdin line), and that focus would switch the tabs back; news of a focus
    in the run tab that reaches the tabs after the switch must not undo it either."""
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tab = await start_in_tab(pilot, app, "app:shell", "cat")
        await wait_until(pilot, lambda: app.main.tabs.active == tab.id, "the run tab")
        for into_run_tab in ([], ["i"]):  # from the pane, then from the stdin line
            await pilot.press(*into_run_tab)
            app.main.action_show_tab("executors")
            assert isinstance(app.screen.focused, ExecutorTree), "the keys went along in the same step"
            tab.post_message(TabPane.Focused(tab))  # late news of the focus the run tab had
            await pilot.pause()
            assert app.main.tabs.active == "executors"
            await pilot.press("left_square_bracket")
            await wait_until(pilot, lambda: app.main.tabs.active == tab.id, "the run tab again")
            assert app.screen.focused is tab.view.pane
        tab.stop()



async def test_the_header_says_how_a_run_ended_once_the_pane_shows_all_it_printed(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        tab = await start_in_tab(pilot, app, "app:free", "seq 1 50000")
        header = tab.view.query_one(RunHeader)
        buffer = tab.view.pane.buffer
        seen_at_the_end: list[int] = []
        header.watch(header, "info", lambda info: seen_at_the_end.append(buffer.lines_by_stream["stdout"])
                     if info.ok is not None else None, init=False)
        await wait_until(pilot, lambda: seen_at_the_end, "the header to say how the run ended")
        assert seen_at_the_end[0] == 50000, "every line was in the pane when the header said exited"
        assert buffer.line(len(buffer) - 1).text == "50000"
