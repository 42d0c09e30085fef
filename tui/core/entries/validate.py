"""Validation of one parsed entry file into frozen entries (spec section 1).

Contract of :func:`validate_document`: it never raises for anything the YAML may contain; it returns
the entries that loaded and every problem found (errors fail only their own entry, warnings fail
nothing). It walks the node graph, so the caller must already have refused alias bombs and recursive
aliases (``loader`` does). Only ``meta``, free-form by design, is constructed into Python values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tui.core.entries.fields import (
    ENTRY_FIELDS,
    FILE_FIELDS,
    INVALID,
    KIND_FIELDS,
    Check,
    describe,
    did_you_mean,
    is_null,
    line_of,
    node_source,
    string_field,
)
from tui.core.entries.models import (
    DOCKER_KIND,
    EXECUTOR_KINDS,
    DockerSpec,
    Entry,
    Location,
    NativeSpec,
    Problem,
    frozen_map,
)


def validate_document(path: Path, text: str, root: Node) -> tuple[list[Entry], list[Problem]]:
    """Validate the composed document ``root`` of the file ``path`` (whose text is ``text``).

    Returns the entries that loaded, in file order, and every problem found. A file-level error (no
    namespace, ``entries`` not a list...) loads none of the file's entries, but their own problems are
    still reported, so that one pass shows everything to fix.
    """
    problems: list[Problem] = []
    check = Check(path, "", problems)
    if not isinstance(root, MappingNode):
        check.error(root, "", f"an entry file must be a mapping (namespace, entries), not {describe(root)}")
        return [], problems
    top = check.pairs(root, "")
    for key, (key_node, _) in top.items():
        if key not in FILE_FIELDS:
            check.warn(key_node, key, f"unknown field '{key}' (ignored)", did_you_mean(key, FILE_FIELDS))
    namespace = _namespace(check, root, top)
    version = top.get("version")
    if version is not None and not isinstance(version[1], ScalarNode):
        check.warn(version[1], "version", f'should be text such as "1.0", not {describe(version[1])}')
    file_meta = _meta(check, top.get("meta"))
    entries_node = top["entries"][1] if "entries" in top else None
    items: list[Node] = []
    if entries_node is None or is_null(entries_node):
        check.warn(root, "entries", "the file declares no entries")
    elif not isinstance(entries_node, SequenceNode):
        check.error(entries_node, "entries", f"must be a list of entries, not {describe(entries_node)}")
    else:
        items = list(entries_node.value)
    file_loads = not check.failed
    entries: list[Entry] = []
    for index, node in enumerate(items):
        entry = _entry(path, text, namespace, file_meta or {}, index, node, problems)
        if entry is not None and file_loads:
            entries.append(entry)
    return entries, problems


def _namespace(check: Check, root: Node, top: dict[str, tuple[Node, Node]]) -> str:
    pair = top.get("namespace")
    if pair is None or is_null(pair[1]):
        # BETTER: the reference skips such a file without a word.
        message = "the file has no namespace, so none of its entries is loaded"
        check.error(root, "namespace", message, "add namespace: app")
        return ""
    value = string_field(check, "namespace", pair[1])
    if value is INVALID:
        return ""
    if not value.strip():
        check.error(pair[1], "namespace", "must not be empty")
        return ""
    if ":" in value:
        check.error(pair[1], "namespace", "must not contain ':' (an id is split at its first ':')")
        return ""
    return str(value)


def _meta(check: Check, pair: tuple[Node, Node] | None) -> dict[str, Any] | None:
    """The constructed ``meta`` mapping; ``{}`` when absent, ``None`` (and an error) when invalid."""
    if pair is None or is_null(pair[1]):
        return {}
    node = pair[1]
    if not isinstance(node, MappingNode):
        check.error(node, "meta", f"must be a mapping, not {describe(node)}")
        return None
    try:
        value = SafeConstructor().construct_object(node, deep=True)
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        check.error(node, "meta", f"cannot be read: {getattr(exc, 'problem', None) or exc}")
        return None
    return dict(value)


def _text_field(check: Check, node: MappingNode, fields: dict[str, tuple[Node, Node]], field: str) -> str:
    """A required non-empty string (``name``, ``kind``); ``""`` after reporting when invalid."""
    pair = fields.get(field)
    if pair is None or is_null(pair[1]):
        check.error(node, field, "is required: every entry needs a name and a kind")
        return ""
    value = string_field(check, field, pair[1])
    if value is INVALID:
        return ""
    if not value.strip():
        check.error(pair[1], field, "must not be empty")
        return ""
    return str(value)


def _entry(
    path: Path,
    text: str,
    namespace: str,
    file_meta: dict[str, Any],
    index: int,
    node: Node,
    problems: list[Problem],
) -> Entry | None:
    """One entry, or ``None`` when it has an error (its problems are appended to ``problems``)."""
    check = Check(path, f"entries[{index}]", problems)
    if not isinstance(node, MappingNode):
        check.error(node, "", f"an entry must be a mapping with name and kind, not {describe(node)}")
        return None
    first_problem = len(problems)
    fields = check.pairs(node, "")
    name = _text_field(check, node, fields, "name")
    if name:
        # Problems found before the name was known get the id too: it is what people search for.
        check.entry_id = f"{namespace or '?'}:{name}"
        for i in range(first_problem, len(problems)):
            p = problems[i]
            problems[i] = Problem(p.location, p.message, check.entry_id, p.field, p.hint, p.severity)
    kind = _text_field(check, node, fields, "kind")
    meta = _meta(check, fields.get("meta"))
    spec: NativeSpec | DockerSpec | None = None
    if kind in KIND_FIELDS:
        spec = _spec(check, kind, node, fields)
    elif kind:
        close = did_you_mean(kind, EXECUTOR_KINDS)
        if close:
            message = f"'{kind}' is not an executor kind: kept as not an executor"
            check.warn(fields["kind"][1], "kind", message, close)
    if check.failed or meta is None:
        return None
    return Entry(
        id=check.entry_id,
        namespace=namespace,
        name=name,
        kind=kind,
        location=Location(path, line_of(node)),
        meta=frozen_map({**file_meta, **meta}),
        spec=spec,
        source=node_source(text, node),
    )


def _spec(
    check: Check, kind: str, node: MappingNode, fields: dict[str, tuple[Node, Node]]
) -> NativeSpec | DockerSpec | None:
    """The executor fields of an entry: beside name/kind, or under ``data:`` (which wins)."""
    known = KIND_FIELDS[kind]
    data: dict[str, tuple[Node, Node]] = {}
    data_pair = fields.get("data")
    if data_pair is not None and not is_null(data_pair[1]):
        if isinstance(data_pair[1], MappingNode):
            data = check.pairs(data_pair[1], "data")
        else:
            message = f"must be a mapping of {kind} fields, not {describe(data_pair[1])}"
            check.error(data_pair[1], "data", message)
    for key, (key_node, _) in fields.items():
        if key not in ENTRY_FIELDS and key not in known:
            _unknown(check, kind, key, key_node, (*ENTRY_FIELDS, *known))
    for key, (key_node, _) in data.items():
        if key not in known:
            _unknown(check, kind, key, key_node, tuple(known))
    chosen = {key: pair for key, pair in fields.items() if key in known}
    chosen.update((key, pair) for key, pair in data.items() if key in known)
    values: dict[str, Any] = {}
    for field, checker in known.items():
        pair = chosen.get(field)
        if pair is None or is_null(pair[1]):
            continue
        value = checker(check, field, pair[1])
        if value is not INVALID:
            values[field] = value
    if kind == DOCKER_KIND:
        if "image" not in chosen or is_null(chosen["image"][1]):
            check.error(node, "image", "is required: the Docker image to run, e.g. busybox:latest")
        elif "image" in values and not values["image"].strip():
            check.error(chosen["image"][1], "image", "must not be empty")
    if check.failed:
        return None
    return DockerSpec(**values) if kind == DOCKER_KIND else NativeSpec(**values)


def _unknown(check: Check, kind: str, key: str, key_node: Node, candidates: tuple[str, ...]) -> None:
    """BETTER: the reference ignores unknown fields silently; say so, with a likely correction."""
    elsewhere = [other for other, table in KIND_FIELDS.items() if other != kind and key in table]
    hint = did_you_mean(key, candidates)
    if not hint and elsewhere:
        hint = f"'{key}' is a field of {elsewhere[0]} only"
    check.warn(key_node, key, f"unknown field '{key}' for {kind} (ignored)", hint)
