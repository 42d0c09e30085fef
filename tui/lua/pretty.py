"""Pretty-printing of Lua values for the REPL, from the Python side of lupa.

Walking tables from Python reads them raw (``lua_next``), so printing a result never runs a script's
metamethod: it cannot loop, yield or be cancelled half-way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

from lupa import lua54

LUA_KEYWORDS = frozenset({
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {
    "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b",
    "\f": "\\f", "\v": "\\v",
}


def is_identifier(name: str) -> bool:
    """Whether ``name`` can be written bare as a Lua field name (``t.name``)."""
    return bool(_IDENTIFIER.fullmatch(name)) and name not in LUA_KEYWORDS


def quote(value: bytes | str, max_length: int = 2000) -> str:
    """A Lua string literal for ``value``: valid UTF-8 kept, other bytes and controls as ``\\ddd``."""
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    extra = len(raw) - max_length
    if extra > 0:
        raw = raw[:max_length]
    text = raw.decode("utf-8", "surrogateescape")
    out: list[str] = []
    for index, char in enumerate(text):
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF or code < 0x20 or code == 0x7F:
            byte = code - 0xDC00 if code >= 0xDC80 else code
            following = text[index + 1] if index + 1 < len(text) else ""
            # A digit right after a short escape would be read as part of it.
            out.append(f"\\{byte:03d}" if following.isdigit() else f"\\{byte}")
        else:
            out.append(char)
    literal = '"' + "".join(out) + '"'
    return literal + (f"... ({extra} more bytes)" if extra > 0 else "")


def format_number(value: int | float) -> str:
    """A number as Lua's ``tostring`` writes it (``%.14g`` for floats, ``.0`` kept, ``inf``, ``nan``)."""
    if isinstance(value, int):  # bool too
        return str(int(value))
    if math.isnan(value):
        return "nan" if math.copysign(1.0, value) > 0 else "-nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.14g}"
    if re.fullmatch(r"-?\d+", text):
        text += ".0"
    return text


@dataclass(frozen=True)
class PrettyOptions:
    """Limits of :func:`pretty`: nesting depth, entries per table, line width, string length."""

    max_depth: int = 4
    max_items: int = 50
    width: int = 72
    max_string: int = 2000


_TYPE_ORDER = {"number": 0, "string": 1, "boolean": 2}


class Inspector(Protocol):
    """What :class:`Pretty` needs from a sandbox (``LuaSandbox`` provides it)."""

    def identity(self, value: object) -> str:
        """A table's (function's...) address: for cycles and ordering."""

    def metafield(self, value: object, name: str) -> Any:
        """A raw metatable field (for ``__name``)."""

    def lua_type(self, value: object) -> str:
        """Lua's ``type(value)``."""


def plain_lua_type(value: object) -> str | None:
    """The Lua type of a value lupa hands over as a Python one (nil, boolean, number, string); ``None``
    for anything else (a Lua table or function, a Python object)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, bytes):
        return "string"
    return None


class Pretty:
    """Renders values of one sandbox."""

    def __init__(self, inspector: Inspector, options: PrettyOptions | None = None) -> None:
        self._inspector = inspector
        self._identity = inspector.identity
        self._metafield = inspector.metafield
        self.options = options or PrettyOptions()

    def _lua_type(self, value: object) -> str:
        kind = plain_lua_type(value)
        if kind is not None:
            return kind
        if lua54.lua_type(value) is None:
            return "userdata"  # a Python object handed to Lua
        return self._inspector.lua_type(value)

    def __call__(self, value: object) -> str:
        return self._render(value, 0, set())

    def _key_order(self, key: object) -> tuple[int, Any]:
        kind = self._lua_type(key)
        rank = _TYPE_ORDER.get(kind, 3)
        if kind in ("number", "string", "boolean"):
            return rank, key
        return rank, (kind, self._identity(key))

    def _scalar(self, value: object) -> str | None:
        kind = self._lua_type(value)
        if kind == "nil":
            return "nil"
        if kind == "boolean":
            return "true" if value else "false"
        if kind == "number":
            return format_number(value)  # type: ignore[arg-type]
        if kind == "string":
            return quote(value, self.options.max_string)  # type: ignore[arg-type]
        if kind in ("function", "thread"):
            return f"<{kind}>"
        if kind == "userdata":
            if lua54.lua_type(value) is None:
                if isinstance(value, str):
                    return quote(value, self.options.max_string)
                # A Python object handed to Lua: its class names what it is (Process, Stream...).
                return f"<userdata: {type(value).__name__}>"
            name = self._metafield(value, "__name")
            if isinstance(name, bytes):
                return f"<userdata: {name.decode('utf-8', 'replace')}>"
            return "<userdata>"
        return None

    def _key(self, key: object, depth: int, path: set[str]) -> str:
        if isinstance(key, bytes):
            text = key.decode("utf-8", "replace")
            if text.encode("utf-8") == key and is_identifier(text):
                return text
        return "[" + self._render(key, depth + 1, path) + "]"

    def _render(self, value: object, depth: int, path: set[str]) -> str:
        scalar = self._scalar(value)
        if scalar is not None:
            return scalar
        ident = self._identity(value)
        if ident in path:
            return "<cycle>"
        if depth >= self.options.max_depth:
            return "{...}"
        # items() walks with lua_next: raw, no __index or __pairs of the script runs.
        entries = sorted(value.items(), key=lambda kv: self._key_order(kv[0]))  # type: ignore[attr-defined]
        if not entries:
            return "{}"
        path.add(ident)
        try:
            return self._table(entries, depth, path)
        finally:
            path.discard(ident)

    def _table(self, entries: list[tuple[Any, Any]], depth: int, path: set[str]) -> str:
        # The array part 1..n goes first, positionally; the other keys follow in sorted order.
        present = {key for key, _ in entries if isinstance(key, int) and not isinstance(key, bool)}
        sequence = 0
        while sequence + 1 in present:
            sequence += 1
        array = sorted((kv for kv in entries if _in_sequence(kv[0], sequence)), key=lambda kv: kv[0])
        rest = [kv for kv in entries if not _in_sequence(kv[0], sequence)]
        limit = self.options.max_items
        parts: list[str] = []
        nested = False
        for index, (key, item) in enumerate([*array, *rest][:limit]):
            nested = nested or self._lua_type(item) == "table"
            rendered = self._render(item, depth + 1, path)
            parts.append(rendered if index < sequence else f"{self._key(key, depth, path)} = {rendered}")
        if len(entries) > limit:
            parts.append(f"... ({len(entries) - limit} more)")
        inline = "{" + ", ".join(parts) + "}"
        indent = "  " * depth
        fits = len(inline) + len(indent) <= self.options.width and "\n" not in inline
        if fits or (not nested and not rest):
            return inline
        inner = "  " * (depth + 1)
        return "{\n" + "".join(f"{inner}{part},\n" for part in parts) + indent + "}"


def _in_sequence(key: object, length: int) -> bool:
    return isinstance(key, int) and not isinstance(key, bool) and 1 <= key <= length
