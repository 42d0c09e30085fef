"""The values that the Lua ``exec`` module hands to scripts, and the checks of what scripts hand back.

Every object here is a Python object that lupa shows to Lua as a ``userdata`` (``type(proc) ==
"userdata"``); the REPL prints it by class name (``<userdata: Process>``), which is why the classes carry
the names a script author knows (``Executor``, ``Process``, ``Stream``, ``Error``), not the engine's.

* :class:`Error` is what every failing call returns as its second value: ``kind()``, ``message()``,
  ``retryable()``, ``details()`` are plain Python methods (lupa drops the ``self`` that ``err:kind()``
  passes), and ``tostring(err)`` is the message because lupa's ``__tostring`` calls ``str()``.
* :class:`Handle` subclasses (executor, process, stream) hold no Python methods a script could reach:
  reading ``proc.start`` returns a **Lua** function of the binding (see :mod:`tui.lua.exec_module`),
  which checks argument types in Lua terms and raises a Lua error naming the function and argument.
  ``__lua_allowed__`` lists exactly the reference's method names; the sandbox's attribute filter lets
  nothing else through.
* :class:`ArgError` and the ``check_*`` helpers implement Lua's own argument conventions
  (``luaL_checkstring`` accepts numbers, ``luaL_checkinteger`` accepts integral floats and numeric strings)
  with the messages Lua writes (``bad argument #1 to 'exec.get' (string expected, got table)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from lupa import lua54

from tui.core.errors import ExecError
from tui.lua.pretty import format_number, plain_lua_type

#: Text crossing into the engine: Lua strings are bytes and may not be UTF-8; surrogateescape keeps
#: every byte (the native executor hands argv and env to the OS with the same error handler).
TEXT_ERRORS = "surrogateescape"


def to_text(data: bytes) -> str:
    """A Lua string as the engine's ``str``, byte-exact (see :data:`TEXT_ERRORS`)."""
    return data.decode("utf-8", TEXT_ERRORS)


def to_lua_bytes(text: str) -> bytes:
    """The engine's ``str`` back to a Lua string, byte-exact."""
    return text.encode("utf-8", TEXT_ERRORS)


class ArgError(Exception):
    """A script passed a value of the wrong type: the Lua binding raises it as a Lua error."""


def lua_type_name(value: object) -> str:
    """The type name a Lua error message uses for ``value`` (a handle says what it is)."""
    kind = plain_lua_type(value) or lua54.lua_type(value)
    if kind is not None:
        return str(kind)
    if isinstance(value, Handle | Error):
        return type(value).__name__
    return "userdata"


def _expected(what: str, func: str, position: int, args: tuple[object, ...]) -> ArgError:
    got = "no value" if position > len(args) else lua_type_name(args[position - 1])
    return ArgError(f"bad argument #{position} to '{func}' ({what} expected, got {got})")


def check_string(func: str, args: tuple[object, ...], position: int) -> bytes:
    """Argument ``position`` (1-based, after self) as bytes; numbers are converted, as Lua does."""
    value = args[position - 1] if position <= len(args) else None
    if isinstance(value, bytes):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value).encode()
    raise _expected("string", func, position, args)


def _number(value: object) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, bytes):
        # Lua converts numeric strings where a number is expected ("15" -> 15).
        text = value.strip()
        try:
            return int(text, 0) if text.lower().lstrip(b"+-").startswith(b"0x") else int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return None
    return None


def check_integer(func: str, args: tuple[object, ...], position: int, default: int | None = None) -> int:
    """Argument ``position`` as an integer (``default`` when absent or nil, if given)."""
    value = args[position - 1] if position <= len(args) else None
    if value is None and default is not None:
        return default
    number = _number(value)
    if isinstance(number, int):
        return number
    if isinstance(number, float):
        if math.isfinite(number) and number == int(number):
            return int(number)
        raise ArgError(f"bad argument #{position} to '{func}' (number has no integer representation)")
    raise _expected("number", func, position, args)


def check_seconds(func: str, field: str, value: object) -> float | None:
    """``opts.timeout``: nil or a number of seconds (the engine refuses values not above zero)."""
    if value is None:
        return None
    number = _number(value)
    if number is None:
        raise ArgError(f"bad argument #2 to '{func}' (opts.{field}: number expected, got {lua_type_name(value)})")
    return float(number)


