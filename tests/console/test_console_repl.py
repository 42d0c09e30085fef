"""The REPL tab of the console: evaluation, and processes started from Lua as run tabs."""

from __future__ import annotations

import pytest

from tests.console.conftest import SIZE, ConsoleFactory, ready, wait_until

repl_view = pytest.importorskip("tui.ui.widgets.repl_view", reason="the REPL tab is not built yet")


async def test_the_repl_tab_evaluates_an_expression(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("l")
        assert app.main.tabs.active == "repl"
        view = app.query_one(repl_view.ReplView)
        assert app.focused is view.editor
        await pilot.press("1", "+", "1", "enter")
        await wait_until(pilot, lambda: any(e.text == "2" for e in view.transcript.entries), "the value 2")


async def test_a_process_started_from_a_repl_chunk_opens_a_run_tab_with_its_output(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("l")
        view = app.query_one(repl_view.ReplView)
        chunk = ('local p = require("exec").get("app:free"):exec("sh -c \'echo from lua; echo oops >&2\'")\n'
                 "p:start()\nreturn p:wait()")
        assert view.submit(chunk)
        await wait_until(pilot, lambda: app.main.run_tabs(), "the run tab")
        tab = app.main.run_tabs()[0]
        assert tab.process.spec.source == "lua"
        buffer = tab.view.pane.buffer
        await wait_until(pilot, lambda: len(buffer) == 2, "both lines")
        assert sorted(buffer.line(i).text for i in range(2)) == ["from lua", "oops"]
        await wait_until(pilot, lambda: "exited 0" in str(tab.view.query_one("RunHeader").render()), "the header")
        await wait_until(pilot, lambda: any(e.text == "0" for e in view.transcript.entries), "wait() gives 0")
        assert app.main.tabs.active == "repl", "the operator stays in the REPL"
