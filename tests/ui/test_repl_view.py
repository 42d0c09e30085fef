"""The REPL tab driven like a person would: keys in, what the transcript shows and the view posts out."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer

from tui.core.engine import Engine
from tui.core.entries.models import LoadResult
from tui.lua.history import History
from tui.lua.session import make_repl
from tui.ui.themes import DEFAULT_VARIABLES, apply_theme, register_themes
from tui.ui.widgets.repl_editor import CompletionMenu, ReplEditor
from tui.ui.widgets.repl_transcript import Entry, ReplTranscript
from tui.ui.widgets.repl_view import SANDBOX_NOTE, ReplView

SIZE = (100, 30)
DEADLINE = 5.0


class ReplApp(App[None]):
    """Hosts one ReplView on the console's REPL session (a Lua worker process) over an engine with no
    executors; records the Evaluated messages."""

    def __init__(self, history: History, theme: str = "execdeck-dark") -> None:
        super().__init__()
        self.history = history
        self.wanted_theme = theme
        self.evaluated: list[bool] = []
        self.engine = Engine(LoadResult())

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DEFAULT_VARIABLES)

    def compose(self) -> ComposeResult:
        yield ReplView(lambda on_print: make_repl(self.engine, on_print), history=self.history)
        yield Footer()

    def on_mount(self) -> None:
        register_themes(self)
        apply_theme(self, self.wanted_theme)

    def on_repl_view_evaluated(self, event: ReplView.Evaluated) -> None:
        self.evaluated.append(event.ok)

    @property
    def view(self) -> ReplView:
        return self.query_one(ReplView)

    @property
    def transcript_text(self) -> str:
        return self.query_one(ReplTranscript).plain_text()


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "repl_history")


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Let the app run until ``condition()`` holds; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def enter(app: ReplApp, pilot: Pilot[None], text: str) -> None:
    """Type ``text`` and press Enter, then wait until the chunk has been evaluated."""
    count = len(app.evaluated)
    await pilot.press(*text, "enter")
    await wait_for(pilot, lambda: len(app.evaluated) > count, f"{text!r} to be evaluated")
    await pilot.pause()


def kinds(app: ReplApp) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in app.query_one(ReplTranscript).entries]


async def test_an_expression_shows_its_value(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await enter(app, pilot, "1+1")
        assert kinds(app)[-2:] == [("input", "1+1"), ("value", "2")]
        assert app.evaluated == [True]
        assert app.view.editor.text == ""


async def test_a_statement_shows_nothing_and_its_global_is_there_for_the_next_chunk(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await enter(app, pilot, "x = 5")
        assert kinds(app)[-1] == ("input", "x = 5")
        await enter(app, pilot, "x * 2")
        assert kinds(app)[-1] == ("value", "10")
        assert app.evaluated == [True, True]


async def test_enter_on_an_incomplete_chunk_continues_it_on_the_next_line(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        editor = app.view.editor
        await pilot.press(*"for i=1,2 do", "enter")
        await pilot.pause()
        assert editor.text == "for i=1,2 do\n  "  # kept, with one more indent after `do`
        assert app.evaluated == [] and not app.view.running
        await enter(app, pilot, "print(i) end")
        assert kinds(app)[-2:] == [("input", "for i=1,2 do\n  print(i) end"), ("output", "1\n2")]
        assert "lua> for i=1,2 do\n..>   print(i) end\n1\n2" in app.transcript_text


async def test_shift_enter_and_ctrl_j_insert_a_newline_even_when_the_chunk_is_complete(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "shift+enter", "2", "ctrl+j", "3")
        await pilot.pause()
        assert app.view.editor.text == "1\n2\n3"
        assert app.evaluated == []


async def test_an_error_shows_lua_message_and_traceback_and_no_python_traceback(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await enter(app, pilot, "error('boom')")
        kind, text = kinds(app)[-1]
        assert kind == "error" and "boom" in text
        shown = app.transcript_text
        assert "stack traceback" in shown
        assert "Traceback (most recent call last)" not in shown and ".py" not in shown
        assert app.evaluated == [False]


async def test_a_syntax_error_is_shown_as_an_error(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await enter(app, pilot, "x = = 1")
        kind, text = kinds(app)[-1]
        assert kind == "error" and "unexpected symbol" in text


async def test_ctrl_c_cancels_an_endless_loop_and_the_repl_works_afterwards(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"while true do end", "enter")
        await wait_for(pilot, lambda: app.view.running, "the chunk to start")
        assert "running…" in str(app.view.query_one("#repl-state").render())
        # Enter is refused while a chunk runs; the text stays for later. (Each key pressed while Lua spins
        # costs the pilot its full idle wait, so the text is inserted directly.)
        app.view.editor.insert("2")
        await pilot.press("enter")
        assert app.view.editor.text == "2" and app.evaluated == []
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.evaluated == [False], "the cancelled chunk to end")
        assert kinds(app)[-1] == ("cancelled", "cancelled")
        assert "⊘ cancelled" in app.transcript_text
        await pilot.press("ctrl+c")  # nothing runs now: clears the editor
        assert app.view.editor.text == ""
        await enter(app, pilot, "1+1")
        assert kinds(app)[-1] == ("value", "2")


async def test_ctrl_c_on_a_chunk_stuck_in_a_c_function_restarts_the_runtime_and_says_so(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await enter(app, pilot, "kept = 1")
        stuck = 'string.rep("a", 20000):find(".-.-.-.-b")'
        await pilot.press(*stuck, "enter")
        await wait_for(pilot, lambda: app.view.running, "the chunk to start")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.evaluated == [True, False], "the stuck chunk to end")
        cancelled, note = kinds(app)[-2:]
        assert cancelled == ("cancelled", "cancelled")
        assert note[0] == "note" and "did not stop" in note[1] and "globals cleared" in note[1]
        await enter(app, pilot, "kept")
        assert kinds(app)[-1] == ("value", "nil")


async def test_prints_of_a_long_running_chunk_arrive_while_it_runs(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"print('early') while true do end", "enter")
        await wait_for(pilot, lambda: ("output", "early") in kinds(app), "the print to arrive")
        assert app.view.running
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.evaluated == [False], "the cancelled chunk to end")


async def test_reset_ends_a_running_chunk_and_clears_globals(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await enter(app, pilot, "y = 42")
        await enter(app, pilot, "y")
        assert kinds(app)[-1] == ("value", "42")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert kinds(app)[-1] == ("note", "— fresh Lua session: globals cleared —")
        await enter(app, pilot, "y")
        assert kinds(app)[-1] == ("value", "nil")
        await pilot.press(*"while true do end", "enter")
        await wait_for(pilot, lambda: app.view.running, "the chunk to start")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not app.view.running
        assert "ended" in kinds(app)[-1][1]
        await enter(app, pilot, "2*3")
        assert kinds(app)[-1] == ("value", "6")


async def test_up_recalls_earlier_chunks_with_prefix_search_and_down_comes_back(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        for chunk in ("a = 1", "b = 2", "a + 1"):
            await enter(app, pilot, chunk)
        editor = app.view.editor
        await pilot.press("up")
        assert editor.text == "a + 1"
        await pilot.press("up")
        assert editor.text == "b = 2"
        await pilot.press("down", "down")
        assert editor.text == ""  # back to what was typed: nothing
        await pilot.press("a", "up")
        assert editor.text == "a + 1"
        await pilot.press("up")
        assert editor.text == "a = 1"
        await pilot.press("up")  # no older match: stays
        assert editor.text == "a = 1"
        await pilot.press("down", "down")
        assert editor.text == "a"


async def test_history_is_saved_and_a_second_view_recalls_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    first = ReplApp(History())
    async with first.run_test(size=SIZE) as pilot:
        await enter(first, pilot, "for i=1,3 do\nprint(i) end".replace("\n", ""))
        await enter(first, pilot, "'second'")
    assert (tmp_path / "execdeck" / "repl_history").is_file()
    second = ReplApp(History())
    async with second.run_test(size=SIZE) as pilot:
        await pilot.press("f", "up")
        assert second.view.editor.text == "for i=1,3 doprint(i) end"
        await pilot.press("ctrl+c", "up")
        assert second.view.editor.text == "'second'"


async def test_a_multi_line_chunk_comes_back_whole_and_up_keeps_walking(history: History) -> None:
    history.add("older = 1")
    history.add("function f()\n  return 1\nend")
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        editor = app.view.editor
        await pilot.press("up")
        assert editor.text == "function f()\n  return 1\nend"
        assert editor.cursor_location[0] == 0
        await pilot.press("up")
        assert editor.text == "older = 1"


async def test_tab_completes_a_single_candidate(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"string.fo", "tab")
        assert app.view.editor.text == "string.format"
        assert not app.view.query_one(CompletionMenu).is_open


async def test_tab_with_several_candidates_opens_a_menu_to_pick_from(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        menu = app.view.query_one(CompletionMenu)
        editor = app.view.editor
        await pilot.press(*"string.r", "tab")
        assert menu.is_open
        assert [str(menu.get_option_at_index(i).prompt) for i in range(menu.option_count)] == [
            "string.rep", "string.reverse"]
        assert editor.text == "string.re"  # the common prefix is inserted at once
        await pilot.press("tab", "enter")
        assert editor.text == "string.reverse" and not menu.is_open
        await pilot.press("ctrl+c", *"math.f", "tab")
        assert menu.is_open
        assert menu.option_count == 2  # math.floor, math.fmod
        await pilot.press("l")  # typing narrows the menu to math.floor; Tab takes the last one left
        assert menu.is_open and menu.option_count == 1
        await pilot.press("tab")
        assert editor.text == "math.floor" and not menu.is_open
        await pilot.press("ctrl+c", *"math.", "tab")
        assert menu.is_open
        await pilot.press("escape")
        assert not menu.is_open and editor.text == "math."


async def test_tab_at_the_start_of_a_line_indents(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "x")
        assert app.view.editor.text == "  x"


async def test_the_status_line_says_the_repl_is_a_sandbox(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert str(app.view.query_one("#repl-sandbox").render()) == SANDBOX_NOTE
        assert SANDBOX_NOTE == "sandbox: exec only · no io/os/debug · memory cap 256 MiB"


async def test_the_transcript_keeps_only_the_last_entries(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        transcript = app.query_one(ReplTranscript)
        transcript.add(Entry("value", f"{i}") for i in range(2500))
        await pilot.pause()
        entries = transcript.entries
        assert len(entries) == 2000 and entries[0].text == "500" and entries[-1].text == "2499"
        await enter(app, pilot, "1+1")  # still answers
        assert kinds(app)[-1] == ("value", "2")


async def test_a_burst_of_prints_is_bounded(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await enter(app, pilot, "for i = 1, 20000 do print(i) end")
        shown = app.transcript_text
        assert shown.rstrip().endswith("20000")  # the latest lines are always shown
        assert len(app.query_one(ReplTranscript).lines) <= 20000
        await enter(app, pilot, "1+1")
        assert kinds(app)[-1] == ("value", "2")


async def test_lua_highlighting_falls_back_to_plain_text(monkeypatch: pytest.MonkeyPatch, history: History) -> None:
    import tui.ui.widgets.repl_editor as repl_editor

    monkeypatch.setattr(repl_editor, "_lua_language", lambda: ("not a language", "(bad query"))
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        editor = app.query_one(ReplEditor)
        assert not editor.lua_highlighting and editor.language is None
        await enter(app, pilot, "1+1")
        assert kinds(app)[-1] == ("value", "2")


async def test_the_editor_highlights_lua(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        editor = app.query_one(ReplEditor)
        assert editor.lua_highlighting and editor.language == "lua"


async def test_a_theme_switch_recolours_the_transcript(history: History) -> None:
    app = ReplApp(history)
    async with app.run_test(size=SIZE) as pilot:
        await enter(app, pilot, "error('x')")
        transcript = app.query_one(ReplTranscript)
        before = transcript.lines[-1]
        app.theme = "execdeck-light"
        await pilot.pause()
        assert transcript.lines[-1].text == before.text
        assert transcript.lines[-1] != before


# -- the look --------------------------------------------------------------------------------------------

SESSION = [
    "1+1",
    "t = {3, 2, 1, name = 'deck', nested = {ok = true}}",
    "t",
    "for i = 1, 2 do print('line ' .. i) end",
    "error('boom')",
]


def repl_session(history_path: Path) -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, ReplApp)
        app.view.editor.cursor_blink = False  # a blinking cursor would make the picture flaky
        for chunk in SESSION:
            await enter(app, pilot, chunk)
        await pilot.press(*"local s = string.r", "tab")  # the menu of two candidates opens
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("theme", ["execdeck-dark", "execdeck-light"])
def test_a_repl_session(snap_compare: Any, theme: str, tmp_path: Path) -> None:
    """You should see: the transcript with each chunk after a bold "lua> " prompt in the prompt colour, the
    Lua coloured (keywords, strings, numbers in distinct theme colours); "2"; the table pretty-printed with
    the array part first then sorted keys (`{3, 2, 1, name = "deck", nested = {ok = true}}`); "line 1" and
    "line 2" as printed output; "stdin:1: boom" in bold in the exit-failed colour with its "stack traceback:"
    below in the same colour and no Python traceback; a "lua> " prompt beside the editor holding
    `local s = string.re`; above it a small menu offering string.rep (highlighted) and string.reverse; a
    status line "sandbox: exec only · no io/os/debug · memory cap 256 MiB" with "ready" at its right; the
    footer with Cancel/clear, Reset Lua and Clear."""
    app = ReplApp(History(tmp_path / "repl_history"), theme=theme)
    assert snap_compare(app, terminal_size=SIZE, run_before=repl_session(tmp_path))
