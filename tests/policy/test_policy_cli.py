"""``execdeck run`` and ``execdeck check`` with actors: the options before and after the subcommand, their
environment variables, the one-line denial, and the dry run (text and ``--json``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.policy.support import FREE, policy, write

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ENTRIES = str(HERE / "entries")
ACCESS_ENV = ("EXECDECK_ACTOR", "EXECDECK_SCOPE", "EXECDECK_STRICT")


def execdeck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ACCESS_ENV}
    full.update({"EXECDECK_RECORDS": "off", **(env or {})})
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=60,
                          cwd=REPO, env=full, check=False)


def test_a_denied_run_is_one_line_naming_action_resource_and_policy_and_starts_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "touched"
    entries = write(tmp_path / "e", FREE, policy("all"), policy("no_touch", "deny", actions="exec.run",
                                                                resources="touch *"))
    result = execdeck("--actor", "user:alice", "run", "--entries", str(entries), "--scope", "g",
                      "app:free", f"touch {marker}")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f'execdeck: permission denied: exec.run "touch {marker}" for user:alice: denied by ' \
                            "app:no_touch\n"
    assert not marker.exists()


def test_a_run_no_policy_allows_says_so() -> None:
    result = execdeck("run", "--entries", ENTRIES, "--actor", "visitor:1", "--scope", "demo", "app:shell", "id")
    assert result.returncode == 1
    assert result.stderr == 'execdeck: permission denied: exec.run "id" for visitor:1: no policy allows it\n'


def test_a_denied_get_is_one_line_too() -> None:
    result = execdeck("run", "--entries", ENTRIES, "app:free", "echo x", env={"EXECDECK_ACTOR": "visitor:1",
                                                                              "EXECDECK_SCOPE": "demo"})
    assert result.returncode == 1
    assert result.stderr == 'execdeck: permission denied: exec.get "app:free" for visitor:1: no policy allows it\n'


@pytest.mark.parametrize("where", ["before", "after"])
def test_an_allowed_run_runs_with_the_options_before_or_after_the_subcommand(where: str) -> None:
    options = ["--actor", "visitor:1", "--scope", "demo"]
    args = [*options, "run", "--entries", ENTRIES] if where == "before" else ["run", "--entries", ENTRIES, *options]
    result = execdeck(*args, "app:shell", "echo hi")
    assert (result.returncode, result.stdout, result.stderr) == (0, "hi\n", "")


def test_the_flag_wins_over_the_environment() -> None:
    result = execdeck("run", "--entries", ENTRIES, "--actor", "visitor:1", "app:shell", "echo hi",
                      env={"EXECDECK_ACTOR": "nobody", "EXECDECK_SCOPE": "demo"})
    assert result.returncode == 0, result.stderr


def test_actor_meta_values_reach_conditions_with_their_types(tmp_path: Path) -> None:
    senior = policy("senior", conditions=[{"field": "actor.meta.level", "operator": "gte", "value": 3},
                                          {"field": "actor.meta.team.name", "operator": "eq", "value": "007"}])
    entries = str(write(tmp_path, FREE, senior))
    base = ["run", "--entries", entries, "--actor", "user:bob", "--scope", "g"]
    allowed = execdeck(*base, "--actor-meta", "level=3", "--actor-meta", 'team.name="007"', "app:free", "echo ok")
    assert (allowed.returncode, allowed.stdout) == (0, "ok\n"), allowed.stderr
    denied = execdeck(*base, "--actor-meta", "level=2", "--actor-meta", 'team.name="007"', "app:free", "echo ok")
    assert denied.returncode == 1 and "no policy allows it" in denied.stderr


@pytest.mark.parametrize("strict", [["--strict"], []], ids=["flag", "environment"])
def test_strict_mode_without_an_actor_refuses(strict: list[str]) -> None:
    env = {} if strict else {"EXECDECK_STRICT": "1"}
    result = execdeck(*strict, "run", "--entries", ENTRIES, "app:shell", "echo hi", env=env)
    assert result.returncode == 1
    assert result.stderr == 'execdeck: permission denied: exec.get "app:shell": strict mode and no actor\n'


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--actor-meta", "role=ops"], {}, "--actor-meta needs an actor: add --actor ID"),
    (["--actor", "u", "--actor-meta", "role"], {}, "--actor-meta 'role': expected KEY=VALUE"),
    (["--actor", " "], {}, "--actor needs an id, such as user:alice"),
    ([], {"EXECDECK_STRICT": "maybe"}, "EXECDECK_STRICT='maybe': expected 1 or 0"),
])
def test_bad_access_options_are_one_line_and_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    result = execdeck(*args, "run", "--entries", ENTRIES, "app:shell", "echo hi", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"execdeck: {message}\n")


def test_an_actor_without_a_scope_says_that_policies_do_not_apply() -> None:
    result = execdeck("run", "--entries", ENTRIES, "--actor", "visitor:1", "app:free", "echo hi")
    assert result.returncode == 0 and result.stdout == "hi\n"
    assert result.stderr == ("execdeck: --actor without a scope: policies do not apply "
                             "(add --scope GROUP, or --strict to refuse everything)\n")


def test_check_without_an_actor_prints_what_it_always_printed() -> None:
    result = execdeck("check", "--entries", ENTRIES)
    assert (result.returncode, result.stdout) == (0, "1 file(s), 6 entries, 2 executor(s): no problems\n")


def test_check_with_an_actor_is_a_dry_run_of_every_executor_and_whitelisted_command() -> None:
    result = execdeck("check", "--entries", ENTRIES, "--actor", "visitor:1", "--scope", "demo")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["1 file(s), 6 entries, 2 executor(s): no problems", "",
                         "policy dry run for actor visitor:1 · scope demo"]
    table = [line.split() for line in lines[3:]]
    assert [(row[0], row[1]) for row in table] == [("allowed", "get"), ("allowed", "run"), ("allowed", "run"),
                                                   ("denied", "run"), ("denied", "get"), ("-", "run")]
    assert lines[3].endswith("by app:demo_get") and lines[6].endswith("by app:no_rm")
    assert "app:shell › rm -rf /tmp/policy-test-never" in lines[6]
    assert lines[7].endswith("no policy allows it") and "app:free" in lines[7]


def test_check_warns_about_a_scope_no_policy_is_in() -> None:
    result = execdeck("check", "--entries", ENTRIES, "--actor", "visitor:1", "--scope", "dmeo")
    assert "warning: no policy is in group 'dmeo' (did you mean 'demo'?)" in result.stdout.splitlines()


def test_check_json_holds_the_problems_the_access_and_every_decision(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('namespace: b\nentries:\n  - name: x\n    kind: security.policy.expr\n')
    result = execdeck("check", "--json", "--entries", ENTRIES, "--entries", str(bad), "--actor", "user:carol",
                      "--actor-meta", "role=ops", "--scope", "ops")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert [p["id"] for p in report["problems"]] == ["b:x"]
    assert report["access"] == {"actor": "user:carol", "actor_meta": {"role": "ops"}, "scope": ["ops"],
                                "strict": False, "policies_apply": True, "warnings": []}
    decisions = {(d["action"], d["resource"]): (d["allowed"], d["policy"]) for d in report["decisions"]}
    assert decisions[("exec.get", "app:free")] == (True, "app:ops_all")
    assert decisions[("exec.run", "rm -rf /tmp/policy-test-never")] == (False, "app:no_rm")
    assert decisions[("exec.run", "(any command)")] == (None, None)
