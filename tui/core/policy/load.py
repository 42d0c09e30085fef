"""``security.policy`` entries read from the same entry files as the executors.

Contract of :func:`read_policies`: it never raises for anything the YAML holds; every fault is a
:class:`Problem` naming file, line, entry id and field, and a policy with an error is not in force (it
is still listed as an entry). An expression policy (``security.policy.expr``) is an error of its entry:
execdeck cannot evaluate it, and ignoring it silently would leave its rules unenforced. A pattern with a
star the matcher never honours (``*.get``) loads with a warning, so nobody trusts a rule that never
fires.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tui.core.entries.fields import Check, describe, did_you_mean, is_null, is_str, key_text, line_of, quote_hint
from tui.core.entries.models import Entry, Location, Problem
from tui.core.policy.match import FIELD_ROOTS, compile_pattern, field_root_ok, is_inert_star, pattern_matches
from tui.core.policy.model import (
    ACTIONS,
    EXPRESSION_POLICY_KIND,
    OPERATORS,
    POLICY_KIND,
    PRESENCE_OPERATORS,
    Condition,
    Policy,
)

DATA_FIELDS = ("policy", "groups")
ENTRY_FIELDS = ("name", "kind", "meta", "data", *DATA_FIELDS)
POLICY_FIELDS = ("actions", "resources", "effect", "conditions")
CONDITION_FIELDS = ("field", "operator", "value", "value_from")
_INVALID: Any = object()


def read_policies(path: Path, root: Node, entries: Sequence[Entry]) -> tuple[list[Policy], list[Problem]]:
    """The policies of one validated file (``root`` is its document, ``entries`` what loaded from it)."""
    wanted = {e.location.line: e for e in entries if e.kind in (POLICY_KIND, EXPRESSION_POLICY_KIND)}
    policies: list[Policy] = []
    problems: list[Problem] = []
    if not wanted or not isinstance(root, MappingNode):
        return policies, problems
    items: list[Node] = next((value.value for key, value in root.value
                  if key_text(key) == "entries" and isinstance(value, SequenceNode)), [])
    for node in items:
        entry = wanted.get(line_of(node))
        if entry is None or not isinstance(node, MappingNode):
            continue
        check = Check(path, entry.id, problems)
        if entry.kind == EXPRESSION_POLICY_KIND:
            check.error(node, "kind", "expression policies are not supported, so this policy is not in force",
                        "write it as a security.policy entry with conditions")
            continue
        policy = _policy(check, entry, node)
        if policy is not None and not check.failed:
            policies.append(policy)
    return policies, problems


def _pairs(node: MappingNode) -> dict[str, tuple[Node, Node]]:
    # The validator already flattened merge keys and warned about repeated keys.
    return {key_text(key): (key, value) for key, value in node.value}


def _policy(check: Check, entry: Entry, node: MappingNode) -> Policy | None:
    fields = _pairs(node)
    data: dict[str, tuple[Node, Node]] = {}
    if "data" in fields and isinstance(fields["data"][1], MappingNode):
        data = _pairs(fields["data"][1])
    for key, (key_node, _) in fields.items():
        if key not in ENTRY_FIELDS:
            check.warn(key_node, key, f"unknown field '{key}' for {POLICY_KIND} (ignored)",
                       did_you_mean(key, ENTRY_FIELDS))
    for key, (key_node, _) in data.items():
        if key not in DATA_FIELDS:
            check.warn(key_node, key, f"unknown field '{key}' for {POLICY_KIND} (ignored)",
                       did_you_mean(key, DATA_FIELDS))
    chosen = {**fields, **{k: v for k, v in data.items() if k in DATA_FIELDS}}
    groups = _groups(check, chosen.get("groups"), node)
    pair = chosen.get("policy")
    if pair is None or is_null(pair[1]):
        check.error(node, "policy", "is required: actions, resources and effect",
                    'e.g. policy: {actions: "exec.get", resources: "app:*", effect: allow}')
        return None
    body = pair[1]
    if not isinstance(body, MappingNode):
        check.error(body, "policy", f"must be a mapping (actions, resources, effect), not {describe(body)}")
        return None
    parts = _pairs(body)
    for key, (key_node, _) in parts.items():
        if key not in POLICY_FIELDS:
            check.warn(key_node, f"policy.{key}", f"unknown field '{key}' (ignored)", did_you_mean(key, POLICY_FIELDS))
    actions = _patterns(check, parts, "actions", body)
    resources = _patterns(check, parts, "resources", body)
    effect = _effect(check, parts.get("effect"), body)
    conditions = _conditions(check, parts.get("conditions"))
    if actions is not _INVALID:
        _unknown_actions(check, parts["actions"][1], actions)
    if check.failed or _INVALID in (actions, resources, effect, conditions, groups):
        return None
    return Policy(id=entry.id, location=Location(entry.location.path, line_of(node)), effect=effect,
                  actions=actions, resources=resources, conditions=conditions, groups=groups)


def _strings(check: Check, node: Node, field: str) -> Any:
    """A string or a list of strings, as a tuple; :data:`_INVALID` after reporting."""
    if is_str(node):
        return (str(node.value),)
    if isinstance(node, SequenceNode) and node.value:
        bad = [item for item in node.value if not is_str(item)]
        for item in bad:
            check.error(item, field, f"items must be strings, not {describe(item)}", quote_hint(item))
        return _INVALID if bad else tuple(str(item.value) for item in node.value)
    what = "an empty list" if isinstance(node, SequenceNode) else describe(node)
    check.error(node, field, f"must be a string or a non-empty list of strings, not {what}", quote_hint(node))
    return _INVALID


def _patterns(check: Check, parts: dict[str, tuple[Node, Node]], name: str, body: Node) -> Any:
    field = f"policy.{name}"
    pair = parts.get(name)
    if pair is None or is_null(pair[1]):
        check.error(body, field, "is required", f'"*" for every {name[:-1]}')
        return _INVALID
    values = _strings(check, pair[1], field)
    if values is _INVALID:
        return _INVALID
    nodes = pair[1].value if isinstance(pair[1], SequenceNode) else [pair[1]]
    for value, node in zip(values, nodes, strict=True):
        if is_inert_star(value):
            check.warn(node, field, f"'{value}': only a star alone or at the end matches anything; this one is a "
                       "plain character, so the pattern matches only that exact text",
                       "write a prefix and one trailing star, such as exec.* or app:*")
    return values


def _unknown_actions(check: Check, node: Node, actions: tuple[str, ...]) -> None:
    """A likely typo (``exec.gett``) never fires: warn. Other systems' actions (``fs.read``) are fine."""
    nodes = node.value if isinstance(node, SequenceNode) else [node]
    for value, item in zip(actions, nodes, strict=True):
        if not is_inert_star(value) and not any(pattern_matches(value, action) for action in ACTIONS):
            hint = did_you_mean(value, ACTIONS)
            if hint:
                check.warn(item, "policy.actions", f"'{value}' matches neither exec.get nor exec.run", hint)


