"""``security.policy`` entries as the loader reads them: what loads, and every fault reported as a problem
with file, line, entry id and field (never a silent skip, never a stop for the other entries)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from tests.policy.support import FREE, SHELL, load, policy, write
from tui.core.entries import LoadResult, load_entries


def load_text(tmp_path: Path, body: str) -> LoadResult:
    (tmp_path / "p.yaml").write_text('version: "1.0"\nnamespace: app\nentries:\n' + dedent(body))
    return load_entries([tmp_path / "p.yaml"])


def problems(result: LoadResult) -> list[tuple[int, str, str, str]]:
    return [(p.location.line, p.entry_id, p.field, p.severity) for p in result.problems]


def test_a_policy_loads_with_its_fields_and_stays_an_entry(tmp_path: Path) -> None:
    result = load_text(tmp_path, """\
      - name: ops_can_run
        kind: security.policy
        policy:
          actions: ["exec.get", "exec.run"]
          resources: "app:*"
          effect: allow
          conditions:
            - field: actor.meta.role
              operator: eq
              value: ops
        groups: [ops]
    """)
    assert result.problems == ()
    [found] = result.policies
    assert (found.id, found.effect, found.actions, found.resources, found.groups) == (
        "app:ops_can_run", "allow", ("exec.get", "exec.run"), ("app:*",), ("ops",))
    assert found.location.line == 4
    assert [(c.field, c.operator, c.value) for c in found.conditions] == [("actor.meta.role", "eq", "ops")]
    entry = result.get("app:ops_can_run")
    assert entry is not None and not entry.is_executor and entry.kind == "security.policy"


def test_fields_under_data_are_read_too_and_win(tmp_path: Path) -> None:
    result = load_text(tmp_path, """\
      - name: p
        kind: security.policy
        groups: [a]
        data:
          policy: {actions: "*", resources: "*", effect: deny}
          groups: [b]
    """)
    assert result.problems == ()
    assert result.policies[0].effect == "deny" and result.policies[0].groups == ("b",)


def test_a_bad_regular_expression_is_an_error_at_load_time_and_the_policy_is_not_in_force(tmp_path: Path) -> None:
    result = load_text(tmp_path, """\
      - name: bad
        kind: security.policy
        policy:
          actions: "*"
          resources: "*"
          effect: allow
          conditions:
            - {field: resource, operator: matches, value: "(unclosed"}
      - name: good
        kind: security.policy
        policy: {actions: "*", resources: "*", effect: allow}
        groups: [g]
    """)
    [problem] = [p for p in result.problems if p.severity == "error"]
    assert (problem.location.line, problem.entry_id, problem.field) == (11, "app:bad", "policy.conditions[0].value")
    assert "bad regular expression '(unclosed'" in problem.message and "missing )" in problem.message
    assert [p.id for p in result.policies] == ["app:good"]


def test_look_around_is_refused_as_the_reference_s_go_regexp_refuses_it(tmp_path: Path) -> None:
    result = load(tmp_path, policy("p", conditions=[{"field": "resource", "operator": "matches", "value": "a(?!b)"}]))
    assert [p.field for p in result.errors] == ["policy.conditions[0].value"]
    assert result.policies == ()


def test_an_expression_policy_is_reported_never_ignored_and_the_other_entries_load(tmp_path: Path) -> None:
    result = load_text(tmp_path, """\
      - name: shell
        kind: exec.native
      - name: expr
        kind: security.policy.expr
        policy: {expression: "actor.id == 'x'"}
        groups: [g]
      - name: plain
        kind: security.policy
        policy: {actions: "*", resources: "*", effect: allow}
        groups: [g]
    """)
    [problem] = result.problems
    assert (problem.location.line, problem.entry_id, problem.field, problem.severity) == (
        6, "app:expr", "kind", "error")
    assert problem.message == "expression policies are not supported, so this policy is not in force"
    assert [p.id for p in result.policies] == ["app:plain"]
    assert result.get("app:shell") is not None


def test_a_star_the_matcher_never_honours_is_a_warning_naming_file_and_line(tmp_path: Path) -> None:
    result = load_text(tmp_path, """\
      - name: p
        kind: security.policy
        policy:
          actions: ["*.get", "exec.run"]
          resources: ["app:*", "app:*:admin"]
          effect: allow
        groups: [g]
    """)
    assert problems(result) == [(7, "app:p", "policy.actions", "warning"), (8, "app:p", "policy.resources", "warning")]
    assert all("plain character" in p.message and str(tmp_path / "p.yaml") in p.format() for p in result.problems)
    assert [p.id for p in result.policies] == ["app:p"]  # a warning: it loads, and means what it says


def test_a_policy_without_groups_is_a_warning(tmp_path: Path) -> None:
    result = load(tmp_path, policy("p", groups=None))
    assert [(p.field, p.severity) for p in result.problems] == [("groups", "warning")]
    assert "no scope includes this policy" in result.problems[0].message


def test_a_likely_typo_in_an_action_is_a_warning_with_a_hint(tmp_path: Path) -> None:
    result = load(tmp_path, policy("p", actions=["exec.gett", "fs.read"]))
    [problem] = result.problems
    assert problem.field == "policy.actions" and problem.hint == "did you mean 'exec.get'?"


def test_required_parts_and_wrong_types_are_errors(tmp_path: Path) -> None:
    result = load_text(tmp_path, """\
      - name: no_policy
        kind: security.policy
        groups: [g]
      - name: no_actions
        kind: security.policy
        policy: {resources: "*", effect: allow}
        groups: [g]
      - name: bad_effect
        kind: security.policy
        policy: {actions: "*", resources: "*", effect: permit}
        groups: [g]
      - name: number_resource
        kind: security.policy
        policy: {actions: "*", resources: [1], effect: allow}
        groups: [g]
      - name: empty_list
        kind: security.policy
        policy: {actions: [], resources: "*", effect: deny}
        groups: [g]
      - name: typo
        kind: security.policy
        polcy: {actions: "*", resources: "*", effect: deny}
        groups: [g]
    """)
    found = {(p.entry_id, p.field) for p in result.problems if p.severity == "error"}
    assert found == {("app:no_policy", "policy"), ("app:no_actions", "policy.actions"),
                     ("app:bad_effect", "policy.effect"), ("app:number_resource", "policy.resources"),
                     ("app:empty_list", "policy.actions"), ("app:typo", "policy")}
    assert result.policies == ()
    [typo] = [p for p in result.problems if p.field == "polcy"]
    assert typo.severity == "warning" and typo.hint == "did you mean 'policy'?"


def test_bad_conditions_are_errors_with_the_field_at_fault(tmp_path: Path) -> None:
    cases = {
        "unknown_operator": ({"field": "actor.id", "operator": "matchs", "value": "x"}, "did you mean 'matches'?"),
        "unknown_root": ({"field": "user.id", "operator": "eq", "value": "x"}, ""),
        "no_value": ({"field": "actor.id", "operator": "eq"}, ""),
        "exists_with_value": ({"field": "actor.id", "operator": "exists", "value": True}, ""),
        "both": ({"field": "actor.id", "operator": "eq", "value": "x", "value_from": "meta.a"}, "keep one of them"),
        "in_scalar": ({"field": "actor.id", "operator": "in", "value": "x"}, "write a list: [x]"),
        "regex_not_text": ({"field": "actor.id", "operator": "matches", "value": 3}, 'quote it: "3"'),
        "bad_value_from": ({"field": "actor.id", "operator": "eq", "value_from": "somewhere"}, ""),
    }
    result = load(tmp_path, *(policy(name, conditions=[condition]) for name, (condition, _) in cases.items()))
    assert result.policies == ()
    for name, (_, hint) in cases.items():
        mine = [p for p in result.problems if p.entry_id == f"app:{name}" and p.severity == "error"]
        assert mine, name
        assert mine[0].field.startswith("policy.conditions[0]"), (name, mine[0])
        if hint:
            assert mine[0].hint == hint, (name, mine[0])


def test_a_bad_policy_never_stops_the_executors_or_other_files(tmp_path: Path) -> None:
    write(tmp_path, SHELL, FREE, policy("broken", effect="maybe"))
    write(tmp_path, policy("fine"), namespace="other", name="other.yaml")
    result = load_entries([tmp_path])
    assert {e.id for e in result.executors} == {"app:shell", "app:free"}
    assert [p.id for p in result.policies] == ["other:fine"]


def test_of_two_policies_with_one_id_only_the_first_is_in_force(tmp_path: Path) -> None:
    write(tmp_path / "a", policy("p", "allow"))
    write(tmp_path / "b", policy("p", "deny"))
    result = load_entries([tmp_path / "a", tmp_path / "b"])
    assert [p.effect for p in result.policies] == ["allow"]
    assert any("duplicate id 'app:p'" in p.message for p in result.problems)
