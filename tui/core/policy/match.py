"""How one policy is matched against one check: patterns, field paths and the condition operators.

Everything here is the reference's rule where it has one (see ``docs/policy.md``): the pattern matcher
honours a star alone or at the end only, a condition on a missing field is false (``nexists``: true),
and an operator given values of types it does not compare is false. Regular expressions are RE2, the
syntax of the reference's Go ``regexp``, and run in linear time, so a command string someone typed can
never stall a check.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from tui.core.policy.model import Condition

#: What a field path gives when nothing is there.
MISSING: Any = object()

#: The roots a field path may start with.
FIELD_ROOTS = ("actor.id", "actor.meta", "action", "resource", "meta")


def pattern_matches(pattern: str, value: str) -> bool:
    """``*`` matches everything; ``prefix*`` every value starting with ``prefix``; anything else must be
    equal. A star elsewhere is an ordinary character (the reference's matcher never expands it)."""
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def any_pattern_matches(patterns: Sequence[str], value: str) -> bool:
    return any(pattern_matches(pattern, value) for pattern in patterns)


class PatternSet:
    """Several patterns compiled into one test of :func:`pattern_matches` semantics: a set lookup and
    one ``str.startswith`` with a tuple, both in C (a check may look at a hundred policies)."""

    __slots__ = ("everything", "exact", "prefixes")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.everything = "*" in patterns
        self.exact = frozenset(p for p in patterns if not p.endswith("*"))
        self.prefixes = tuple(p[:-1] for p in patterns if p.endswith("*") and p != "*")

    def __call__(self, value: str) -> bool:
        return self.everything or value in self.exact or value.startswith(self.prefixes)


def is_inert_star(pattern: str) -> bool:
    """True for a pattern with a star the matcher will never honour (``*.get``, ``app:*:x``)."""
    return "*" in pattern.rstrip("*") or pattern.endswith("**")


def field_root_ok(path: str) -> bool:
    """Whether ``path`` starts at a root a check provides (``actor.meta.role``, ``meta.team``...)."""
    return any(path == root or path.startswith(root + ".") for root in FIELD_ROOTS)


@functools.lru_cache(maxsize=1024)
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def resolve(context: Mapping[str, Any], path: str) -> Any:
    """The value at the dotted ``path`` in ``context``, or :data:`MISSING`. ``None`` counts as missing."""
    value: Any = context
    for part in _parts(path):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return MISSING if value is None else value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def equal(a: Any, b: Any) -> bool:
    """Equality without coercion: numbers compare by value (``1 == 1.0``), a boolean only equals a
    boolean, text only text; lists and maps compare item by item."""
    if type(a) is type(b) and type(a) in (str, int, float):  # the usual case, without the ABC checks below
        return bool(a == b)
    if _number(a) and _number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, Sequence) and isinstance(b, Sequence):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(equal(a[key], b[key]) for key in a)
    return bool(a == b)


def _contains(haystack: Any, needle: Any) -> bool | None:
    """``needle`` in ``haystack`` (text in text, an item of a list, a key of a map); ``None`` when the
    types do not allow the question."""
    if isinstance(haystack, str):
        return needle in haystack if isinstance(needle, str) else None
    if isinstance(haystack, Mapping):
        return needle in haystack if isinstance(needle, str) else None
    if isinstance(haystack, Sequence):
        return any(equal(item, needle) for item in haystack)
    return None


@functools.lru_cache(maxsize=256)
def compile_pattern(text: str) -> Any:
    """An RE2 pattern. Raises ``re2.error`` for a bad one (without RE2 writing to stderr, where the
    console draws). RE2 is imported here, by the first regular expression: most policies have none, and
    a command line that starts pays for every module it loads."""
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(text, options)


def _search(pattern: Any, value: Any) -> bool | None:
    if not isinstance(value, str):
        return None
    return pattern.search(value) is not None


def _runtime_pattern(value: Any) -> Any:
    """The pattern of a ``value_from`` regular expression, or ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    import re2

    try:
        return compile_pattern(value)
    except re2.error:
        return None


def condition_holds(condition: Condition, context: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds in ``context`` (``actor``, ``action``, ``resource``, ``meta``)."""
    op = condition.operator
    found = resolve(context, condition.field)
    if op in ("exists", "nexists"):
        return (found is not MISSING) == (op == "exists")
    if found is MISSING:
        return False
    if condition.value_from:
        expected = resolve(context, condition.value_from)
        if expected is MISSING:
            return False
    else:
        expected = condition.value
    result: bool | None
    if op == "eq":
        result = equal(found, expected)
    elif op == "ne":
        result = not equal(found, expected)
    elif op in ("lt", "gt", "lte", "gte"):
        result = _compare(op, found, expected)
    elif op in ("in", "nin"):
        if isinstance(expected, str) or not isinstance(expected, Sequence):
            return False
        inside = any(equal(found, item) for item in expected)
        result = inside if op == "in" else not inside
    elif op in ("contains", "ncontains"):
        result = _contains(found, expected)
        if result is not None and op == "ncontains":
            result = not result
    elif op in ("matches", "nmatches"):
        pattern = condition.pattern if condition.pattern is not None else _runtime_pattern(expected)
        result = None if pattern is None else _search(pattern, found)
        if result is not None and op == "nmatches":
            result = not result
    else:
        return False  # refused at load time; never true if it slips through
    return bool(result)


def _compare(op: str, a: Any, b: Any) -> bool:
    if not (_number(a) and _number(b)):
        return False
    if op == "lt":
        return bool(a < b)
    if op == "gt":
        return bool(a > b)
    if op == "lte":
        return bool(a <= b)
    return bool(a >= b)
