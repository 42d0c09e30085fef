"""The evaluation rules, table by table: every operator, missing fields, type mismatches, ``value_from``,
patterns, deny-wins, allow-needed, and strict mode with and without an actor or a scope.

Policies are written as entry files and loaded, so each row goes through the loader and the gate as
the console and the command line use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.policy.support import access, load, policy
from tui.core.policy import EXEC_GET, EXEC_RUN, Gate
from tui.core.policy.match import pattern_matches

ACTOR_META: dict[str, Any] = {
    "role": "ops", "level": 3, "ratio": 0.5, "admin": True, "teams": ["ops", "dev"],
    "labels": {"env": "prod"}, "text": "hello world", "code": "3", "nothing": None,
    "org": {"unit": {"name": "infra"}},
}
ENTRY_META: dict[str, Any] = {"team": "ops", "tier": 2, "pattern": "^user:", "badpattern": "(?=x)"}

# (field, operator, value, expected): one condition on one allow policy; True means allowed.
OPERATOR_TABLE: list[tuple[str, str, Any, bool]] = [
    # eq / ne: no coercion between types
    ("actor.meta.role", "eq", "ops", True),
    ("actor.meta.role", "eq", "dev", False),
    ("actor.meta.level", "eq", 3, True),
    ("actor.meta.level", "eq", 3.0, True),
    ("actor.meta.level", "eq", "3", False),
    ("actor.meta.code", "eq", 3, False),
    ("actor.meta.admin", "eq", True, True),
    ("actor.meta.admin", "eq", "true", False),
    ("actor.meta.admin", "eq", 1, False),
    ("actor.meta.teams", "eq", ["ops", "dev"], True),
    ("actor.meta.labels", "eq", {"env": "prod"}, True),
    ("actor.meta.missing", "eq", "x", False),
    ("actor.meta.role", "ne", "dev", True),
    ("actor.meta.role", "ne", "ops", False),
    ("actor.meta.level", "ne", "3", True),
    ("actor.meta.missing", "ne", "x", False),
    # ordering: numbers only
    ("actor.meta.level", "lt", 5, True),
    ("actor.meta.level", "lt", 3, False),
    ("actor.meta.level", "lte", 3, True),
    ("actor.meta.level", "gt", 2, True),
    ("actor.meta.level", "gt", 3, False),
    ("actor.meta.level", "gte", 3, True),
    ("actor.meta.ratio", "lt", 1, True),
    ("actor.meta.role", "lt", "zzz", False),
    ("actor.meta.code", "gte", 1, False),
    ("actor.meta.level", "lt", "9", False),
    ("actor.meta.admin", "lt", 2, False),
    ("actor.meta.missing", "gt", 0, False),
    # in / nin
    ("actor.meta.role", "in", ["ops", "dev"], True),
    ("actor.meta.role", "in", ["qa"], False),
    ("actor.meta.level", "in", [1, 2, 3], True),
    ("actor.meta.code", "in", [3], False),
    ("actor.meta.missing", "in", ["x"], False),
    ("actor.meta.role", "nin", ["qa"], True),
    ("actor.meta.role", "nin", ["ops"], False),
    ("actor.meta.missing", "nin", ["x"], False),
    # exists / nexists: a null counts as missing
    ("actor.meta.role", "exists", None, True),
    ("actor.meta.missing", "exists", None, False),
    ("actor.meta.nothing", "exists", None, False),
    ("actor.meta.missing", "nexists", None, True),
    ("actor.meta.nothing", "nexists", None, True),
    ("actor.meta.role", "nexists", None, False),
    # contains / ncontains: text in text, an item of a list, a key of a map
    ("actor.meta.text", "contains", "world", True),
    ("actor.meta.text", "contains", "moon", False),
    ("actor.meta.teams", "contains", "dev", True),
    ("actor.meta.teams", "contains", "qa", False),
    ("actor.meta.labels", "contains", "env", True),
    ("actor.meta.level", "contains", "3", False),
    ("actor.meta.text", "contains", 1, False),
    ("actor.meta.missing", "contains", "x", False),
    ("actor.meta.text", "ncontains", "moon", True),
    ("actor.meta.text", "ncontains", "world", False),
    ("actor.meta.teams", "ncontains", "qa", True),
    ("actor.meta.level", "ncontains", "3", False),
    ("actor.meta.missing", "ncontains", "x", False),
    # matches / nmatches: RE2, unanchored like Go's MatchString
    ("actor.id", "matches", "^user:", True),
    ("actor.id", "matches", "ali", True),
    ("actor.id", "matches", "^visitor:", False),
    ("actor.meta.level", "matches", "3", False),
    ("actor.meta.missing", "matches", ".*", False),
    ("actor.id", "nmatches", "^visitor:", True),
    ("actor.id", "nmatches", "^user:", False),
    ("actor.meta.level", "nmatches", "x", False),
    ("actor.meta.missing", "nmatches", "x", False),
    # the other roots: nested actor meta, action, resource, the executor entry's meta
    ("actor.meta.org.unit.name", "eq", "infra", True),
    ("actor.meta.org.unit.missing", "exists", None, False),
    ("action", "eq", EXEC_GET, True),
    ("resource", "eq", "app:shell", True),
    ("resource", "eq", "app:free", False),
    ("meta.team", "eq", "ops", True),
    ("meta.tier", "gte", 2, True),
    ("meta.missing", "nexists", None, True),
]


@pytest.mark.parametrize(("field", "operator", "value", "expected"), OPERATOR_TABLE,
                         ids=[f"{f} {o} {v!r}" for f, o, v, _ in OPERATOR_TABLE])
def test_each_operator(tmp_path: Path, field: str, operator: str, value: Any, expected: bool) -> None:
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if operator not in ("exists", "nexists"):
        condition["value"] = value
    result = load(tmp_path, policy("p", conditions=[condition]))
    assert result.errors == (), result.errors
    gate = Gate(access(meta=ACTOR_META), result.policies)
    assert gate.decide(EXEC_GET, "app:shell", ENTRY_META).allowed is expected


def test_every_operator_of_the_reference_is_in_the_table() -> None:
    from tui.core.policy.model import OPERATORS

    assert {row[1] for row in OPERATOR_TABLE} == set(OPERATORS) and len(OPERATORS) == 14


# (field, operator, value_from, expected): the value is another field of the same check.
VALUE_FROM_TABLE: list[tuple[str, str, str, bool]] = [
    ("actor.meta.role", "eq", "meta.team", True),
    ("actor.meta.level", "gt", "meta.tier", True),
    ("actor.meta.level", "lt", "meta.tier", False),
    ("actor.meta.role", "eq", "meta.missing", False),
    ("actor.meta.role", "ne", "meta.missing", False),
    ("meta.team", "in", "actor.meta.teams", True),
    ("actor.meta.teams", "contains", "meta.team", True),
    ("actor.id", "matches", "meta.pattern", True),
    ("actor.id", "matches", "meta.badpattern", False),
    ("actor.id", "nmatches", "meta.badpattern", False),
    ("actor.meta.role", "in", "actor.meta.role", False),
]


@pytest.mark.parametrize(("field", "operator", "source", "expected"), VALUE_FROM_TABLE,
                         ids=[f"{f} {o} from {s}" for f, o, s, _ in VALUE_FROM_TABLE])
def test_value_from(tmp_path: Path, field: str, operator: str, source: str, expected: bool) -> None:
    result = load(tmp_path, policy("p", conditions=[{"field": field, "operator": operator, "value_from": source}]))
    assert result.errors == (), result.errors
    gate = Gate(access(meta=ACTOR_META), result.policies)
    assert gate.decide(EXEC_GET, "app:shell", ENTRY_META).allowed is expected


def test_all_conditions_must_hold(tmp_path: Path) -> None:
    both = [{"field": "actor.meta.role", "operator": "eq", "value": "ops"},
            {"field": "meta.team", "operator": "eq", "value": "dev"}]
    result = load(tmp_path, policy("p", conditions=both))
    gate = Gate(access(meta=ACTOR_META), result.policies)
    assert not gate.decide(EXEC_GET, "app:shell", {"team": "ops"}).allowed
    assert gate.decide(EXEC_GET, "app:shell", {"team": "dev"}).allowed


# (pattern, value, matches): the reference's matcher honours a star alone or at the end only.
PATTERN_TABLE: list[tuple[str, str, bool]] = [
    ("*", "anything at all", True),
    ("*", "", True),
    ("exec.*", "exec.get", True),
    ("exec.*", "exec.", True),
    ("exec.*", "exec", False),
    ("app:*", "app:shell", True),
    ("app:*", "other:app:shell", False),
    ("ls *", "ls -la", True),
    ("ls *", "ls", False),
    ("uname -a", "uname -a", True),
    ("uname -a", "uname  -a", False),
    ("uname -a", "uname -a ", False),
    ("*.get", "exec.get", False),
    ("*.get", "*.get", True),
    ("app:*:x", "app:shell:x", False),
    ("a**", "a*b", True),
    ("a**", "ab", False),
]


@pytest.mark.parametrize(("pattern", "value", "expected"), PATTERN_TABLE)
def test_patterns(pattern: str, value: str, expected: bool) -> None:
    assert pattern_matches(pattern, value) is expected


@pytest.mark.parametrize(("actions", "resources", "action", "resource", "expected"), [
    ("*", "*", EXEC_RUN, "rm -rf /", True),
    ("exec.get", "app:*", EXEC_GET, "app:shell", True),
    ("exec.get", "app:*", EXEC_RUN, "app:shell", False),
    (["exec.run", "exec.get"], ["echo *", "uname -a"], EXEC_RUN, "uname -a", True),
    (["exec.run"], ["echo *"], EXEC_RUN, "echo", False),
    ("*.run", "*", EXEC_RUN, "echo hi", False),
])
def test_actions_and_resources_are_patterns(tmp_path: Path, actions: Any, resources: Any, action: str,
                                            resource: str, expected: bool) -> None:
    result = load(tmp_path, policy("p", actions=actions, resources=resources))
    assert Gate(access(), result.policies).decide(action, resource).allowed is expected


def test_a_matching_deny_wins_over_a_matching_allow_whatever_the_order(tmp_path: Path) -> None:
    deny = policy("d", "deny", resources="rm *")
    orders = ([policy("a"), deny], [deny, policy("a")])
    for number, order in enumerate(orders):
        result = load(tmp_path / str(number), *order)
        gate = Gate(access(), result.policies)
        decision = gate.decide(EXEC_RUN, "rm -rf /")
        assert not decision.allowed and decision.policy is not None and decision.policy.id == "app:d"
        assert decision.explain() == "denied by app:d"
        assert gate.decide(EXEC_RUN, "ls").allowed


def test_an_allow_is_needed_and_nothing_matched_denies(tmp_path: Path) -> None:
    result = load(tmp_path, policy("only_get", actions="exec.get"))
    gate = Gate(access(), result.policies)
    decision = gate.decide(EXEC_RUN, "ls")
    assert not decision.allowed and decision.policy is None
    assert decision.explain() == "no policy allows it"
    allowed = gate.decide(EXEC_GET, "app:shell")
    assert allowed.allowed and allowed.explain() == "allowed by app:only_get"


def test_a_deny_whose_condition_fails_does_not_apply(tmp_path: Path) -> None:
    visitor = {"field": "actor.id", "operator": "matches", "value": "^visitor:"}
    deny = policy("no_visitors", "deny", conditions=[visitor])
    result = load(tmp_path, policy("all"), deny)
    assert Gate(access("user:alice"), result.policies).decide(EXEC_GET, "app:shell").allowed
    assert not Gate(access("visitor:1"), result.policies).decide(EXEC_GET, "app:shell").allowed


def test_only_the_policies_of_the_scope_groups_apply(tmp_path: Path) -> None:
    result = load(tmp_path, policy("ops_only", groups=["ops"]), policy("both", "deny", resources="rm *",
                                                                         groups=["ops", "demo"]))
    assert not Gate(access(scope=("demo",)), result.policies).decide(EXEC_GET, "app:shell").allowed
    ops = Gate(access(scope=("ops",)), result.policies)
    assert ops.decide(EXEC_GET, "app:shell").allowed
    assert not ops.decide(EXEC_RUN, "rm -rf /").allowed
    assert Gate(access(scope=("demo", "ops")), result.policies).decide(EXEC_GET, "app:shell").allowed


def test_the_first_matching_allow_is_the_one_named(tmp_path: Path) -> None:
    result = load(tmp_path, policy("first", resources="app:*"), policy("second"))
    assert Gate(access(), result.policies).decide(EXEC_GET, "app:shell").explain() == "allowed by app:first"


# (actor, scope, strict, allowed): with no actor or no scope, strict mode alone decides.
STRICT_TABLE: list[tuple[str | None, tuple[str, ...], bool, bool]] = [
    (None, (), False, True),
    ("user:alice", (), False, True),
    (None, ("g",), False, True),
    (None, (), True, False),
    ("user:alice", (), True, False),
    (None, ("g",), True, False),
    ("user:alice", ("g",), True, False),     # the rules apply: nothing allows it
    ("user:alice", ("g",), False, False),
]


@pytest.mark.parametrize(("actor", "scope", "strict", "expected"), STRICT_TABLE)
def test_strict_mode_with_and_without_an_actor_or_a_scope(
    tmp_path: Path, actor: str | None, scope: tuple[str, ...], strict: bool, expected: bool
) -> None:
    result = load(tmp_path, policy("deny_all", "deny"))
    gate = Gate(access(actor, scope, strict=strict), result.policies)
    decision = gate.decide(EXEC_GET, "app:shell")
    assert decision.allowed is expected
    if actor is None or not scope:
        assert decision.policy is None
        assert decision.reason == ("no actor or scope: policies do not apply" if not strict
                                   else f"strict mode and {'no actor' if actor is None else 'no scope'}")


def test_an_unrestricted_gate_never_looks_at_a_policy(tmp_path: Path) -> None:
    result = load(tmp_path, policy("deny_all", "deny"))
    gate = Gate(None, result.policies)
    assert gate.unrestricted
    gate.require(EXEC_GET, "app:shell")  # does not raise
    gate.require(EXEC_RUN, "rm -rf /")


def test_kept_decisions_still_follow_the_executor_meta_the_conditions_read(tmp_path: Path) -> None:
    same_team = policy("p", conditions=[{"field": "meta.team", "operator": "eq", "value": "ops"}])
    listed = policy("q", conditions=[{"field": "meta.teams", "operator": "contains", "value": "ops"}])
    for number, rule in enumerate((same_team, listed)):
        gate = Gate(access(), load(tmp_path / str(number), rule).policies)
        for _ in range(2):  # the second round comes from what the gate kept
            assert gate.decide(EXEC_RUN, "ls", {"team": "ops", "teams": ["ops"]}).allowed
            assert not gate.decide(EXEC_RUN, "ls", {"team": "dev", "teams": ["dev"]}).allowed
            assert not gate.decide(EXEC_RUN, "ls", {}).allowed
