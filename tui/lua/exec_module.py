"""The Lua ``exec`` module as a script sees it, in the Lua worker process.

:func:`install_exec` registers ``require("exec")`` and the global ``errors`` table in one sandbox. The
engine is not here: every operation goes to the console's process as a call through ``call(op, *args)``
(see :mod:`tui.lua.exec_service` for the other half and :mod:`tui.lua.worker` for the channel), which
answers ``(status, value, error)``. Argument types are checked here, in Lua's terms, before anything is
sent; the engine's objects are named by integer references.

How a call crosses the Lua boundary: ``proc:start()`` reads ``proc.start``, which is a small **Lua**
function made by :data:`_GLUE` (see :class:`tui.lua.exec_objects.Handle`). It calls the Python
implementation, which answers ``(status, a, b)``:

* ``OK``: the Lua function returns ``a, b`` (``value, nil`` or ``nil, err``; never raises);
* ``TYPE_ERROR``: a wrong argument type: ``error(a, 2)``, so the message carries the script's line;
* ``CANCELLED``: the run is being cancelled: ``error("cancelled")``, which ``pcall`` cannot keep
  (the sandbox re-raises it), so the chunk ends at once instead of acting on a fake failure.

Raising Python exceptions into Lua is avoided on purpose: lupa hands them to Lua as userdata, not as the
string a Lua author expects from ``pcall``.

Exit codes from ``wait()``: the program's code; ``-1`` when a native process died of a signal (also after
``opts.timeout`` or ``close()``, as the reference does); a container's ``128+n`` after a signal (143 on
SIGTERM, so 143 or 137 after ``opts.timeout``; 137 when its memory limit killed it).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from tui.core.errors import ErrorKind, ExecError, internal
from tui.core.streams import DEFAULT_READ
from tui.lua.exec_objects import (
    ArgError,
    Error,
    Executor,
    Handle,
    Process,
    Stream,
    check_env,
    check_integer,
    check_opt_string,
    check_seconds,
    check_string,
    lua_truthy,
    lua_type_name,
    to_text,
)
from tui.lua.runtime import LuaSandbox

OK, TYPE_ERROR, CANCELLED = 0, 1, 2

Reply = tuple[int, Any, Any]

# Runs once per binding with lupa's real globals. Chunk name "[sandbox]": the sandbox strips frames of
# that name from tracebacks, so a script's traceback shows its own lines only.
_GLUE = r"""
local impls = ...
local real_error = error
local OK, TYPE_ERROR = 0, 1
local function wrap(impl)
  return function(...)
    local status, a, b = impl(...)
    if status == OK then return a, b end
    if status == TYPE_ERROR then real_error(a, 2) end
    real_error("cancelled", 0)
  end
