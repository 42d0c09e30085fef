"""The sandboxed Lua 5.4 runtime that scripts and the REPL run in.

Contracts, in one place:

- **Threads.** One :class:`LuaSandbox` is used by one thread at a time (lupa runtimes are not shareable
  across threads). The console runs each sandbox on its own worker thread; only :meth:`LuaSandbox.cancel`
  (and reading :attr:`LuaSandbox.cancel_event`) may be called from any other thread.
- **Strings are bytes.** The runtime is built with ``encoding=None``: a Lua string reaches Python as
  ``bytes`` (process output is binary and may not be UTF-8: with lupa's default UTF-8 decoding, ``"\\255"``
  raises ``UnicodeDecodeError`` inside a callback), and Python code must hand ``bytes`` back to Lua (a
  Python ``str`` would arrive as userdata). :meth:`LuaSandbox.to_lua` converts ``str``, lists and dicts.
  ``print`` is the one place text is decoded: UTF-8 with ``errors=print_errors`` (``"replace"`` by
  default; the command line may pass ``"surrogateescape"`` to write the exact bytes back out).
- **Python objects in Lua** expose nothing by default: an attribute is reachable only when its name is in
  ``__lua_allowed__`` (a frozenset of names on the object's class) and does not start with ``_``. Never
  hand a ``dict`` or ``list`` to Lua (lupa indexes those by item, bypassing the filter): use ``to_lua``.
- **Errors.** Every failure of a script is a :class:`LuaScriptError` carrying the message as Lua gives it
  and a Lua traceback; a cancelled run is a :class:`LuaCancelled`. No Python traceback reaches a person.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lupa import lua54

from tui.lua.sandbox_lua import BOOTSTRAP

DEFAULT_MAX_MEMORY = 256 * 1024 * 1024
"""Default cap on the memory a sandbox's Lua state may allocate (bytes)."""

DEFAULT_HOOK_INTERVAL = 10_000
"""Instructions between two cancellation checks (about 0.1 ms of Lua; ~1 µs per check)."""

ModuleFactory = Callable[["LuaSandbox"], object]

# Standard modules that exist in plain Lua but not here; `require` names them explicitly.
_REFUSED_MODULES = frozenset({"io", "os", "debug", "package", "python", "ffi", "jit", "lupa"})
_MODULE_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


class LuaScriptError(Exception):
    """A Lua script failed: ``message`` as Lua gives it, ``traceback`` from ``debug.traceback``."""

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.traceback = traceback


class LuaCancelled(LuaScriptError):
    """The run was stopped by :meth:`LuaSandbox.cancel`."""


def lua_attributes(obj: object) -> frozenset[str]:
    """The attribute names that Lua may read on ``obj`` (its class's ``__lua_allowed__``)."""
    cls = type(obj)
    # Cached per class: the filter runs on every attribute read from Lua (every exec call reads one).
    names = _ALLOWED.get(cls)
    if names is None:
        allowed = getattr(cls, "__lua_allowed__", None)
        names = frozenset()
        if isinstance(allowed, frozenset | set | tuple | list):
            names = frozenset(name for name in allowed if isinstance(name, str) and not name.startswith("_"))
        _ALLOWED[cls] = names
    return names


_ALLOWED: dict[type, frozenset[str]] = {}


def _attribute_filter(obj: object, name: object, is_setting: bool) -> str:
    text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    kind = type(obj).__name__
    if is_setting:
        raise AttributeError(f"setting '{text}' on a {kind} object is not allowed in the sandbox")
    if text.startswith("_"):
        raise AttributeError(f"access to '{text}' is not allowed in the sandbox")
    if text not in lua_attributes(obj):
        raise AttributeError(f"'{text}' of a {kind} object is not available in the sandbox")
    return text


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


