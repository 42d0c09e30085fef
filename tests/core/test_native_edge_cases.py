"""Edge cases E1-E21 of executors.md section 8 that concern native executors and processes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.core.support import EngineFactory, assert_no_group_survives, read_all, seq_output
from tui.core.engine import Engine
from tui.core.errors import ErrorKind, ExecError


def test_e1_an_empty_command_is_refused_at_create(engine: Engine) -> None:
    with pytest.raises(ExecError) as caught:
        engine.get("t:native").exec("")
    assert (caught.value.kind, caught.value.message) == (ErrorKind.INVALID, "command is required")


def test_e2_a_command_of_spaces_only_fails_at_start_with_no_command(engine: Engine) -> None:
    process = engine.get("t:native").exec("   ")
    with pytest.raises(ExecError) as caught:
        process.start()
    assert (caught.value.kind, caught.value.message) == (ErrorKind.INTERNAL, "exec: no command")


def test_e4_a_whitelist_refuses_a_command_with_two_spaces(engine_factory: EngineFactory) -> None:
    engine = engine_factory(command_whitelist=["ls -l"])
    with pytest.raises(ExecError) as caught:
        engine.get("t:native").exec("ls  -l")
    assert caught.value.message == "command not allowed: ls  -l"
    assert engine.get("t:native").exec("ls -l").spec.argv == ("ls", "-l")


def test_e5_with_no_env_configured_the_child_sees_no_home(engine: Engine) -> None:
    process = engine.get("t:native").exec("""sh -c 'echo "[$HOME]"'""")
    out = process.stream("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out) == b"[]\n"


def test_with_neither_env_configured_the_environment_is_empty(engine: Engine) -> None:
    process = engine.get("t:native").exec("env")
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert read_all(out) == b""


def test_e6_a_per_call_env_value_wins_over_the_default(engine_factory: EngineFactory) -> None:
    engine = engine_factory(default_env={"A": "1", "B": "b"})
    process = engine.get("t:native").exec("""sh -c 'echo $A$B'""", env={"A": "2"})
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert read_all(out) == b"2b\n"


def test_e7_the_program_is_looked_up_on_the_consoles_path_not_the_childs(
    engine_factory: EngineFactory, tmp_path: Path
) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho tool\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    engine = engine_factory(default_env={"PATH": str(tmp_path)})
    process = engine.get("t:native").exec("tool")
    with pytest.raises(ExecError) as caught:
        process.start()
    assert caught.value.message == 'exec: "tool": executable file not found in $PATH'


def test_a_per_call_path_cannot_choose_which_binary_a_whitelisted_command_runs(
    engine_factory: EngineFactory, tmp_path: Path
) -> None:
    fake = tmp_path / "id"
    fake.write_text("#!/bin/sh\necho hijacked\n")
    fake.chmod(0o755)
    engine = engine_factory(command_whitelist=["id -u"])
    process = engine.get("t:native").exec("id -u", env={"PATH": str(tmp_path)})
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert read_all(out).strip().isdigit()


def test_e8_a_missing_work_dir_fails_start_naming_it(engine_factory: EngineFactory, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    engine = engine_factory(default_work_dir=str(missing))
    with pytest.raises(ExecError, match=str(missing)):
        engine.get("t:native").exec("true").start()


def test_a_work_dir_that_is_a_file_fails_start_naming_it(engine: Engine, tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ExecError, match=f"{afile} is not a directory"):
        engine.get("t:native").exec("true", work_dir=str(afile)).start()


def test_the_per_call_work_dir_wins_and_is_cleaned(engine_factory: EngineFactory, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    engine = engine_factory(default_work_dir="/")
    process = engine.get("t:native").exec("pwd", work_dir=f"{tmp_path}/a/../a/./")
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert read_all(out) == f"{tmp_path}/a\n".encode()


def test_a_relative_program_path_resolves_against_the_work_dir(engine: Engine, tmp_path: Path) -> None:
    script = tmp_path / "bin" / "hello"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho hi from $0\n")
    script.chmod(0o755)
    process = engine.get("t:native").exec("./bin/hello", work_dir=str(tmp_path))
    out = process.stream("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out).startswith(b"hi from")


def test_e9_starting_twice_is_invalid(engine: Engine) -> None:
    process = engine.get("t:native").exec("true")
    process.start()
    with pytest.raises(ExecError) as caught:
        process.start()
    assert (caught.value.kind, caught.value.message) == (ErrorKind.INVALID, "process already started")
    process.wait()


def test_starting_again_after_a_failed_start_is_invalid(engine: Engine) -> None:
    process = engine.get("t:native").exec("no-such-program-xyz")
    with pytest.raises(ExecError):
        process.start()
    with pytest.raises(ExecError, match=r"^process already started$"):
        process.start()
    for call in (lambda: process.signal(15), lambda: process.write_stdin(b"x"), process.wait):
        with pytest.raises(ExecError) as caught:
            call()
        assert (caught.value.kind, caught.value.message) == (ErrorKind.INTERNAL, "process is not running")


def test_e10_wait_before_start_is_invalid(engine: Engine) -> None:
    with pytest.raises(ExecError) as caught:
        engine.get("t:native").exec("true").wait()
    assert (caught.value.kind, caught.value.message) == (
        ErrorKind.INVALID, "process not started: call start() first")


def test_signal_and_stdin_before_start_are_invalid(engine: Engine) -> None:
    process = engine.get("t:native").exec("true")
    for call in (lambda: process.signal(15), lambda: process.write_stdin(b"x")):
        with pytest.raises(ExecError, match=r"^process not started: call start\(\) first$"):
            call()


def test_e11_waiting_twice_is_invalid(engine: Engine) -> None:
    process = engine.get("t:native").exec("true")
    process.start()
    assert process.wait().code == 0
    with pytest.raises(ExecError) as caught:
        process.wait()
    assert (caught.value.kind, caught.value.message) == (ErrorKind.INVALID, "process is closed")


def test_e12_wait_returns_the_exit_code(engine: Engine) -> None:
    process = engine.get("t:native").exec("sh -c 'exit 42'")
    process.start()
    status = process.wait()
    assert (status.code, status.lua_code, status.shell_code) == (42, 42, 42)


def test_e13_a_signalled_process_reports_minus_one_and_keeps_the_signal(engine: Engine) -> None:
    process = engine.get("t:native").exec("sleep 30")
    process.start()
    process.signal(15)
    status = process.wait()
    assert status.lua_code == -1
    assert status.signal == 15
    assert status.shell_code == 143
    assert status.describe() == "killed by SIGTERM"


def test_e15_a_closed_process_refuses_start_signal_and_streams(engine: Engine) -> None:
    process = engine.get("t:native").exec("sleep 30")
    process.close(True)
    process.close(True)  # closed stays closed, no error
    for call in (process.start, lambda: process.signal(9), lambda: process.stream("stdout")):
        with pytest.raises(ExecError) as caught:
            call()
        assert (caught.value.kind, caught.value.message) == (ErrorKind.INVALID, "process is closed")


def test_e16_end_of_input_reaches_cat(engine: Engine) -> None:
    process = engine.get("t:native").exec("cat")
    process.start()
    out = process.stream("stdout")
    process.write_stdin(b"a\n")
    process.write_stdin(b"")
    assert read_all(out) == b"a\n"
    assert process.wait().code == 0


def test_e17_output_read_after_wait_is_complete(engine: Engine) -> None:
    process = engine.get("t:native").exec("seq 1 20000")
    out = process.stream("stdout")
    process.start()
    assert process.wait().code == 0
    expected = seq_output(1, 20000)
    assert read_all(out) == expected


def test_e18_unread_stderr_never_stalls_stdout(engine: Engine) -> None:
    process = engine.get("t:native").exec(
        "sh -c 'head -c 1048576 /dev/zero >&2; echo done'")
    out = process.stream("stdout")
    process.start()
    assert read_all(out) == b"done\n"
    assert process.wait().code == 0


def test_e19_close_force_ends_the_whole_process_group(engine: Engine) -> None:
    process = engine.get("t:native").exec("sh -c 'sleep 100 & wait'")
    process.start()
    pgid = int(process.handle)
    process.close(True)
    assert_no_group_survives([pgid])


def test_e20_a_released_executor_refuses_exec_and_release_stays_true(engine: Engine) -> None:
    executor = engine.get("t:native")
    assert executor.release() is True
    with pytest.raises(ExecError) as caught:
        executor.exec("echo")
    assert (caught.value.kind, caught.value.message) == (ErrorKind.INVALID, "executor is released")
    assert executor.release() is True


@pytest.mark.parametrize("entry_id", ["nonexistent:resource", "shell", "native"])
def test_e21_unknown_ids_are_not_found_and_there_is_no_default_namespace(engine: Engine, entry_id: str) -> None:
    with pytest.raises(ExecError) as caught:
        engine.get(entry_id)
    assert (caught.value.kind, caught.value.message) == (ErrorKind.INTERNAL, "resource not found")
    assert caught.value.details["id"] == entry_id


def test_an_empty_id_is_invalid(engine: Engine) -> None:
    with pytest.raises(ExecError) as caught:
        engine.get("")
    assert (caught.value.kind, caught.value.message) == (ErrorKind.INVALID, "resource id is required")


def test_signalling_a_finished_process_is_an_error(engine: Engine) -> None:
    process = engine.get("t:native").exec("true")
    process.start()
    assert process.wait_exited(10)
    with pytest.raises(ExecError):
        process.backend.send_signal(15)


def test_every_child_leads_its_own_process_group(engine: Engine) -> None:
    process = engine.get("t:native").exec("sleep 30")
    process.start()
    pid = int(process.handle)
    assert os.getpgid(pid) == pid
    assert os.getsid(pid) == pid
    process.close(True)