def check_opt_string(func: str, field: str, value: object) -> str | None:
    """``opts.work_dir``: nil or a string (a number is converted, as Lua does)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return to_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value)
    raise ArgError(f"bad argument #2 to '{func}' (opts.{field}: string expected, got {lua_type_name(value)})")


def _env_text(value: object) -> str | None:
    if isinstance(value, bytes):
        return to_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    return None


def check_env(func: str, value: object) -> dict[str, str] | None:
    """``opts.env``: nil or a table whose keys and values are turned to strings, as the reference does.

    Strings, numbers and booleans convert as ``tostring`` does; a table, function or userdata has no
    meaningful text, so it is a type error naming the key rather than ``table: 0x...`` in a child's env.
    """
    if value is None:
        return None
    if lua54.lua_type(value) != "table":
        raise ArgError(f"bad argument #2 to '{func}' (opts.env: table expected, got {lua_type_name(value)})")
    env: dict[str, str] = {}
    # items() walks the table raw (lua_next): no script metamethod runs inside this call.
    for key, item in value.items():  # type: ignore[attr-defined]
        name = _env_text(key)
        if name is None:
            raise ArgError(
                f"bad argument #2 to '{func}' (opts.env: keys must be strings, got {lua_type_name(key)})"
            )
        text = _env_text(item)
        if text is None:
            raise ArgError(
                f"bad argument #2 to '{func}' (opts.env.{name}: string expected, got {lua_type_name(item)})"
            )
        env[name] = text
    return env


def lua_truthy(value: object) -> bool:
    """Lua's truth: only nil and false are false (``close(0)`` forces)."""
    return value is not None and value is not False


class Error:
    """An engine error as Lua sees it: ``err:kind()``, ``err:message()``, ``err:retryable()``,
    ``err:details()`` (a fresh table), and ``tostring(err)`` (the message)."""

    __lua_allowed__: ClassVar[frozenset[str]] = frozenset({"kind", "message", "retryable", "details"})
    __slots__ = ("_table", "error")

    def __init__(self, error: ExecError, table: Callable[[dict[str, str]], Any]) -> None:
        self.error = error
        self._table = table

    # Extra arguments are ignored, as Lua functions ignore them: a stray argument must not turn into a
    # Python TypeError (which would reach the script as an opaque userdata error).
    def kind(self, *_: object) -> bytes:
        return self.error.kind.value.encode()

    def message(self, *_: object) -> bytes:
        return to_lua_bytes(self.error.message)

    def retryable(self, *_: object) -> bool:
        return bool(self.error.retryable)

    def details(self, *_: object) -> Any:
        return self._table(dict(self.error.details))

    def __str__(self) -> str:
        # lupa encodes __tostring's result as UTF-8; a byte that is not UTF-8 shows as U+FFFD here
        # (message() keeps the exact bytes).
        return to_lua_bytes(self.error.message).decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<exec error {self.error.kind.value}: {self.error.message}>"


class Handle:
    """Base of the objects with methods: attribute reads resolve to the binding's Lua functions."""

    __lua_allowed__: ClassVar[frozenset[str]] = frozenset()
    __slots__ = ("__weakref__", "_methods")

    def __init__(self, methods: dict[str, Any]) -> None:
        self._methods = methods

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not real attributes, i.e. the Lua-facing method names.
        try:
            methods: dict[str, Any] = object.__getattribute__(self, "_methods")
        except AttributeError:
            raise AttributeError(name) from None
        try:
            return methods[name]
        except KeyError:
            raise AttributeError(name) from None


class Executor(Handle):
    """What ``exec.get(id)`` returns: ``executor:exec(cmd, opts)``, ``executor:release()``.

    ``ref`` names the engine's executor in the console's process (see :mod:`tui.lua.exec_service`).
    """

    __lua_allowed__ = frozenset({"exec", "release"})
    __slots__ = ("entry_id", "ref")

    def __init__(self, methods: dict[str, Any], ref: int, entry_id: str) -> None:
        super().__init__(methods)
        self.ref = ref
        self.entry_id = entry_id

    def __str__(self) -> str:
        return f"exec.Executor: {self.entry_id}"


class Process(Handle):
    """What ``executor:exec`` returns: ``start``, ``wait``, ``signal``, ``write_stdin``, the streams, ``close``."""

    __lua_allowed__ = frozenset({
        "start", "wait", "signal", "write_stdin", "stdout_stream", "stderr_stream", "close",
    })
    __slots__ = ("command", "ref", "streams")

    def __init__(self, methods: dict[str, Any], ref: int, command: str) -> None:
        super().__init__(methods)
        self.ref = ref
        self.command = command
        #: The Stream handle per stream reference, so a second ``stdout_stream()`` is the same value in Lua.
        self.streams: dict[int, Stream] = {}

    def __str__(self) -> str:
        return f"exec.Process: {self.command}"


class Stream(Handle):
    """What ``proc:stdout_stream()`` / ``proc:stderr_stream()`` return: ``read(size)``, ``close()``."""

    __lua_allowed__ = frozenset({"read", "close"})
    __slots__ = ("name", "process", "ref")

    def __init__(self, methods: dict[str, Any], ref: int, name: str, process: Process) -> None:
        super().__init__(methods)
        self.ref = ref
        self.name = name
        self.process = process

    def __str__(self) -> str:
        return f"exec.Stream: {self.name} of {self.process.command}"