class LuaSandbox:
    """One isolated Lua 5.4 state with an allow-list environment (see the module docstring).

    ``print_fn`` receives each ``print`` line (without a newline). ``module_dir`` is the folder that
    ``require`` loads ``name.lua`` files from (set to the script's folder by :meth:`run_file`); with none,
    only built-in modules can be required. ``max_memory`` caps the Lua state's allocations; hitting it is
    the Lua error ``not enough memory`` and the sandbox stays usable.
    """

    def __init__(
        self,
        print_fn: Callable[[str], None] | None = None,
        *,
        max_memory: int = DEFAULT_MAX_MEMORY,
        module_dir: str | os.PathLike[str] | None = None,
        hook_interval: int = DEFAULT_HOOK_INTERVAL,
        print_errors: str = "replace",
    ) -> None:
        self._print_fn = print_fn
        self._print_errors = print_errors
        self._modules: dict[str, ModuleFactory] = {}
        self.module_dir: Path | None = Path(module_dir) if module_dir is not None else None
        self._cancel_event = threading.Event()
        self._state_lock = threading.Lock()
        self._running = 0
        self._lua = lua54.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            encoding=None,
            max_memory=max_memory,
            attribute_filter=_attribute_filter,
        )
        parts = self._lua.execute(
            BOOTSTRAP, self._cancel_event.is_set, self._emit, self._resolve_module, hook_interval,
            name="=[sandbox]", mode="t",
        )
        self._env = parts[b"env"]
        self._loaded = parts[b"loaded"]
        self._run = parts[b"run"]
        self._compile = parts[b"compile"]
        self._identity = parts[b"identity"]
        self._metafield = parts[b"metafield"]
        self._rawget = parts[b"rawget"]
        self._type = parts[b"type"]

    # -- for module authors -------------------------------------------------------------------------

    @property
    def cancel_event(self) -> threading.Event:
        """Set while the current run is being cancelled.

        Blocking calls made from Lua (``exec``'s ``wait()``, ``read()``) must wait on this event (or poll
        it) and return promptly once it is set; any value will do, the sandbox then raises ``cancelled``
        in Lua on its own. It is cleared when the run ends.
        """
        return self._cancel_event

    @property
    def cancelled(self) -> bool:
        """Whether the current run has been cancelled."""
        return self._cancel_event.is_set()

    @property
    def lua(self) -> Any:
        """The underlying ``lupa.lua54.LuaRuntime`` (for building tables and Lua-side wrappers)."""
        return self._lua

    @property
    def env(self) -> Any:
        """The script environment (``_G`` of scripts), a Lua table."""
        return self._env

    def register_module(self, name: str, factory: ModuleFactory) -> None:
        """Make ``require(name)`` return ``factory(self)``, built on first use and cached."""
        self._modules[name] = factory

    def set_global(self, name: str, value: object) -> None:
        """Set a global of the script environment (``value`` converted with :meth:`to_lua`)."""
        self._env[name.encode()] = self.to_lua(value)

    def to_lua(self, value: object) -> Any:
        """Convert ``str`` to bytes and lists, tuples and dicts to Lua tables, recursively."""
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, Mapping):
            table = self._lua.table()
            for key, item in value.items():
                table[self.to_lua(key)] = self.to_lua(item)
            return table
        if isinstance(value, list | tuple):
            return self._lua.table(*(self.to_lua(item) for item in value))
        return value

    # -- running -----------------------------------------------------------------------------------

    def run_chunk(self, text: str | bytes, chunkname: str = "=chunk") -> tuple[Any, ...]:
        """Compile and run ``text``; return its results (Lua strings as bytes).

        Raises :class:`LuaScriptError` (a syntax error, a runtime error, ``not enough memory``) or
        :class:`LuaCancelled`. Blocks the calling thread until the chunk ends.
        """
        fn = self._load(text, chunkname)
        return self._call(fn)

    def run_file(
        self, path: str | os.PathLike[str], args: Sequence[str] = (), *,
        interpreter: Sequence[str] = ("execdeck", "lua"),
    ) -> None:
        """Run a script file as the standalone ``lua`` would: ``arg[0]`` the script, ``arg[1..]`` the
        arguments, negative indices the interpreter's words, and ``...`` the arguments.

        ``require`` then loads modules from the script's folder. A first line starting with ``#`` is
        skipped. Raises :class:`LuaScriptError` (also when the file cannot be read) or
        :class:`LuaCancelled`.
        """
        script = Path(path)
        try:
            source = script.read_bytes()
        except OSError as exc:
            raise LuaScriptError(f"cannot open {script}: {exc.strerror or exc}") from None
        if source.startswith(b"#"):
            # Keep the line break so that line numbers in messages stay right.
            newline = source.find(b"\n")
            source = b"" if newline < 0 else source[newline:]
        self.module_dir = script.resolve().parent
        arg = self._lua.table()
        for index, word in enumerate(reversed(interpreter)):
            arg[-(index + 1)] = word.encode()
        arg[0] = os.fspath(path).encode()
        for index, value in enumerate(args):
            arg[index + 1] = value.encode()
        self._env[b"arg"] = arg
        fn = self._load(source, "@" + os.fspath(path))
        self._call(fn, *(value.encode() for value in args))

    def compile_error(self, text: str | bytes, chunkname: str = "=stdin") -> str | None:
        """Compile ``text`` without running it: ``None`` when it compiles, else Lua's message."""
        fn, err = self._compile_raw(text, chunkname)
        return None if fn is not None else _text(err)

    def cancel(self) -> None:
        """Stop the run in progress promptly with the Lua error ``cancelled``. Any thread may call it.

        With no run in progress it does nothing, so a late cancel cannot poison the next run.
        """
        with self._state_lock:
            if self._running:
                self._cancel_event.set()

    # -- inspection (for the REPL; same-thread rule applies) ---------------------------------------

    def identity(self, value: object) -> str:
        """A stable identity of a Lua table, function, thread or userdata (its address)."""
        return _text(self._identity(value))

    def metafield(self, value: object, name: str) -> Any:
        """The raw field ``name`` of ``value``'s metatable, or ``None`` (never runs a metamethod)."""
        return self._metafield(value, name.encode())

    def lua_type(self, value: object) -> str:
        """Lua's ``type(value)`` for a value that came out of this sandbox."""
        # lupa hands a Lua thread to Python as a `_LuaCoroutineFunction`, and turns it into a function
        # when it goes back to Lua: its class is the only place the truth survives.
        if type(value).__name__ == "_LuaCoroutineFunction":
            return "thread"
        return _text(self._type(value))

    def rawget(self, table: Any, key: object) -> Any:
        """``table[key]`` without metamethods (``key`` converted with :meth:`to_lua`)."""
        return self._rawget(table, self.to_lua(key))

    # -- internals ---------------------------------------------------------------------------------

    def _compile_raw(self, text: str | bytes, chunkname: str) -> tuple[Any, Any]:
        data = text.encode("utf-8") if isinstance(text, str) else text
        if data.startswith(b"\x1b"):
            return None, b"load: binary chunks are not available in the sandbox (text only)"
        try:
            result = self._compile(data, chunkname.encode())
        except lua54.LuaMemoryError:
            return None, b"not enough memory"
        except lua54.LuaError as exc:
            return None, str(exc).encode()
        if isinstance(result, tuple):
            return result[0], result[1] if len(result) > 1 else None
        return result, None

    def _load(self, text: str | bytes, chunkname: str) -> Any:
        fn, err = self._compile_raw(text, chunkname)
        if fn is None:
            raise LuaScriptError(_text(err))
        return fn

    def _call(self, fn: Any, *args: Any) -> tuple[Any, ...]:
        with self._state_lock:
            self._running += 1
        try:
            try:
                result = self._run(fn, *args)
            except lua54.LuaMemoryError:
                result = (False, b"not enough memory", b"")
            except lua54.LuaError as exc:
                result = (False, str(exc).encode(), b"")
            if not isinstance(result, tuple):
                result = (result,)
            if result[0] is True:
                return tuple(result[1:])
            message, traceback = _text(result[1]), _text(result[2] if len(result) > 2 else b"")
            if self._cancel_event.is_set():
                raise LuaCancelled("cancelled", traceback)
            raise LuaScriptError(message, traceback)
        finally:
            with self._state_lock:
                self._running -= 1
                if not self._running:
                    self._cancel_event.clear()

    def _emit(self, line: bytes) -> None:
        if self._print_fn is not None:
            self._print_fn(line.decode("utf-8", self._print_errors))

    def _resolve_module(self, raw_name: bytes) -> tuple[Any, ...]:
        """Called by the Lua ``require``: ("builtin", value) | ("source", bytes, path) | ("error", msg)."""
        name = raw_name.decode("utf-8", "replace")
        factory = self._modules.get(name)
        if factory is not None:
            return (b"builtin", self.to_lua(factory(self)))
        if name in _REFUSED_MODULES:
            return (b"error", f"require: module '{name}' is not available in the sandbox".encode())
        if not _MODULE_NAME.fullmatch(name):
            return (b"error", (
                f"require: module name '{name}' is not allowed (use names like 'a.b' for a/b.lua "
                "in the script's folder)"
            ).encode())
        if self.module_dir is None:
            return (b"error", f"require: module '{name}' not found (no script folder)".encode())
        root = self.module_dir.resolve()
        candidate = (root / (name.replace(".", "/") + ".lua")).resolve()
        if not candidate.is_relative_to(root):
            return (b"error", f"require: module '{name}' resolves outside the script's folder".encode())
        try:
            source = candidate.read_bytes()
        except OSError:
            return (b"error", (
                f"require: module '{name}' not found (no built-in module and no file "
                f"'{name.replace('.', '/')}.lua' in the script's folder)"
            ).encode())
        if source.startswith(b"\x1b"):
            return (b"error", f"require: module '{name}' is a binary chunk (text only)".encode())
        return (b"source", source, str(candidate).encode())