end
local out = {}
for name, impl in pairs(impls) do out[name] = wrap(impl) end
return out
"""


class Cancelled(Exception):
    """The console answered a call with "cancelled": the run is being cancelled."""


Call = Callable[..., tuple[int, Any, Any]]
"""``call(op, *args) -> (status, value, error)``: one operation in the console's process, where
``error`` is ``None`` or ``(kind, message, details, retryable)``."""

Notify = Callable[..., None]
"""``notify(op, *args)``: tell the console something that needs no answer (``drop``)."""


def error_from_wire(wire: tuple[str, str, dict[str, str], bool]) -> ExecError:
    """An :class:`ExecError` from the plain tuple that crossed the channel."""
    kind, message, details, retryable = wire
    return ExecError(ErrorKind(kind), message, details, retryable=retryable)


def _reply(call: Callable[..., Reply], error: Callable[[ExecError], Error]) -> Callable[..., Reply]:
    """Turn what an implementation raises into the ``(status, a, b)`` protocol (see module doc)."""

    def boundary(*args: object) -> Reply:
        try:
            return call(*args)
        except ArgError as exc:
            return (TYPE_ERROR, str(exc).encode(), None)
        except Cancelled:
            return (CANCELLED, None, None)
        except Exception as exc:  # noqa: BLE001 - a Python exception must never reach a script as such
            return (OK, None, error(internal(f"internal error: {type(exc).__name__}: {exc}")))

    return boundary


class ExecBinding:
    """The ``exec`` module of one sandbox, over ``call``. Used by the sandbox's thread only.

    Handles that Lua lets go of are reported to the console (``drop``) with the next call, so that a long
    REPL session does not keep every process it ever made.
    """

    def __init__(self, sandbox: LuaSandbox, call: Call, notify: Notify) -> None:
        self.sandbox = sandbox
        self._call = call
        self._notify = notify
        self._dropped: list[int] = []
        impls = {
            "get": self._m_get, "exec": self._m_exec, "release": self._m_release, "start": self._m_start,
            "wait": self._m_wait, "signal": self._m_signal, "write_stdin": self._m_write_stdin,
            "stdout_stream": self._m_stdout_stream, "stderr_stream": self._m_stderr_stream,
            "proc_close": self._m_proc_close, "read": self._m_read, "stream_close": self._m_stream_close,
        }
        lua = sandbox.lua
        table = lua.table_from({name.encode(): _reply(fn, self._error) for name, fn in impls.items()})
        glue = lua.execute(_GLUE, table, name="=[sandbox]", mode="t")
        functions = {key.decode(): value for key, value in glue.items()}
        self._executor_methods = {"exec": functions["exec"], "release": functions["release"]}
        self._process_methods = {
            name: functions[name]
            for name in ("start", "wait", "signal", "write_stdin", "stdout_stream", "stderr_stream")
        }
        self._process_methods["close"] = functions["proc_close"]
        self._stream_methods = {"read": functions["read"], "close": functions["stream_close"]}
        self.module = lua.table_from({b"get": functions["get"]})

    # -- helpers ---------------------------------------------------------------------------------

    def _error(self, err: ExecError) -> Error:
        return Error(err, self.sandbox.to_lua)

    def _remote(self, op: str, *args: object) -> Reply:
        """One operation in the console's process, as a reply to Lua."""
        dropped = self._dropped
        if dropped:
            self._dropped = []
            self._notify("drop", dropped)
        status, value, wire = self._call(op, *args)
        if status == CANCELLED:
            # Said here too, not only by the console's cancel message (which may still be on its way), so
            # that a pcall around this call cannot keep the script going.
            self.sandbox.cancel()
            raise Cancelled()
        return (OK, value, None if wire is None else self._error(error_from_wire(wire)))

    def _drop_later(self, ref: int) -> None:
        self._dropped.append(ref)

    @staticmethod
    def _self(func: str, cls: type[Handle], args: tuple[object, ...]) -> Any:
        if args and isinstance(args[0], cls):
            return args[0]
        got = lua_type_name(args[0]) if args else "no value"
        raise ArgError(
            f"bad self for '{func}' ({cls.__name__} expected, got {got}): call it with ':' as in {func}(...)"
        )

    def _handle(self, reply: Reply, make: Callable[[int], Handle]) -> Reply:
        status, ref, err = reply
        if err is not None or ref is None:
            return reply
        handle = make(ref)
        # The console keeps the engine's object until Lua lets go of this handle.
        weakref.finalize(handle, self._drop_later, ref)
        return (status, handle, None)

    # -- exec.get / executor ---------------------------------------------------------------------

    def _m_get(self, *args: object) -> Reply:
        entry_id = to_text(check_string("exec.get", args, 1))
        return self._handle(self._remote("get", entry_id),
                            lambda ref: Executor(self._executor_methods, ref, entry_id))

    def _m_exec(self, *args: object) -> Reply:
        executor: Executor = self._self("executor:exec", Executor, args)
        rest = args[1:]
        command = to_text(check_string("executor:exec", rest, 1))
        opts = rest[1] if len(rest) > 1 else None
        work_dir = env = timeout = None
        if opts is not None:
            if lua_type_name(opts) != "table":
                raise ArgError(f"bad argument #2 to 'executor:exec' (table expected, got {lua_type_name(opts)})")
            # Indexing may run the script's __index: fine, it runs under the sandbox's hook like any Lua.
            work_dir = check_opt_string("executor:exec", "work_dir", opts[b"work_dir"])  # type: ignore[index]
            env = check_env("executor:exec", opts[b"env"])  # type: ignore[index]
            timeout = check_seconds("executor:exec", "timeout", opts[b"timeout"])  # type: ignore[index]
        reply = self._remote("exec", executor.ref, command, work_dir, env, timeout)
        return self._handle(reply, lambda ref: Process(self._process_methods, ref, command))

    def _m_release(self, *args: object) -> Reply:
        executor: Executor = self._self("executor:release", Executor, args)
        return self._remote("release", executor.ref)

    # -- process -------------------------------------------------------------------------------

    def _m_start(self, *args: object) -> Reply:
        process: Process = self._self("proc:start", Process, args)
        return self._remote("start", process.ref)

    def _m_wait(self, *args: object) -> Reply:
        process: Process = self._self("proc:wait", Process, args)
        return self._remote("wait", process.ref)

    def _m_signal(self, *args: object) -> Reply:
        process: Process = self._self("proc:signal", Process, args)
        signum = check_integer("proc:signal", args[1:], 1)
        return self._remote("signal", process.ref, signum)

    def _m_write_stdin(self, *args: object) -> Reply:
        process: Process = self._self("proc:write_stdin", Process, args)
        data = check_string("proc:write_stdin", args[1:], 1)
        return self._remote("write_stdin", process.ref, data)

    def _stream(self, func: str, name: str, args: tuple[object, ...]) -> Reply:
        process: Process = self._self(func, Process, args)
        status, ref, err = self._remote("stream", process.ref, name)
        if err is not None or ref is None:
            return (status, ref, err)
        known = process.streams.get(ref)
        if known is None:
            known = process.streams[ref] = Stream(self._stream_methods, ref, name, process)
        return (OK, known, None)

    def _m_stdout_stream(self, *args: object) -> Reply:
        return self._stream("proc:stdout_stream", "stdout", args)

    def _m_stderr_stream(self, *args: object) -> Reply:
        return self._stream("proc:stderr_stream", "stderr", args)

    def _m_proc_close(self, *args: object) -> Reply:
        process: Process = self._self("proc:close", Process, args)
        force = lua_truthy(args[1]) if len(args) > 1 else False
        return self._remote("close", process.ref, force)

    # -- stream --------------------------------------------------------------------------------

    def _m_read(self, *args: object) -> Reply:
        stream: Stream = self._self("stream:read", Stream, args)
        size = check_integer("stream:read", args[1:], 1, default=DEFAULT_READ)
        return self._remote("read", stream.ref, size)

    def _m_stream_close(self, *args: object) -> Reply:
        stream: Stream = self._self("stream:close", Stream, args)
        status, value, err = self._remote("stream_close", stream.ref)
        # As the reference answers it: a second close is `false, err`, not `nil, err`.
        return (status, False if err is not None else value, err)


def install_exec(sandbox: LuaSandbox, call: Call, notify: Notify) -> ExecBinding:
    """Make ``require("exec")`` and the ``errors`` global available in ``sandbox``, over ``call``."""
    binding = ExecBinding(sandbox, call, notify)
    sandbox.register_module("exec", lambda _sandbox: binding.module)
    sandbox.set_global("errors", {"INVALID": ErrorKind.INVALID.value, "INTERNAL": ErrorKind.INTERNAL.value})
    return binding
