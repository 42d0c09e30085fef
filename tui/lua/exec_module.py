"""The Lua ``exec`` module (executors spec, sections 5 to 7) over an :class:`~tui.core.engine.Engine`.

:func:`install_exec` registers ``require("exec")`` and the global ``errors`` table in one sandbox and
returns the :class:`ExecBinding` that owns what the scripts of that sandbox create.

How a call crosses the boundary: ``proc:start()`` reads ``proc.start``, which is a small **Lua** function
made by :data:`_GLUE` (see :class:`tui.lua.exec_objects.Handle`). It calls the Python implementation,
which answers ``(status, a, b)``:

* ``OK``: the Lua function returns ``a, b`` (``value, nil`` or ``nil, err``; never raises);
* ``TYPE_ERROR``: a wrong argument type: ``error(a, 2)``, so the message carries the script's line;
* ``CANCELLED``: the sandbox is being cancelled: ``error("cancelled")``, which ``pcall`` cannot keep
  (the sandbox re-raises it), so the chunk ends at once instead of acting on a fake failure.

Raising Python exceptions into Lua is avoided on purpose: lupa hands them to Lua as userdata, not as the
string a Lua author expects from ``pcall``.

Blocking calls (``wait``, ``read``, ``write_stdin``) pass ``sandbox.cancel_event`` to the engine, which
checks it at least every 0.1 s. Exit codes from ``wait()``: the program's code; ``-1`` when a native
process died of a signal (also after ``opts.timeout`` or ``close()``, SAME); a container's ``128+n``
after a signal (143 on SIGTERM, so 143 or 137 after ``opts.timeout``; 137 when its memory limit killed
it).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from tui.core.engine import Engine
from tui.core.errors import ErrorKind, ExecError, internal
from tui.core.executors.base import Executor as CoreExecutor
from tui.core.process import KILL_GRACE, finish_off
from tui.core.process import Process as CoreProcess
from tui.core.streams import DEFAULT_READ, Cancelled
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


def _reply(call: Callable[..., Reply], error: Callable[[ExecError], Error]) -> Callable[..., Reply]:
    """Turn what an implementation raises into the ``(status, a, b)`` protocol (see module doc)."""

    def boundary(*args: object) -> Reply:
        try:
            return call(*args)
        except ArgError as exc:
            return (TYPE_ERROR, str(exc).encode(), None)
        except Cancelled:
            return (CANCELLED, None, None)
        except ExecError as err:
            return (OK, None, error(err))
        except Exception as exc:  # noqa: BLE001 - a Python exception must never reach a script as such
            return (OK, None, error(internal(f"internal error: {type(exc).__name__}: {exc}")))

    return boundary


class ExecBinding:
    """The ``exec`` module of one sandbox: the executors and processes its scripts made.

    Thread-safety: the ``_m_*`` implementations run on the sandbox's thread; :meth:`close`,
    :meth:`end_processes`, :meth:`checkpoint` and :attr:`processes` may be called from any thread.
    """

    def __init__(self, sandbox: LuaSandbox, engine: Engine) -> None:
        self.sandbox = sandbox
        self.engine = engine
        self._lock = threading.Lock()
        self._serial = 0
        # Processes not yet known to have ended, by run id, with their creation serial; an ended one
        # drops out (its exit callback), so a long REPL session does not grow.
        self._live: dict[str, tuple[int, CoreProcess]] = {}
        # Processes whose wait() a cancel interrupted: they are closed and must not outlive the chunk.
        self._interrupted: dict[int, CoreProcess] = {}
        # Executors are only flags; weak, so a REPL that calls exec.get in a loop does not grow.
        self._executors: weakref.WeakSet[CoreExecutor] = weakref.WeakSet()
        self._closed = False
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

    # -- lifetime ------------------------------------------------------------------------------

    @property
    def processes(self) -> list[CoreProcess]:
        """Processes this binding created that have not been seen to end."""
        with self._lock:
            return [process for _, process in self._live.values()]

    def checkpoint(self) -> int:
        """A mark of "now": :meth:`end_processes` with it ends only the processes created after it."""
        with self._lock:
            return self._serial

    def end_processes(self, since: int = 0, *, grace: float = KILL_GRACE, block: bool = True) -> None:
        """End the processes created after ``since`` (and those whose ``wait()`` was cancelled).

        Unstarted ones are closed; running ones get SIGTERM and, ``grace`` seconds later if still going,
        SIGKILL (the whole group or container). With ``block`` false the SIGKILL step runs on a thread of
        its own, so a REPL's worker returns at once.
        """
        with self._lock:
            chosen = [p for serial, p in self._live.values() if serial > since]
            chosen += [p for p in self._interrupted.values() if p not in chosen]
            self._interrupted.clear()
        for process in chosen:
            process.close(False)
        live = [p for p in chosen if p.started_at is not None]
        if not live:
            return
        if block:
            finish_off(live, grace)
        else:
            threading.Thread(target=finish_off, args=(live, grace), name="lua-end-processes", daemon=True).start()

    def close(self, *, grace: float = KILL_GRACE, block: bool = True) -> None:
        """Script end: release every executor handed out, end every process still going (idempotent)."""
        with self._lock:
            self._closed = True
            executors = list(self._executors)
        for executor in executors:
            executor.release()
        self.end_processes(0, grace=grace, block=block)

    # -- helpers ---------------------------------------------------------------------------------

    def _error(self, err: ExecError) -> Error:
        return Error(err, self.sandbox.to_lua)

    def _fail(self, err: ExecError) -> Reply:
        return (OK, None, self._error(err))

    def _forget(self, process: CoreProcess) -> None:
        with self._lock:
            self._live.pop(process.run_id, None)

    @staticmethod
    def _self(func: str, cls: type[Handle], args: tuple[object, ...]) -> Any:
        if args and isinstance(args[0], cls):
            return args[0]
        got = lua_type_name(args[0]) if args else "no value"
        raise ArgError(
            f"bad self for '{func}' ({cls.__name__} expected, got {got}): call it with ':' as in {func}(...)"
        )

    # -- exec.get / executor ---------------------------------------------------------------------

    def _m_get(self, *args: object) -> Reply:
        entry_id = check_string("exec.get", args, 1)
        try:
            core = self.engine.get(to_text(entry_id))
        except ExecError as err:
            return self._fail(err)
        with self._lock:
            self._executors.add(core)
        return (OK, Executor(self._executor_methods, core), None)

    def _m_exec(self, *args: object) -> Reply:
        executor: Executor = self._self("executor:exec", Executor, args)
        rest = args[1:]
        command = check_string("executor:exec", rest, 1)
        opts = rest[1] if len(rest) > 1 else None
        work_dir = env = timeout = None
        if opts is not None:
            if lua_type_name(opts) != "table":
                raise ArgError(f"bad argument #2 to 'executor:exec' (table expected, got {lua_type_name(opts)})")
            # Indexing may run the script's __index: fine, it runs under the sandbox's hook like any Lua.
            work_dir = check_opt_string("executor:exec", "work_dir", opts[b"work_dir"])  # type: ignore[index]
            env = check_env("executor:exec", opts[b"env"])  # type: ignore[index]
            timeout = check_seconds("executor:exec", "timeout", opts[b"timeout"])  # type: ignore[index]
        core = executor.core.exec(to_text(command), work_dir=work_dir, env=env, timeout=timeout, source="lua")
        with self._lock:
            self._serial += 1
            serial = self._serial
            self._live[core.run_id] = (serial, core)
        core.add_exit_callback(self._forget)
        return (OK, Process(self._process_methods, core, serial), None)

    def _m_release(self, *args: object) -> Reply:
        executor: Executor = self._self("executor:release", Executor, args)
        return (OK, executor.core.release(), None)

    # -- process -------------------------------------------------------------------------------

    def _m_start(self, *args: object) -> Reply:
        process: Process = self._self("proc:start", Process, args)
        process.core.start()
        return (OK, True, None)

    def _m_wait(self, *args: object) -> Reply:
        process: Process = self._self("proc:wait", Process, args)
        try:
            status = process.core.wait(cancel=self.sandbox.cancel_event)
        except Cancelled:
            # wait() already closed it: nothing in Lua can reach it again, so it must not outlive the run.
            with self._lock:
                self._interrupted[process.serial] = process.core
            raise
        return (OK, status.lua_code, None)

    def _m_signal(self, *args: object) -> Reply:
        process: Process = self._self("proc:signal", Process, args)
        signum = check_integer("proc:signal", args[1:], 1)
        process.core.signal(signum)
        return (OK, True, None)

    def _m_write_stdin(self, *args: object) -> Reply:
        process: Process = self._self("proc:write_stdin", Process, args)
        data = check_string("proc:write_stdin", args[1:], 1)
        cancel = self.sandbox.cancel_event
        process.core.write_stdin(data, cancel=cancel)
        if cancel.is_set():
            raise Cancelled()
        return (OK, True, None)

    def _stream(self, func: str, name: str, args: tuple[object, ...]) -> Reply:
        process: Process = self._self(func, Process, args)
        reader = process.core.stream("stdout" if name == "stdout" else "stderr")
        known = process.streams.get(name)
        if known is None or known.reader is not reader:
            known = process.streams[name] = Stream(self._stream_methods, reader, process)
        return (OK, known, None)

    def _m_stdout_stream(self, *args: object) -> Reply:
        return self._stream("proc:stdout_stream", "stdout", args)

    def _m_stderr_stream(self, *args: object) -> Reply:
        return self._stream("proc:stderr_stream", "stderr", args)

    def _m_proc_close(self, *args: object) -> Reply:
        process: Process = self._self("proc:close", Process, args)
        force = lua_truthy(args[1]) if len(args) > 1 else False
        process.core.close(force)
        if process.core.started_at is None:
            self._forget(process.core)  # never started: it will never report an end
        return (OK, True, None)

    # -- stream --------------------------------------------------------------------------------

    def _m_read(self, *args: object) -> Reply:
        stream: Stream = self._self("stream:read", Stream, args)
        size = check_integer("stream:read", args[1:], 1, default=DEFAULT_READ)
        data = stream.reader.read(size, cancel=self.sandbox.cancel_event)
        return (OK, data, None)

    def _m_stream_close(self, *args: object) -> Reply:
        stream: Stream = self._self("stream:close", Stream, args)
        try:
            stream.reader.close()
        except ExecError as err:
            return (OK, False, self._error(err))  # SAME: a second close is `false, err`, not `nil, err`
        return (OK, True, None)


def install_exec(sandbox: LuaSandbox, engine: Engine) -> ExecBinding:
    """Make ``require("exec")`` and the ``errors`` global available in ``sandbox``, over ``engine``.

    Returns the binding; call :meth:`ExecBinding.close` when the script (or REPL session) ends.
    """
    binding = ExecBinding(sandbox, engine)
    sandbox.register_module("exec", lambda _sandbox: binding.module)
    sandbox.set_global("errors", {"INVALID": ErrorKind.INVALID.value, "INTERNAL": ErrorKind.INTERNAL.value})
    return binding
