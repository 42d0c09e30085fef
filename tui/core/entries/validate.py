"""Validation of one parsed entry file into frozen entries.

Contract of :func:`validate_document`: it never raises for anything the YAML may contain; it returns
the entries that loaded and every problem found (errors fail only their own entry, warnings fail
nothing). It walks the node graph, so the caller must already have refused alias bombs and recursive
aliases (``loader`` does). Only ``meta``, free-form by design, is constructed into Python values.

The executor fields of an entry are those of its kind, as the kind declares them (its ``fields``);
an entry whose kind the registry does not know is kept as "not an executor".
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tui.core.entries.fields import (
    ENTRY_FIELDS,
    FILE_FIELDS,
    INVALID,
    Check,
    describe,
    did_you_mean,
    is_null,
    line_of,
    node_source,
    string_field,
)
from tui.core.entries.models import Entry, ExecutorSpec, Location, Problem, frozen_map

if TYPE_CHECKING:
    from tui.core.executors.base import Kind


def _kinds() -> tuple[Kind[Any], ...]:
    """The registered kinds. The registry is imported when first needed: the kinds' modules import this
    package (for the checkers and ``ExecutorSpec``), so importing it at the top would be a circle."""
    from tui.core.executors import registry

    return registry.kinds()


def _find_kind(name: str) -> Kind[Any] | None:
    return next((kind for kind in _kinds() if kind.name == name), None)


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
        # The reference runtime skips such a file without a word, and its entries silently vanish.
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
    spec: ExecutorSpec | None = None
    executor_kind = _find_kind(kind) if kind else None
    if executor_kind is not None:
        spec = _spec(check, executor_kind, node, fields)
    elif kind:
        close = did_you_mean(kind, [k.name for k in _kinds()])
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
    check: Check, kind: Kind[Any], node: MappingNode, fields: dict[str, tuple[Node, Node]]
) -> ExecutorSpec | None:
    """The executor fields of an entry: beside name/kind, or under ``data:`` (which wins)."""
    known = {f.name: f for f in kind.fields}
    data: dict[str, tuple[Node, Node]] = {}
    data_pair = fields.get("data")
    if data_pair is not None and not is_null(data_pair[1]):
        if isinstance(data_pair[1], MappingNode):
            data = check.pairs(data_pair[1], "data")
        else:
            message = f"must be a mapping of {kind.name} fields, not {describe(data_pair[1])}"
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
    for name, declared in known.items():
        pair = chosen.get(name)
        if pair is None or is_null(pair[1]):
            if declared.required:
                check.error(node, name, f"is required: {declared.required}")
            continue
        value = declared.check(check, name, pair[1])
        if value is INVALID:
            continue
        if declared.required and isinstance(value, str) and not value.strip():
            check.error(pair[1], name, "must not be empty")
        values[name] = value
    if check.failed:
        return None
    spec: ExecutorSpec = kind.spec_class(**values)
    return spec


def _unknown(check: Check, kind: Kind[Any], key: str, key_node: Node, candidates: tuple[str, ...]) -> None:
    """Say that a field is unknown, with a likely correction; the reference ignores it without a word,
    and a misspelt ``memory_limt`` silently runs without a memory limit."""
    elsewhere = [other.name for other in _kinds() if other is not kind and other.field(key)]
    hint = did_you_mean(key, candidates)
    if not hint and elsewhere:
        hint = f"'{key}' is a field of {elsewhere[0]} only"
    check.warn(key_node, key, f"unknown field '{key}' for {kind.name} (ignored)", hint)
