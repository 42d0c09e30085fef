"""What a Lua host can ask of a Lua session, whatever carries the asking: :class:`LuaSession`.

A session is one REPL engine (one sandbox at a time) with the ``exec`` module over ``call`` and
``notify`` (see :mod:`tui.lua.exec_module`). Two hosts drive it: the Lua worker process
(:mod:`tui.lua.worker`, where ``call`` crosses a channel to the console's process) and
:class:`tui.lua.host.LocalLua` (a thread of the same process, where ``call`` is the
:class:`~tui.lua.exec_service.ExecService` itself).

The commands and their results (plain values, so that they can cross a channel):

* ``("evaluate", text)`` -> ``(values, error, traceback, cancelled)`` (a REPL input, see
  :meth:`tui.lua.repl.ReplEngine.evaluate`);
* ``("complete", text, cursor)`` -> a list of completions;
* ``("run_file", path, args, interpreter)`` and ``("run_chunk", text, chunkname)`` -> ``("ok",)``,
  ``("error", message, traceback)`` or ``("cancelled", traceback)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.lua.exec_module import Call, Notify, install_exec
from tui.lua.pretty import PrettyOptions
from tui.lua.repl import ReplEngine
from tui.lua.runtime import LuaCancelled, LuaSandbox, LuaScriptError


class LuaSession:
    """One Lua session; used by one thread at a time, but :meth:`cancel` may come from any thread.

    ``options``: ``max_memory`` (required), ``repl`` (``exec`` is also a global, for the prompt),
    ``print_errors``, ``module_dir``, ``pretty`` (:class:`~tui.lua.pretty.PrettyOptions` fields).
    ``on_print(line)`` gets each ``print`` line on the running thread.
    """

    def __init__(self, options: dict[str, Any], call: Call, notify: Notify, on_print: Callable[[str], None]) -> None:
        repl_mode = bool(options.get("repl"))

        def setup(sandbox: LuaSandbox) -> None:
            binding = install_exec(sandbox, call, notify)
            if repl_mode:
                # A convenience of the interactive prompt only: scripts still write `require("exec")`.
                sandbox.env[b"exec"] = binding.module

        self.repl = ReplEngine(
            setup=setup,
            on_print=on_print,
            max_memory=int(options["max_memory"]),
            module_dir=options.get("module_dir"),
            pretty_options=PrettyOptions(**(options.get("pretty") or {})),
            print_errors=str(options.get("print_errors", "replace")),
        )

    def cancel(self) -> None:
        """Stop the running command's Lua with the error ``cancelled`` (any thread)."""
        self.repl.cancel()

    def dispatch(self, op: str, args: tuple[Any, ...]) -> Any:
        """Run one command (see the module docstring). Raises ``ValueError`` for an unknown one."""
        sandbox = self.repl.sandbox
        if op == "evaluate":
            result = self.repl.evaluate(str(args[0]))
            return (result.values, result.error, result.traceback, result.cancelled)
        if op == "complete":
            return self.repl.complete(str(args[0]), int(args[1]))
        if op == "run_file":
            path, script_args, interpreter = args
            return _outcome(lambda: sandbox.run_file(path, list(script_args), interpreter=tuple(interpreter)))
        if op == "run_chunk":
            text, chunkname = args
            return _outcome(lambda: sandbox.run_chunk(text, chunkname))
        raise ValueError(f"unknown command {op!r}")


def _outcome(run: Callable[[], object]) -> tuple[Any, ...]:
    """``("ok",)``, ``("error", message, traceback)`` or ``("cancelled", traceback)``."""
    try:
        run()
    except LuaCancelled as exc:
        return ("cancelled", exc.traceback)
    except LuaScriptError as exc:
        return ("error", exc.message, exc.traceback)
    return ("ok",)
