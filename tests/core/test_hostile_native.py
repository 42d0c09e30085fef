"""Hostile and faulty input on the native side (quality.md kinds 2-5).

Each case gets a clear error or runs correctly, and nothing is left running (the engine fixture
fails the test if any process group of a run survives).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.core.support import EngineFactory, read_all
from tui.core.engine import Engine
from tui.core.errors import ExecError

ALLOWED = "sh -c 'echo allowed'"


@pytest.mark.parametrize(
    "command",
    [
        "sh -c 'echo allowed' ", " sh -c 'echo allowed'", "sh  -c 'echo allowed'", "sh -c 'echo allowed';id",
        "sh -c 'echo allowed' && id", "sh -c 'echo allowed' | id", 'sh -c "echo allowed"',
        "sh -c 'echo allowed'\n", "X=1 sh -c 'echo allowed'", "sh -c 'echo allowed' > /tmp/x",
        "sh -c 'echo allowed; id'", "sh\t-c 'echo allowed'", "sh -c 'echo  allowed'",
    ],
)
def test_near_misses_of_an_allowed_command_never_run(engine_factory: EngineFactory, command: str) -> None:
    engine = engine_factory(command_whitelist=[ALLOWED])
    before = set(engine.processes)
    with pytest.raises(ExecError, match=r"^command not allowed: "):
        engine.get("t:native").exec(command)
    assert set(engine.processes) == before


def test_the_exact_allowed_string_runs(engine_factory: EngineFactory) -> None:
    engine = engine_factory(command_whitelist=[ALLOWED])
    process = engine.get("t:native").exec(ALLOWED)
    out = process.stream("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out) == b"allowed\n"


def test_a_per_call_path_is_only_the_childs_environment(engine: Engine, tmp_path: Path) -> None:
    process = engine.get("t:native").exec("sh -c 'echo $PATH'", env={"PATH": str(tmp_path)})
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert read_all(out) == f"{tmp_path}\n".encode()


def test_the_consoles_secrets_are_not_inherited(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECDECK_TEST_SECRET", "hunter2")
    process = engine.get("t:native").exec("env")
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert b"hunter2" not in read_all(out)


@pytest.mark.parametrize("command", ['echo "unbalanced', "echo 'unbalanced", 'echo ab"cd'])
def test_unbalanced_quotes_run_with_the_quote_kept_as_text(engine: Engine, command: str) -> None:
    process = engine.get("t:native").exec(command)
    out = process.stream("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out).startswith((b'"', b"'"))


def test_a_missing_program_is_a_clear_start_error(engine: Engine) -> None:
    with pytest.raises(ExecError, match=r'^exec: "no-such-tool-42": executable file not found in \$PATH$'):
        engine.get("t:native").exec("no-such-tool-42 --flag").start()


def test_a_program_that_is_not_executable_is_a_clear_start_error(engine: Engine, tmp_path: Path) -> None:
    script = tmp_path / "plain.sh"
    script.write_text("echo never\n")
    with pytest.raises(ExecError, match="Permission denied"):
        engine.get("t:native").exec(str(script)).start()


def test_a_missing_absolute_program_is_a_clear_start_error(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ExecError, match="No such file or directory"):
        engine.get("t:native").exec(str(tmp_path / "ghost")).start()


def test_a_process_ignoring_sigterm_is_killed_by_close_force(engine: Engine) -> None:
    process = engine.get("t:native").exec("""sh -c 'trap "" TERM; echo ready; sleep 100'""")
    out = process.stream("stdout")
    process.start()
    assert out.read(timeout=10) == b"ready\n"
    process.signal(15)
    assert not process.wait_exited(0.2)
    process.close(True)
    assert process.wait_exited(10)
    assert process.exit_status is not None and process.exit_status.signal == 9


def test_children_and_grandchildren_end_with_the_group(engine: Engine) -> None:
    process = engine.get("t:native").exec(
        "sh -c 'sh -c \"sleep 100 & sleep 100 & wait\" & sleep 100 & echo forked; wait'")
    out = process.stream("stdout")
    process.start()
    assert out.read(timeout=10) == b"forked\n"
    process.close(True)
    assert process.wait_exited(10)


def test_a_large_output_streams_through_in_full(engine: Engine) -> None:
    process = engine.get("t:native").exec("head -c 104857600 /dev/zero")
    reader = process.open_reader("stdout")
    process.start()
    total = 0
    while (chunk := reader.read(65536, timeout=30)) is not None:
        assert chunk, "stalled"
        total += len(chunk)
    assert total == 100 * 1024 * 1024
    assert process.wait().code == 0


def test_binary_and_invalid_utf8_output_arrives_byte_for_byte(engine: Engine) -> None:
    process = engine.get("t:native").exec("""sh -c 'printf "\\377\\376\\000\\001\\033[2J\\r\\n"'""")
    out = process.stream("stdout")
    process.start()
    process.wait()
    assert read_all(out) == b"\xff\xfe\x00\x01\x1b[2J\r\n"


def test_a_megabyte_without_a_newline_arrives_whole(engine: Engine) -> None:
    process = engine.get("t:native").exec("sh -c 'head -c 1048576 /dev/zero | tr \"\\0\" x'")
    out = process.stream("stdout")
    process.start()
    data = read_all(out)
    process.wait()
    assert data == b"x" * 1048576


def test_a_process_reading_stdin_forever_is_ended_by_close(engine: Engine) -> None:
    process = engine.get("t:native").exec("cat")
    process.start()
    process.write_stdin(b"some input\n")
    process.close()
    assert process.wait_exited(10)
    assert process.exit_status is not None and process.exit_status.signal == 15


def test_writing_to_a_process_that_closed_its_input_is_a_clear_error(engine: Engine) -> None:
    process = engine.get("t:native").exec("sh -c 'exec 0<&-; sleep 5'")
    process.start()
    with pytest.raises(ExecError, match="closed its input"):
        for _ in range(100):
            process.write_stdin(b"x" * 65536)
    process.close(True)


def test_a_large_stdin_write_is_delivered_in_full(engine: Engine) -> None:
    process = engine.get("t:native").exec("wc -c")
    out = process.stream("stdout")
    process.start()
    payload = os.urandom(3 * 1024 * 1024)
    process.write_stdin(payload)
    process.write_stdin(b"")
    assert read_all(out).strip() == str(len(payload)).encode()
    process.wait()