def _effect(check: Check, pair: tuple[Node, Node] | None, body: Node) -> Any:
    if pair is None or is_null(pair[1]):
        check.error(body, "policy.effect", "is required: allow or deny")
        return _INVALID
    node = pair[1]
    if is_str(node) and node.value in ("allow", "deny"):
        return str(node.value)
    shown = node.value if isinstance(node, ScalarNode) else describe(node)
    check.error(node, "policy.effect", f"must be allow or deny, not {shown}",
                did_you_mean(str(shown).lower(), ("allow", "deny")))
    return _INVALID


def _groups(check: Check, pair: tuple[Node, Node] | None, node: Node) -> Any:
    if pair is None or is_null(pair[1]):
        check.warn(node, "groups", "no groups: no scope includes this policy, so it never applies",
                   "add groups: [ops]")
        return ()
    return _strings(check, pair[1], "groups")


def _conditions(check: Check, pair: tuple[Node, Node] | None) -> Any:
    if pair is None or is_null(pair[1]):
        return ()
    node = pair[1]
    if not isinstance(node, SequenceNode):
        check.error(node, "policy.conditions", f"must be a list of conditions, not {describe(node)}")
        return _INVALID
    conditions = [_condition(check, item, index) for index, item in enumerate(node.value)]
    return _INVALID if _INVALID in conditions else tuple(conditions)


