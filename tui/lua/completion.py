"""Name completion for the REPL, read from the live runtime without running any Lua code.

Tables are read raw and metatables through ``debug.getmetatable`` semantics (``__index`` tables only,
never ``__index`` functions), so completing cannot run a script's code. Python objects handed to Lua
offer the names their class allows (``__lua_allowed__``).
"""

from __future__ import annotations

import re
from typing import Any

from lupa import lua54

from tui.lua.pretty import is_identifier
from tui.lua.runtime import LuaSandbox, lua_attributes

# A chain of names separated by `.` or `:` that ends at the cursor, e.g. `string.fo` or `p:st`.
_CHAIN = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_]*\s*[.:]\s*)*)([A-Za-z_][A-Za-z0-9_]*)?$")
_INDEX_DEPTH = 8


def completion_span(text: str, cursor: int) -> tuple[int, int]:
    """The span of ``text`` that a candidate from :func:`complete` replaces."""
    match = _CHAIN.search(text[:cursor])
    start = match.start() if match else cursor
    return start, cursor


def _is_table(value: object) -> bool:
    return bool(lua54.lua_type(value) == "table")


def _index_tables(sandbox: LuaSandbox, value: object) -> list[Any]:
    """``value`` itself (if a table) then the ``__index`` tables of its metatable chain."""
    found: list[Any] = [value] if _is_table(value) else []
    current = value
    for _ in range(_INDEX_DEPTH):
        if lua54.lua_type(current) not in ("table", "userdata"):
            break
        index = sandbox.metafield(current, "__index")
        if not _is_table(index):
            break
        found.append(index)
        current = index
    return found


def _is_function(value: object) -> bool:
    if type(value).__name__ == "_LuaCoroutineFunction":
        return False  # a Lua thread, as lupa wraps it
    kind = lua54.lua_type(value)
    # lupa's wrappers of Lua tables are callable from Python: only a Python object's callable() counts.
    return kind == "function" or (kind is None and callable(value))


def _field(sandbox: LuaSandbox, value: object, name: str) -> object:
    if lua54.lua_type(value) is None:
        return getattr(value, name, None) if name in lua_attributes(value) else None
    for table in _index_tables(sandbox, value):
        item = sandbox.rawget(table, name)
        if item is not None:
            return item
    return None


def _names(sandbox: LuaSandbox, value: object, methods_only: bool) -> set[str]:
    if value is None:
        return set()
    if lua54.lua_type(value) is None:
        names = lua_attributes(value)
        return {n for n in names if not methods_only or callable(getattr(value, n, None))}
    found: set[str] = set()
    for table in _index_tables(sandbox, value):
        for key, item in table.items():
            if not isinstance(key, bytes):
                continue
            name = key.decode("utf-8", "replace")
            if not is_identifier(name):
                continue
            if methods_only and not _is_function(item):
                continue
            found.add(name)
    return found


def complete(sandbox: LuaSandbox, text: str, cursor: int) -> list[str]:
    """Candidates for the name chain that ends at ``cursor``, each the whole chain completed
    (``string.fo`` gives ``string.format``), sorted. Call only while no chunk runs in ``sandbox``."""
    before = text[:cursor]
    match = _CHAIN.search(before)
    if match is None:
        return []
    start = match.start()
    if start > 0 and before[start - 1] in ".:":
        return []  # after an expression we cannot evaluate safely, e.g. `f().x` or `("s"):up`
    chain, word = match.group(1), match.group(2) or ""
    parts = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*([.:])", chain)
    if any(sep == ":" for _, sep in parts[:-1]):
        return []
    value: object = sandbox.env
    for name, _sep in parts:
        value = _field(sandbox, value, name)
        if value is None:
            return []
    methods_only = bool(parts) and parts[-1][1] == ":"
    names = _names(sandbox, value, methods_only)
    # Metamethods (`__index`...) are noise unless asked for.
    hidden = "__" if not word.startswith("__") else "\0"
    return sorted(chain + name for name in names if name.startswith(word) and not name.startswith(hidden))
