"""The REPL engine: evaluation, continuation, results, cancel, reset, completion."""

from __future__ import annotations

import threading

import pytest

from tui.lua.repl import ReplEngine
from tui.lua.runtime import LuaSandbox


class Process:
    """Stands in for an `exec` object: a Python object with an allow-list of methods."""

    __lua_allowed__ = frozenset({"start", "stdout_stream", "wait"})

    def start(self) -> bool:
        return True

    def stdout_stream(self) -> None:
        return None

    def wait(self) -> int:
        return 0


@pytest.fixture
def repl() -> ReplEngine:
    return ReplEngine(max_memory=64 * 1024 * 1024)


def test_an_expression_shows_its_value(repl: ReplEngine) -> None:
    result = repl.evaluate("1 + 1")
    assert result.ok and result.values == ["2"]


def test_a_statement_runs_and_shows_nothing(repl: ReplEngine) -> None:
    assert repl.evaluate("x = 40").values == []
    assert repl.evaluate("x + 2").values == ["42"]


def test_several_returned_values_are_each_shown(repl: ReplEngine) -> None:
    assert repl.evaluate("1, nil, 'a'").values == ["1", "nil", '"a"']


def test_a_trailing_semicolon_hides_the_result(repl: ReplEngine) -> None:
    result = repl.evaluate("(function() print('hi') return 5 end)();")
    assert result.ok and result.values == [] and result.output == ["hi"]


def test_print_output_is_collected_in_the_result(repl: ReplEngine) -> None:
    assert repl.evaluate("print('a', 1) print('b')").output == ["a\t1", "b"]
    assert repl.evaluate("print('c')").output == ["c"]


def test_print_output_that_is_streamed_is_not_also_kept() -> None:
    # A chunk that prints forever must not grow a list forever: a taker of the lines gets them all.
    seen: list[str] = []
    engine = ReplEngine(on_print=seen.append)
    result = engine.evaluate("for i = 1, 3 do print('line', i) end")
    assert seen == ["line\t1", "line\t2", "line\t3"]
    assert result.output == []


def test_an_error_gives_the_lua_message_and_traceback(repl: ReplEngine) -> None:
    result = repl.evaluate("error('boom')")
    assert not result.ok and not result.cancelled
    assert result.error == "stdin:1: boom"
    assert "stack traceback:" in result.traceback


def test_a_syntax_error_is_reported_as_the_statement_error(repl: ReplEngine) -> None:
    result = repl.evaluate("x = = 1")
    assert result.error is not None and result.error.startswith("stdin:1:")


@pytest.mark.parametrize("text", ["if x then", "function f()", "x = ", "1 +", "t = {", "s = [[abc", "f(1,"])
def test_an_unfinished_input_asks_for_more_lines(repl: ReplEngine, text: str) -> None:
    assert not repl.is_complete(text)


@pytest.mark.parametrize("text", ["1 + 1", "x = 1", "for i = 1, 2 do end", "x = )", "if x then end", "end"])
def test_a_finished_or_hopeless_input_is_complete(repl: ReplEngine, text: str) -> None:
    assert repl.is_complete(text)


def test_a_multi_line_input_runs_once_complete(repl: ReplEngine) -> None:
    text = "function add(a, b)\n  return a + b\nend"
    assert not repl.is_complete("function add(a, b)\n  return a + b")
    assert repl.is_complete(text)
    repl.evaluate(text)
    assert repl.evaluate("add(2, 3)").values == ["5"]


def test_cancel_stops_an_endless_evaluation_and_reports_it_distinctly(repl: ReplEngine) -> None:
    started = threading.Event()
    repl.sandbox.set_global("started", started.set)
    results = []
    worker = threading.Thread(target=lambda: results.append(repl.evaluate("started() while true do end")))
    worker.start()
    assert started.wait(5)
    repl.cancel()
    worker.join(1.0)
    assert not worker.is_alive()
    assert results[0].cancelled and results[0].error == "cancelled"
    assert repl.evaluate("1").values == ["1"]