def _condition(check: Check, node: Node, index: int) -> Any:
    where = f"policy.conditions[{index}]"
    if not isinstance(node, MappingNode):
        check.error(node, where, f"a condition is a mapping (field, operator, value), not {describe(node)}")
        return _INVALID
    parts = _pairs(node)
    for key, (key_node, _) in parts.items():
        if key not in CONDITION_FIELDS:
            check.warn(key_node, f"{where}.{key}", f"unknown field '{key}' (ignored)",
                       did_you_mean(key, CONDITION_FIELDS))
    errors = _errors(check)
    field = _path(check, parts.get("field"), node, f"{where}.field")
    operator = _operator(check, parts.get("operator"), node, f"{where}.operator")
    value_from = ""
    value: Any = None
    has_value = "value" in parts
    if "value_from" in parts:
        value_from = _path(check, parts["value_from"], node, f"{where}.value_from")
        if has_value:
            check.error(parts["value"][0], where, "has both value and value_from", "keep one of them")
    elif has_value:
        value = _construct(check, parts["value"][1], f"{where}.value")
    pattern = None
    if _errors(check) == errors:
        if operator in PRESENCE_OPERATORS:
            if has_value or value_from:
                check.error(node, where, f"{operator} takes no value: it asks whether {field} is there")
        elif not has_value and not value_from:
            check.error(node, where, f"{operator} needs a value (or value_from: another field)")
        elif operator in ("in", "nin") and has_value and not isinstance(value, list):
            check.error(parts["value"][1], f"{where}.value", f"{operator} needs a list of values, not "
                        f"{describe(parts['value'][1])}", f"write a list: [{parts['value'][1].value}]"
                        if isinstance(parts["value"][1], ScalarNode) else "")
        elif operator in ("matches", "nmatches") and has_value:
            pattern = _regex(check, parts["value"][1], value, f"{where}.value")
    if _errors(check) != errors:
        return _INVALID
    return Condition(field=field, operator=operator, value=value, value_from=value_from, pattern=pattern)


def _errors(check: Check) -> int:
    return sum(1 for problem in check.problems if problem.severity == "error")


def _path(check: Check, pair: tuple[Node, Node] | None, node: Node, field: str) -> str:
    if pair is None or not is_str(pair[1]) or not str(pair[1].value).strip():
        check.error(pair[1] if pair is not None else node, field,
                    "is required: a field path such as actor.id, actor.meta.role, resource or meta.team")
        return ""
    path = str(pair[1].value)
    if not field_root_ok(path):
        roots = ", ".join(f"{r}.<key>" if r.endswith("meta") else r for r in FIELD_ROOTS)
        check.error(pair[1], field, f"'{path}' is not a field a check has: use {roots}",
                    did_you_mean(path, FIELD_ROOTS))
        return ""
    return path


def _operator(check: Check, pair: tuple[Node, Node] | None, node: Node, field: str) -> str:
    if pair is None or not is_str(pair[1]):
        check.error(pair[1] if pair is not None else node, field, f"is required: one of {', '.join(OPERATORS)}")
        return ""
    operator = str(pair[1].value)
    if operator not in OPERATORS:
        check.error(pair[1], field, f"unknown operator '{operator}': one of {', '.join(OPERATORS)}",
                    did_you_mean(operator, OPERATORS))
        return ""
    return operator


def _construct(check: Check, node: Node, field: str) -> Any:
    try:
        return SafeConstructor().construct_object(node, deep=True)
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        check.error(node, field, f"cannot be read: {getattr(exc, 'problem', None) or exc}")
        return None


def _regex(check: Check, node: Node, value: Any, field: str) -> Any:
    if not isinstance(value, str):
        check.error(node, field, f"must be a regular expression (a string), not {describe(node)}", quote_hint(node))
        return None
    import re2  # here, as in compile_pattern: only files with regular expressions need it

    try:
        return compile_pattern(value)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        check.error(node, field, f"bad regular expression {value!r}: {reason}",
                    "RE2 syntax, as Go's regexp: no look-around, no back-references")
        return None
