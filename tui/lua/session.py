"""The console's REPL with the ``exec`` module: :func:`make_repl`.

Processes started from the REPL are created through the console's own :class:`Engine`, so the console
sees them through ``engine.add_listener`` like any other run. What a session owns ends with it:

* a chunk that is cancelled ends the processes it created (and any process whose ``wait()`` it was
  blocked in, which ``wait()`` had already closed); processes of earlier chunks keep running;
* :meth:`ExecRepl.reset` closes the old session's binding: its executors are released and every process
  it started is ended (SIGTERM, then SIGKILL after a grace, on a background thread);
* :meth:`ExecRepl.close` does the same for the current session (the console calls it when it exits).

At the prompt ``exec`` is also a global (``require("exec")`` works too, and returns the same table).

No step here waits for a process: the REPL's worker thread returns at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tui.core.engine import Engine
from tui.lua.exec_module import ExecBinding, install_exec
from tui.lua.repl import ReplEngine, ReplResult
from tui.lua.runtime import LuaSandbox


class ExecRepl(ReplEngine):
    """A :class:`ReplEngine` whose sandboxes have ``exec`` over ``engine`` (re-installed on reset)."""

    def __init__(self, engine: Engine, *, on_print: Callable[[str], None] | None = None, **options: Any) -> None:
        # Set before the base class builds the first session, which calls _install.
        self.engine = engine
        self._binding_lock = threading.Lock()
        self._binding: ExecBinding | None = None
        super().__init__(setup=self._install, on_print=on_print, **options)

    @property
    def binding(self) -> ExecBinding:
        """The ``exec`` binding of the current session."""
        binding = self._binding
        assert binding is not None
        return binding

    def _install(self, sandbox: LuaSandbox) -> None:
        binding = install_exec(sandbox, self.engine)
        # A convenience of the interactive prompt only: scripts still write `require("exec")`.
        sandbox.env[b"exec"] = binding.module
        with self._binding_lock:
            previous, self._binding = self._binding, binding
        if previous is not None:
            # reset(): the old session's processes must not outlive it.
            previous.close(block=False)

    def evaluate(self, text: str) -> ReplResult:
        binding = self.binding
        mark = binding.checkpoint()
        result = super().evaluate(text)
        if result.cancelled:
            binding.end_processes(mark, block=False)
        return result

    def close(self) -> None:
        """End the session: cancel a running chunk, release executors, end its processes."""
        self.cancel()
        self.binding.close(block=False)


def make_repl(engine: Engine, on_print: Callable[[str], None] | None = None, **options: Any) -> ExecRepl:
    """A REPL engine for the console, with ``require("exec")`` and ``errors`` over ``engine``.

    ``options`` go to :class:`ReplEngine` (``max_memory``, ``module_dir``, ``pretty_options``).
    """
    return ExecRepl(engine, on_print=on_print, **options)
