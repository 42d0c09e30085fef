"""Executor fields: how a kind declares them (:class:`Field`) and the checkers of their values.

Everything here works on YAML *nodes* (``yaml.compose``), not constructed values: a node keeps its
``start_mark``, so every problem names the line of the value at fault. A checker turns one field's
node into its frozen Python value, or reports each fault and returns :data:`INVALID`.

The kinds import this module for their field tables, and a command line that starts from cached entries
(``tui.core.entries.cache``) never parses YAML: so PyYAML is not imported here at the top. A node's class
is told by its ``id`` (``is_mapping``...), and PyYAML's constructor is imported by the checkers that need
it, which only ever run while a file is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from tui.core.entries.models import Location, Problem, frozen_map
from tui.core.structs import record

if TYPE_CHECKING:
    from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_TAG = "tag:yaml.org,2002:"
STR_TAG = _TAG + "str"
INT_TAG = _TAG + "int"
BOOL_TAG = _TAG + "bool"
NULL_TAG = _TAG + "null"
FLOAT_TAG = _TAG + "float"
TIMESTAMP_TAG = _TAG + "timestamp"
MERGE_TAG = _TAG + "merge"
VALUE_TAG = _TAG + "value"

FILE_FIELDS = ("version", "namespace", "meta", "entries")
ENTRY_FIELDS = ("name", "kind", "meta", "data")

# A checker turns a field's node into its Python value, or reports through the check and returns
# INVALID. Checkers never see a null node: an explicit null means "not set" (the default).
INVALID: Any = object()
Checker = Callable[["Check", str, "Node"], Any]


def is_mapping(node: Node) -> TypeGuard[MappingNode]:
    return getattr(node, "id", "") == "mapping"


def is_sequence(node: Node) -> TypeGuard[SequenceNode]:
    return getattr(node, "id", "") == "sequence"


def is_scalar(node: Node) -> TypeGuard[ScalarNode]:
    return getattr(node, "id", "") == "scalar"


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def describe(node: Node) -> str:
    """What a node holds, for messages ("must be a string, not an integer")."""
    if is_mapping(node):
        return "a mapping"
    if is_sequence(node):
        return "a list"
    names = {
        STR_TAG: "a string",
        INT_TAG: "an integer",
        FLOAT_TAG: "a number",
        BOOL_TAG: "a boolean",
        NULL_TAG: "empty (null)",
        TIMESTAMP_TAG: "a date",
    }
    tag = "!!" + node.tag.removeprefix(_TAG) if node.tag.startswith(_TAG) else node.tag
    return names.get(node.tag, f"a value tagged {tag}")


def is_str(node: Node) -> bool:
    return is_scalar(node) and node.tag == STR_TAG


def is_null(node: Node) -> bool:
    return is_scalar(node) and node.tag == NULL_TAG


def quote_hint(node: Node) -> str:
    """``quote it: "8080"`` for a scalar that YAML read as a number or boolean."""
    if not is_scalar(node):
        return ""
    if node.tag == NULL_TAG:
        return 'write "" for an empty string'
    if node.tag in (INT_TAG, FLOAT_TAG, BOOL_TAG, TIMESTAMP_TAG):
        return f'quote it: "{node.value}"'
    return ""


def key_text(node: Node) -> str:
    return str(node.value) if is_scalar(node) else f"<{describe(node)}>"


def did_you_mean(word: str, candidates: tuple[str, ...] | list[str]) -> str:
    """``did you mean 'memory_limit'?`` for the closest candidate, or ``""`` when none is close."""
    import difflib

    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def node_source(text: str, node: Node) -> str:
    """The YAML text of ``node`` as written in the file, dedented, without trailing comments.

    The first line is padded to the node's column so that ``- name: x`` dedents like the lines
    below it. Trailing blank and comment lines are dropped: the scanner ends a block node at the
    next token, so comments that introduce the following entry would otherwise be included.
    """
    import textwrap

    start, end = node.start_mark.index, node.end_mark.index
    lines = (" " * node.start_mark.column + text[start:end]).splitlines()
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    return textwrap.dedent("\n".join(lines))


class Check:
    """Collects the problems of one entry (or of the file level) and whether any was an error."""

    def __init__(self, path: Path, entry_id: str, problems: list[Problem]) -> None:
        self.path = path
        self.entry_id = entry_id
        self.problems = problems
        self.failed = False

    def error(self, node: Node, field: str, message: str, hint: str = "") -> None:
        self.failed = True
        self._add(node, field, message, hint, "error")

    def warn(self, node: Node, field: str, message: str, hint: str = "") -> None:
        self._add(node, field, message, hint, "warning")

    def _add(self, node: Node, field: str, message: str, hint: str, severity: str) -> None:
        location = Location(self.path, line_of(node))
        self.problems.append(Problem(location, message, self.entry_id, field, hint, severity))

    def pairs(self, node: MappingNode, field: str) -> dict[str, tuple[Node, Node]]:
        """The key/value nodes of a mapping, merge keys (``<<: *base``) applied, later keys winning.

        A key written twice is a warning (YAML loaders keep the last one silently).
        """
        seen: set[str] = set()
        flatten = False
        for key, _ in node.value:
            if key.tag in (MERGE_TAG, VALUE_TAG):
                flatten = True  # PyYAML's merge (and its "=" key): most mappings have neither
                if key.tag == MERGE_TAG:
                    continue
            text = key_text(key)
            if text in seen:
                self.warn(key, field or text, f"key '{text}' appears twice; the last one is used")
            seen.add(text)
        if flatten:
            from yaml import YAMLError
            from yaml.constructor import SafeConstructor

            try:
                SafeConstructor().flatten_mapping(node)
            except YAMLError as exc:
                self.error(node, field, f"bad merge key (<<): {getattr(exc, 'problem', exc)}")
                node.value = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]
        return {key_text(key): (key, value) for key, value in node.value}


# ---- field checkers: a kind's Field names one ----------------------------------------------------


def string_field(check: Check, field: str, node: Node) -> Any:
    if is_str(node):
        return str(node.value)
    check.error(node, field, f"must be a string, not {describe(node)}", quote_hint(node))
    return INVALID


def string_list(check: Check, field: str, node: Node) -> Any:
    if not is_sequence(node):
        hint = f'write a list: ["{node.value}"]' if is_scalar(node) else ""
        check.error(node, field, f"must be a list of strings, not {describe(node)}", hint)
        return INVALID
    items: list[str] = []
    for item in node.value:
        if is_str(item):
            items.append(str(item.value))
        else:
            check.error(item, field, f"items must be strings, not {describe(item)}", quote_hint(item))
    return tuple(items) if len(items) == len(node.value) else INVALID


def string_map(check: Check, field: str, node: Node, *, what: str = "value") -> Any:
    """A mapping of strings to strings; ``what`` names a value in messages (``the options of /tmp``)."""
    if not is_mapping(node):
        check.error(node, field, f"must be a mapping of strings, not {describe(node)}")
        return INVALID
    result: dict[str, str] = {}
    ok = True
    for key, value in check.pairs(node, field).values():
        if not is_str(key):
            check.error(key, field, f"keys must be strings, not {describe(key)}", quote_hint(key))
            ok = False
        elif not is_str(value):
            name = key.value
            message = f"{what} of {name} must be a string, not {describe(value)}"
            check.error(value, field, message, quote_hint(value))
            ok = False
        else:
            result[str(key.value)] = str(value.value)
    return frozen_map(result) if ok else INVALID


def env_map(check: Check, field: str, node: Node) -> Any:
    return string_map(check, field, node, what="the value")


# Compiled (and cached by `re`) on first use, as every pattern of the modules a command line loads.
_SIZE = r"(?i)^\s*(\d+)\s*([kmgt])i?b?\s*$"


def integer(check: Check, field: str, node: Node) -> Any:
    return _integer(check, field, node, sizes=False)


def byte_count(check: Check, field: str, node: Node) -> Any:
    """An integer number of bytes; ``64m`` written as text gets a hint with the number to write."""
    return _integer(check, field, node, sizes=True)


def _integer(check: Check, field: str, node: Node, *, sizes: bool) -> Any:
    if is_scalar(node) and node.tag == INT_TAG:
        from yaml.constructor import SafeConstructor

        return int(SafeConstructor().construct_yaml_int(node))
    hint = ""
    if is_str(node):
        size = re.match(_SIZE, node.value)
        if node.value.strip().isdigit():
            hint = "remove the quotes"
        elif size and sizes:
            scaled = int(size.group(1)) * 1024 ** ("kmgt".index(size.group(2).lower()) + 1)
            hint = f"write the size in bytes: {scaled}"
    check.error(node, field, f"must be an integer, not {describe(node)}", hint)
    return INVALID


def boolean(check: Check, field: str, node: Node) -> Any:
    if is_scalar(node) and node.tag == BOOL_TAG:
        from yaml.constructor import SafeConstructor

        return bool(SafeConstructor().construct_yaml_bool(node))
    hint = "remove the quotes" if is_str(node) and node.value.lower() in ("true", "false") else ""
    check.error(node, field, f"must be true or false, not {describe(node)}", hint)
    return INVALID


# ---- how a kind declares its fields ------------------------------------------------------------------


@record(frozen=True)
class Field:
    """One field of a kind's entries: what validation checks, and what ``check``, the console's details
    view and the README's reference table say about it.

    ``type`` and ``default`` are written for people (``map string→string``, ``0: unlimited``); ``help``
    is one line on what the field does. A field with ``required`` set must be given and not be empty;
    the text says what to give (``the Docker image to run, e.g. busybox:latest``). The value a check
    returns becomes the attribute of the same name of the kind's spec class. Every kind declares the
    fields of ``ExecutorSpec`` (work dir, env, whitelist) in its own words: their defaults differ.
    """

    name: str
    check: Checker
    type: str
    default: str
    help: str
    required: str = ""
