"""The two checks in the engine: ``Engine.get`` asks ``exec.get``, ``Executor.exec`` asks ``exec.run``,
first, before anything is looked up or created; a denial is the reference's error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.policy.support import FREE, SHELL, access, engine, load, policy
from tui.core.engine import Engine
from tui.core.errors import ErrorKind, ExecError
from tui.core.policy import PermissionDenied
from tui.core.process import Process

ENTRIES = Path(__file__).resolve().parent / "entries"


@pytest.fixture
def ops_engine(tmp_path: Path) -> Engine:
    result = load(tmp_path, SHELL, FREE, policy("get_shell", actions="exec.get", resources="app:shell"),
                  policy("run_echo", actions="exec.run", resources="echo *"),
                  policy("no_rm", "deny", actions="exec.run", resources="rm *"))
    return engine(result, access())


def test_a_get_denial_is_the_reference_s_error(ops_engine: Engine) -> None:
    with pytest.raises(ExecError) as caught:
        ops_engine.get("app:free")
    err = caught.value
    assert isinstance(err, PermissionDenied)
    assert (err.kind, err.message, err.retryable) == (ErrorKind.INVALID, "permission denied: access executor", False)
    assert dict(err.details) == {"action": "exec.get", "resource": "app:free", "policy": ""}
    assert err.explain() == 'permission denied: exec.get "app:free" for user:alice: no policy allows it'


def test_a_run_denial_is_the_reference_s_error_and_names_the_deciding_policy(ops_engine: Engine) -> None:
    shell = ops_engine.get("app:shell")
    with pytest.raises(PermissionDenied) as caught:
        shell.exec("rm -rf /tmp/x")
    err = caught.value
    assert (err.kind, err.message, err.retryable) == (ErrorKind.INVALID, "permission denied: execute command", False)
    assert err.details["policy"] == "app:no_rm"
    assert err.explain() == 'permission denied: exec.run "rm -rf /tmp/x" for user:alice: denied by app:no_rm'


def test_the_get_check_comes_before_the_lookup_so_unknown_ids_are_not_revealed(ops_engine: Engine) -> None:
    with pytest.raises(PermissionDenied):
        ops_engine.get("app:does_not_exist")
    with pytest.raises(ExecError, match=r"^resource id is required$"):
        ops_engine.get("")


def test_an_allowed_unknown_id_is_still_not_found(tmp_path: Path) -> None:
    result = load(tmp_path, SHELL, policy("all"))
    with pytest.raises(ExecError, match=r"^resource not found$"):
        engine(result, access()).get("app:nope")


def test_the_run_check_comes_before_released_empty_and_whitelist(ops_engine: Engine) -> None:
    shell = ops_engine.get("app:shell")
    with pytest.raises(PermissionDenied):
        shell.exec("")
    with pytest.raises(ExecError, match=r"^command not allowed: echo nope$"):
        shell.exec("echo nope")  # allowed by the policy, refused by the whitelist: a policy only narrows
    shell.release()
    with pytest.raises(PermissionDenied):
        shell.exec("uname -a")
    with pytest.raises(ExecError, match=r"^executor is released$"):
        shell.exec("echo hi")


def test_a_denied_run_creates_nothing(ops_engine: Engine) -> None:
    seen: list[Process] = []
    ops_engine.add_listener(seen.append)
    with pytest.raises(PermissionDenied):
        ops_engine.get("app:shell").exec("uname -a")
    assert seen == [] and ops_engine.processes == []


def test_an_allowed_run_runs(ops_engine: Engine) -> None:
    process = ops_engine.get("app:shell").exec("echo hi")
    try:
        process.start()
        assert process.wait().code == 0
    finally:
        ops_engine.shutdown()


def test_with_no_actor_and_no_scope_nothing_is_checked(tmp_path: Path) -> None:
    result = load(tmp_path, SHELL, FREE, policy("deny_all", "deny"))
    open_engine = Engine(result)
    assert open_engine.gate.unrestricted
    process = open_engine.get("app:free").exec("true")
    process.close()


def test_a_reload_brings_the_new_policies(tmp_path: Path) -> None:
    first = load(tmp_path / "one", SHELL, policy("all"))
    second = load(tmp_path / "two", SHELL, policy("none", "deny"))
    eng = engine(first, access())
    eng.get("app:shell").release()
    eng.reload(second)
    with pytest.raises(PermissionDenied):
        eng.get("app:shell")


def test_the_status_of_a_locked_executor_can_still_be_probed(ops_engine: Engine) -> None:
    assert ops_engine.probe("app:free").ready


def test_the_executor_entry_meta_is_meta_in_conditions(tmp_path: Path) -> None:
    same_team = policy("team", conditions=[{"field": "meta.team", "operator": "eq", "value_from": "actor.meta.team"}])
    result = load(tmp_path, SHELL, {**FREE, "meta": {"team": "dev"}}, same_team)
    eng = engine(result, access(meta={"team": "ops"}))
    eng.get("app:shell").exec("echo hi").close()  # exec.run sees the executor's meta too
    with pytest.raises(PermissionDenied):
        eng.get("app:free")
