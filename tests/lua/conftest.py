"""Shared helpers for the Lua tests: a sandbox with a `started()` signal, and a chunk run on a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tui.lua.runtime import LuaSandbox, LuaScriptError


@dataclass
class BackgroundRun:
    """A chunk running on its own thread; `error` is what it raised, if anything."""

    thread: threading.Thread
    started: threading.Event
    error: BaseException | None = None
    values: tuple[object, ...] = field(default_factory=tuple)


def run_in_background(sandbox: LuaSandbox, code: str) -> BackgroundRun:
    """Start `code` on a thread; the chunk calls `started()` once it is really running."""
    started = threading.Event()
    sandbox.set_global("started", started.set)
    run = BackgroundRun(thread=threading.Thread(target=lambda: None), started=started)

    def work() -> None:
        try:
            run.values = sandbox.run_chunk(code)
        except LuaScriptError as exc:
            run.error = exc

    run.thread = threading.Thread(target=work, daemon=True)
    run.thread.start()
    return run


@pytest.fixture
def background() -> Callable[[LuaSandbox, str], BackgroundRun]:
    """`run_in_background` as a fixture, so test modules need not import this file."""
    return run_in_background


@pytest.fixture
def printed() -> list[str]:
    return []


@pytest.fixture
def sandbox(printed: list[str]) -> Iterator[LuaSandbox]:
    yield LuaSandbox(printed.append, max_memory=64 * 1024 * 1024)