def test_completion_is_empty_while_an_evaluation_runs(repl: ReplEngine) -> None:
    started = threading.Event()
    repl.sandbox.set_global("started", started.set)
    worker = threading.Thread(target=lambda: repl.evaluate("started() while true do end"))
    worker.start()
    assert started.wait(5)
    assert repl.complete("pri", 3) == []
    repl.cancel()
    worker.join(1.0)
    assert repl.complete("pri", 3) == ["print"]


def test_reset_gives_a_fresh_state_with_the_modules_registered_again(repl: ReplEngine) -> None:
    builds: list[LuaSandbox] = []

    def factory(sandbox: LuaSandbox) -> object:
        builds.append(sandbox)
        return sandbox.to_lua({"v": 1})

    repl.register_module("demo", factory)
    repl.evaluate("x = 5")
    assert repl.evaluate("require('demo').v").values == ["1"]
    old = repl.sandbox
    repl.reset()
    assert repl.sandbox is not old
    assert repl.evaluate("x").values == ["nil"]
    assert repl.evaluate("require('demo').v").values == ["1"]
    assert len(builds) == 2


def test_reset_does_not_wait_for_a_stuck_evaluation(repl: ReplEngine) -> None:
    started = threading.Event()
    repl.sandbox.set_global("started", started.set)
    worker = threading.Thread(target=lambda: repl.evaluate("started() while true do end"), daemon=True)
    worker.start()
    assert started.wait(5)
    repl.reset()
    assert repl.evaluate("1 + 2").values == ["3"]
    worker.join(1.0)
    assert not worker.is_alive()


def test_setup_runs_on_every_fresh_sandbox() -> None:
    engine = ReplEngine(setup=lambda box: box.set_global("errors", {"INVALID": "Invalid"}))
    assert engine.evaluate("errors.INVALID").values == ['"Invalid"']
    engine.reset()
    assert engine.evaluate("errors.INVALID").values == ['"Invalid"']


def test_completion_offers_globals(repl: ReplEngine) -> None:
    assert repl.complete("pr", 2) == ["print"]
    assert repl.complete("x = ta", 6) == ["table"]


def test_completion_offers_fields_of_tables(repl: ReplEngine) -> None:
    assert repl.complete("string.fo", 9) == ["string.format"]
    assert repl.complete("math.m", 6) == [
        "math.max", "math.maxinteger", "math.min", "math.mininteger", "math.modf"
    ]
    repl.evaluate("config = {server = {host = 1, port = 2}}")
    assert repl.complete("config.server.", 14) == ["config.server.host", "config.server.port"]


def test_completion_offers_methods_after_a_colon(repl: ReplEngine) -> None:
    repl.evaluate(
        "Obj = {} Obj.__index = Obj function Obj.start() end function Obj.stdout_stream() end "
        "Obj.count = 1 p = setmetatable({}, Obj)"
    )
    assert repl.complete("p:st", 4) == ["p:start", "p:stdout_stream"]
    assert repl.complete("p:", 2) == ["p:start", "p:stdout_stream"]
    assert repl.complete("p.", 2) == ["p.count", "p.start", "p.stdout_stream"]
    assert repl.complete("p.__", 4) == ["p.__index"]


def test_completion_offers_the_allowed_methods_of_python_objects(repl: ReplEngine) -> None:
    repl.sandbox.set_global("proc", Process())
    assert repl.complete("proc:st", 7) == ["proc:start", "proc:stdout_stream"]
    assert repl.complete("proc.w", 6) == ["proc.wait"]


def test_completion_never_runs_script_code(repl: ReplEngine) -> None:
    repl.evaluate("trap = setmetatable({}, {__index = function() while true do end end})")
    assert repl.complete("trap.x", 6) == []
    assert repl.complete("io.", 3) == []


def test_a_userdata_result_shows_its_python_type(repl: ReplEngine) -> None:
    repl.sandbox.set_global("proc", Process())
    assert repl.evaluate("proc").values == ["<userdata: Process>"]
