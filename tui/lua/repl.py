"""The REPL engine: evaluation, completeness, results, completion. No UI in it.

A :class:`ReplEngine` runs in the process that owns its sandbox: the console's REPL runs one inside a Lua
worker process (:mod:`tui.lua.worker`), where a chunk stuck in a long C call, which no cancel can reach,
ends with the process (:mod:`tui.lua.session`). Tests use it directly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tui.lua.completion import complete as complete_names
from tui.lua.pretty import Pretty, PrettyOptions
from tui.lua.runtime import (
    DEFAULT_MAX_MEMORY,
    LuaCancelled,
    LuaSandbox,
    LuaScriptError,
    ModuleFactory,
)

CHUNKNAME = "=stdin"


@dataclass
class ReplResult:
    """What one evaluation gave.

    ``output``: the ``print`` lines, in order. ``values``: each returned value pretty-printed (empty when
    the input ended with ``;`` or returned nothing). ``error`` and ``traceback``: Lua's message and
    traceback when it failed. ``cancelled``: it was stopped by :meth:`ReplEngine.cancel`. ``restarted``: the
    session's runtime had to be replaced (a chunk that did not stop when cancelled, or a runtime that
    died): its globals are gone, and ``error`` says why.
    """

    output: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    error: str | None = None
    traceback: str = ""
    cancelled: bool = False
    restarted: bool = False

    @property
    def ok(self) -> bool:
        """Whether the input ran to its end."""
        return self.error is None and not self.cancelled


def chunk_is_complete(compile_error: Callable[[str], str | None], text: str) -> bool:
    """False when ``text`` only needs more lines: as an expression and as a statement, either compiles or
    fails for a reason other than reaching the end (Lua's message then ends in ``<eof>``)."""
    as_expression = compile_error("return " + text)
    if as_expression is None:
        return True
    as_statement = compile_error(text)
    if as_statement is None:
        return True
    return not (as_statement.endswith("<eof>") or as_expression.endswith("<eof>"))


class ReplSession(Protocol):
    """What the console's REPL view needs of a session: :class:`ReplEngine` in this process, or
    :class:`tui.lua.session.ExecRepl` over a Lua worker process."""

    def evaluate(self, text: str) -> ReplResult: ...

    def is_complete(self, text: str) -> bool: ...

    def complete(self, text: str, cursor: int) -> list[str]: ...

    def cancel(self) -> None: ...

    def reset(self) -> None: ...


class _Session:
    """One sandbox and the lock that keeps it to one thread at a time."""

    def __init__(self, sandbox: LuaSandbox) -> None:
        self.sandbox = sandbox
        self.lock = threading.Lock()
        self.output: list[str] = []


class ReplEngine:
    """A REPL session over a :class:`LuaSandbox`.

    ``setup(sandbox)`` runs on every fresh sandbox (at start and after :meth:`reset`) to register
    built-in modules and globals; :meth:`register_module` is a shortcut recorded the same way.
    ``on_print`` (optional) receives each ``print`` line as it happens, from the evaluating thread; without
    it the lines are collected in the :class:`ReplResult`. ``print_errors`` goes to every
    :class:`LuaSandbox` (see there).
    """

    def __init__(
        self,
        *,
        setup: Callable[[LuaSandbox], None] | None = None,
        on_print: Callable[[str], None] | None = None,
        max_memory: int = DEFAULT_MAX_MEMORY,
        module_dir: str | os.PathLike[str] | None = None,
        pretty_options: PrettyOptions | None = None,
        print_errors: str = "replace",
    ) -> None:
        self._print_errors = print_errors
        self._setups: list[Callable[[LuaSandbox], None]] = [setup] if setup is not None else []
        self._on_print = on_print
        self._max_memory = max_memory
        self._module_dir = module_dir
        self._pretty_options = pretty_options or PrettyOptions()
        self._session = self._new_session()

    @property
    def sandbox(self) -> LuaSandbox:
        """The current sandbox (replaced by :meth:`reset`)."""
        return self._session.sandbox

    def register_module(self, name: str, factory: ModuleFactory) -> None:
        """Register a built-in module now and on every sandbox that :meth:`reset` makes."""
        def setup(sandbox: LuaSandbox) -> None:
            sandbox.register_module(name, factory)

        self._setups.append(setup)
        setup(self._session.sandbox)

    def reset(self) -> None:
        """Replace the runtime with a fresh one (modules re-registered); never waits for a running chunk."""
        old = self._session
        self._session = self._new_session()
        old.sandbox.cancel()

    def cancel(self) -> None:
        """Stop the evaluation in progress (any thread); it reports ``cancelled``."""
        self._session.sandbox.cancel()

    def is_complete(self, text: str) -> bool:
        """False when the input only needs more lines: Lua's compile error ends in ``<eof>``."""
        session = self._session
        with session.lock:
            return chunk_is_complete(lambda source: session.sandbox.compile_error(source, CHUNKNAME), text)

    def evaluate(self, text: str) -> ReplResult:
        """Run one input: as ``return <input>`` when that compiles (so expressions show their value),
        else as a statement. A trailing ``;`` hides the values. Blocks until the chunk ends."""
        session = self._session
        with session.lock:
            result_output: list[str] = []
            session.output = result_output
            result = ReplResult(output=result_output)
            sandbox = session.sandbox
            source = text
            if sandbox.compile_error("return " + text, CHUNKNAME) is None:
                source = "return " + text
            try:
                values = sandbox.run_chunk(source, CHUNKNAME)
            except LuaCancelled as exc:
                result.cancelled, result.error, result.traceback = True, exc.message, exc.traceback
                return result
            except LuaScriptError as exc:
                result.error, result.traceback = exc.message, exc.traceback
                return result
            if not text.rstrip().endswith(";"):
                render = Pretty(sandbox, self._pretty_options)
                result.values = [render(value) for value in values]
            return result

    def pretty(self, value: object) -> str:
        """``value`` (from this engine's sandbox) as the REPL shows it."""
        sandbox = self._session.sandbox
        return Pretty(sandbox, self._pretty_options)(value)

    def complete(self, text: str, cursor: int) -> list[str]:
        """Completions for the names before ``cursor`` (see :func:`tui.lua.completion.complete`).

        Empty while an evaluation runs: the runtime belongs to the evaluating thread then.
        """
        session = self._session
        if not session.lock.acquire(blocking=False):
            return []
        try:
            return complete_names(session.sandbox, text, cursor)
        finally:
            session.lock.release()

    def _new_session(self) -> _Session:
        holder: list[_Session] = []

        def emit(line: str) -> None:
            # Kept for the result only when nobody takes the lines as they come: a chunk that prints
            # forever must not grow a list forever.
            if self._on_print is not None:
                self._on_print(line)
            else:
                holder[0].output.append(line)

        session = _Session(LuaSandbox(
            emit, max_memory=self._max_memory, module_dir=self._module_dir, print_errors=self._print_errors,
        ))
        holder.append(session)
        for setup in self._setups:
            setup(session.sandbox)
        return session
