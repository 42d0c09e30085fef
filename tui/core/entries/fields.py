"""The executor fields of entries (spec 1.1, 1.2) and the node helpers that check them.

Everything here works on YAML *nodes* (``yaml.compose``), not constructed values: a node keeps its
``start_mark``, so every problem names the line of the value at fault. A checker turns one field's
node into its frozen Python value, or reports each fault and returns :data:`INVALID`.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tui.core.entries.models import (
    DOCKER_KIND,
    NATIVE_KIND,
    Location,
    Problem,
    frozen_map,
)

_TAG = "tag:yaml.org,2002:"
STR_TAG = _TAG + "str"
INT_TAG = _TAG + "int"
BOOL_TAG = _TAG + "bool"
NULL_TAG = _TAG + "null"
FLOAT_TAG = _TAG + "float"
TIMESTAMP_TAG = _TAG + "timestamp"
MERGE_TAG = _TAG + "merge"

FILE_FIELDS = ("version", "namespace", "meta", "entries")
ENTRY_FIELDS = ("name", "kind", "meta", "data")

# A checker turns a field's node into its Python value, or reports through the check and returns
# INVALID. Checkers never see a null node: an explicit null means "not set" (the default).
INVALID: Any = object()
Checker = Callable[["Check", str, Node], Any]


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def describe(node: Node) -> str:
    """What a node holds, for messages ("must be a string, not an integer")."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
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
    return isinstance(node, ScalarNode) and node.tag == STR_TAG


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def quote_hint(node: Node) -> str:
    """``quote it: "8080"`` for a scalar that YAML read as a number or boolean."""
    if not isinstance(node, ScalarNode):
        return ""
    if node.tag == NULL_TAG:
        return 'write "" for an empty string'
    if node.tag in (INT_TAG, FLOAT_TAG, BOOL_TAG, TIMESTAMP_TAG):
        return f'quote it: "{node.value}"'
    return ""


def key_text(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else f"<{describe(node)}>"


def did_you_mean(word: str, candidates: tuple[str, ...] | list[str]) -> str:
    """``did you mean 'memory_limit'?`` for the closest candidate, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def node_source(text: str, node: Node) -> str:
    """The YAML text of ``node`` as written in the file, dedented, without trailing comments.

    The first line is padded to the node's column so that ``- name: x`` dedents like the lines
    below it. Trailing blank and comment lines are dropped: the scanner ends a block node at the
    next token, so comments that introduce the following entry would otherwise be included.
    """
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
        for key, _ in node.value:
            if key.tag == MERGE_TAG:
                continue
            text = key_text(key)
            if text in seen:
                self.warn(key, field or text, f"key '{text}' appears twice; the last one is used")
            seen.add(text)
        try:
            SafeConstructor().flatten_mapping(node)
        except yaml.YAMLError as exc:
            self.error(node, field, f"bad merge key (<<): {getattr(exc, 'problem', exc)}")
            node.value = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]
        return {key_text(key): (key, value) for key, value in node.value}


# ---- field checkers, reached through KIND_FIELDS -------------------------------------------------


def string_field(check: Check, field: str, node: Node) -> Any:
    if is_str(node):
        return str(node.value)
    check.error(node, field, f"must be a string, not {describe(node)}", quote_hint(node))
    return INVALID


def _string_list(check: Check, field: str, node: Node) -> Any:
    if not isinstance(node, SequenceNode):
        hint = f'write a list: ["{node.value}"]' if isinstance(node, ScalarNode) else ""
        check.error(node, field, f"must be a list of strings, not {describe(node)}", hint)
        return INVALID
    items: list[str] = []
    for item in node.value:
        if is_str(item):
            items.append(str(item.value))
        else:
            check.error(item, field, f"items must be strings, not {describe(item)}", quote_hint(item))
    return tuple(items) if len(items) == len(node.value) else INVALID


def _string_map(check: Check, field: str, node: Node, *, what: str = "value") -> Any:
    if not isinstance(node, MappingNode):
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


def _env(check: Check, field: str, node: Node) -> Any:
    return _string_map(check, field, node, what="the value")


def _tmpfs(check: Check, field: str, node: Node) -> Any:
    return _string_map(check, field, node, what="the options")


_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt])i?b?\s*$", re.IGNORECASE)


def _integer(check: Check, field: str, node: Node) -> Any:
    if isinstance(node, ScalarNode) and node.tag == INT_TAG:
        return int(SafeConstructor().construct_yaml_int(node))
    hint = ""
    if is_str(node):
        size = _SIZE.match(node.value)
        if node.value.strip().isdigit():
            hint = "remove the quotes"
        elif size and field == "memory_limit":
            scaled = int(size.group(1)) * 1024 ** ("kmgt".index(size.group(2).lower()) + 1)
            hint = f"write the size in bytes: {scaled}"
    check.error(node, field, f"must be an integer, not {describe(node)}", hint)
    return INVALID


def _boolean(check: Check, field: str, node: Node) -> Any:
    if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
        return bool(SafeConstructor().construct_yaml_bool(node))
    hint = "remove the quotes" if is_str(node) and node.value.lower() in ("true", "false") else ""
    check.error(node, field, f"must be true or false, not {describe(node)}", hint)
    return INVALID


def _volumes(check: Check, field: str, node: Node) -> Any:
    volumes = _string_list(check, field, node)
    if volumes is INVALID:
        return INVALID
    ok = True
    for item, volume in zip(node.value, volumes, strict=True):
        parts = volume.split(":")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            check.error(
                item,
                field,
                f'volume "{volume}" must have two parts, host:container'
                ' (a third part "ro" mounts it read-only)',
                f'e.g. "{volume or "/srv/data"}:/data"' if len(parts) < 2 else "",
            )
            ok = False
        elif len(parts) > 2 and parts[2] != "ro":
            # SAME as the reference: only exactly "ro" is read-only; say so for "RO", "readonly"...
            message = f'volume "{volume}": the third part is not "ro", so it is mounted read-write'
            check.warn(item, field, message)
    return volumes if ok else INVALID


_COMMON_FIELDS: dict[str, Checker] = {
    "default_work_dir": string_field,
    "default_env": _env,
    "command_whitelist": _string_list,
}
NATIVE_FIELDS: dict[str, Checker] = dict(_COMMON_FIELDS)
DOCKER_FIELDS: dict[str, Checker] = {
    "image": string_field,
    "host": string_field,
    **_COMMON_FIELDS,
    "network_mode": string_field,
    "volumes": _volumes,
    "user": string_field,
    "memory_limit": _integer,
    "cpu_quota": _integer,
    "pids_limit": _integer,
    "auto_remove": _boolean,
    "read_only_rootfs": _boolean,
    "no_new_privileges": _boolean,
    "cap_drop": _string_list,
    "cap_add": _string_list,
    "tmpfs": _tmpfs,
    "init": _boolean,
}
KIND_FIELDS: Mapping[str, Mapping[str, Checker]] = {NATIVE_KIND: NATIVE_FIELDS, DOCKER_KIND: DOCKER_FIELDS}
