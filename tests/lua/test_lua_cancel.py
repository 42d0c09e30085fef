"""Cancellation: every kind of endless loop stops within a second of `cancel()`, and nothing swallows it.

Each chunk runs on a thread and calls `started()` once it is really running; the test waits for that
(bounded), cancels, and joins the thread with a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from tui.lua.runtime import LuaCancelled, LuaSandbox

Background = Callable[[LuaSandbox, str], Any]

DEADLINE = 1.0

LOOPS = {
    "plain": "started() while true do end",
    "inside pcall": "started() pcall(function() while true do end end) while true do end",
    "pcall in a loop": "started() while true do pcall(function() while true do end end) end",
    "inside xpcall with a looping handler": (
        "started() while true do "
        "xpcall(function() while true do end end, function(e) while true do end end) end"
    ),
    "an error handler that loops after an ordinary error": (
        "started() xpcall(function() error('x') end, function(e) while true do end end)"
    ),
    "inside a coroutine": (
        "started() local co = coroutine.create(function() while true do end end) "
        "while true do coroutine.resume(co) end"
    ),
    "inside a wrapped coroutine behind pcall": (
        "started() local f = coroutine.wrap(function() while true do pcall(error, 'x') end end) "
        "while true do pcall(f) end"
    ),
    "inside a nested coroutine": (
        "started() local outer = coroutine.wrap(function() "
        "  local inner = coroutine.create(function() while true do end end) "
        "  while true do coroutine.resume(inner) end end) outer()"
    ),
    "in a table.sort comparator": (
        "started() local t = {3, 2, 1} table.sort(t, function(a, b) while true do end end)"
    ),
    "in a string.gsub callback": 'started() string.gsub("abc", ".", function() while true do end end)',
    "in a __close handler": (
        "started() do local x <close> = setmetatable({}, {__close = function() while true do end end}) end"
    ),
}


@pytest.mark.parametrize("code", LOOPS.values(), ids=list(LOOPS))
def test_an_endless_loop_stops_within_a_second_of_cancel(
    sandbox: LuaSandbox, background: Background, code: str
) -> None:
    run = background(sandbox, code)
    assert run.started.wait(5), "the chunk never started"
    sandbox.cancel()
    run.thread.join(DEADLINE)
    assert not run.thread.is_alive(), "the chunk was still running a second after cancel()"
    assert isinstance(run.error, LuaCancelled)
    assert run.error.message == "cancelled"


def test_the_sandbox_runs_the_next_chunk_after_a_cancellation(
    sandbox: LuaSandbox, background: Background
) -> None:
    run = background(sandbox, "started() while true do end")
    assert run.started.wait(5)
    sandbox.cancel()
    run.thread.join(DEADLINE)
    assert not sandbox.cancelled
    assert sandbox.run_chunk("local n = 0 for i = 1, 100000 do n = n + i end return n") == (5000050000,)


def test_a_cancel_while_idle_does_not_cancel_the_next_run(sandbox: LuaSandbox) -> None:
    sandbox.cancel()
    assert not sandbox.cancel_event.is_set()
    assert sandbox.run_chunk("local n = 0 for i = 1, 100000 do n = n + 1 end return n") == (100000,)


def test_a_blocking_python_call_can_watch_the_cancel_event(
    sandbox: LuaSandbox, background: Background
) -> None:
    """What `exec`'s wait() and read() do: block on the event, return when it is set."""
    observed: list[bool] = []
    entered = threading.Event()

    def blocking_wait() -> bytes:
        entered.set()
        observed.append(sandbox.cancel_event.wait(30))
        return b"woke"

    sandbox.set_global("blocking_wait", blocking_wait)
    run = background(sandbox, "started() local ok = pcall(blocking_wait) while true do end")
    assert entered.wait(5)
    sandbox.cancel()
    run.thread.join(DEADLINE)
    assert not run.thread.is_alive()
    assert observed == [True]
    assert isinstance(run.error, LuaCancelled)


def test_a_script_error_saying_cancelled_is_not_a_cancellation(sandbox: LuaSandbox) -> None:
    with pytest.raises(Exception) as caught:
        sandbox.run_chunk("error('cancelled', 0)")
    assert not isinstance(caught.value, LuaCancelled)
