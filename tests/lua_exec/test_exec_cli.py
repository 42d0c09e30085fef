"""`execdeck lua FILE [ARG ...]` as a real subprocess: exit codes, stdout and stderr, signals, clean-up."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import docker
import pytest

from tests.lua_exec.conftest import REPO, STUCK_IN_C, execdeck_lua, run_lua, wait_no_marked
from tui.core.labels import LABEL_ENTRY, PRODUCT_FILTER


def _script(tmp_path: Path, text: str, name: str = "script.lua") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_success_exits_0_and_print_is_byte_exact(tmp_path: Path) -> None:
    script = _script(tmp_path, 'print("\\255\\0ok", 1, nil) print(arg[0] == ..., arg[1], arg[2], select("#", ...))')
    result = run_lua(script, "one", "two words")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"\xff\x00ok\t1\tnil\n" + b"false\tone\ttwo words\t2\n"
    assert result.stderr == b""


def test_arg_is_set_as_the_standalone_interpreter_sets_it(tmp_path: Path) -> None:
    script = _script(tmp_path, "print(arg[-2], arg[-1], arg[0], arg[1], ...)")
    result = run_lua(script, "x")
    assert result.stdout.decode() == f"execdeck\tlua\t{script}\tx\tx\n"


def test_a_raising_script_exits_1_with_the_lua_message_and_traceback(tmp_path: Path) -> None:
    # Run from the script's folder: Lua shortens long chunk names (LUA_IDSIZE) as the standalone lua does.
    _script(tmp_path, 'local function inner()\n  error("boom")\nend\ninner()\n')
    result = run_lua("script.lua", cwd=tmp_path)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert err.startswith("execdeck lua: script.lua:2: boom\nstack traceback:")
    assert "script.lua:2: in local 'inner'" in err and "script.lua:4: in main chunk" in err
    assert "Traceback (most recent call last)" not in err and ".py" not in err


def test_an_error_object_raised_shows_its_message(tmp_path: Path) -> None:
    script = _script(tmp_path, 'local exec = require("exec")\nlocal _, err = exec.get("t:nope")\nerror(err)\n')
    result = run_lua(script)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("execdeck lua: resource not found\nstack traceback:")


def test_a_syntax_error_exits_1(tmp_path: Path) -> None:
    _script(tmp_path, "x = = 1\n")
    result = run_lua("script.lua", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode() == "execdeck lua: script.lua:1: unexpected symbol near '='\n"


def test_a_missing_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run_lua(tmp_path / "nope.lua")
    assert result.returncode == 1
    assert result.stderr.decode() == f"execdeck: cannot open {tmp_path / 'nope.lua'}: No such file or directory\n"
    folder = run_lua(tmp_path)
    assert folder.returncode == 1 and folder.stderr.decode().count("\n") == 1


def test_no_file_is_a_usage_error() -> None:
    result = subprocess.run(
        [*execdeck_lua("x")[:-1]], cwd=REPO, capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 2 and b"usage:" in result.stderr


def test_processes_left_running_are_ended_at_script_end(tmp_path: Path) -> None:
    script = _script(tmp_path, (
        'local exec = require("exec")\n'
        'local ex = exec.get("t:native")\n'
        'local p = ex:exec("sleep 30.0421") p:start()\n'
        'local q = ex:exec("sh -c \'sleep 31.0421 & wait\'") q:start()\n'
        'local never = ex:exec("sleep 32.0421")\n'
    ))
    result = run_lua(script)
    assert result.returncode == 0, result.stderr
    assert wait_no_marked(deadline=0.5) == []


def _start_blocked(script: Path) -> subprocess.Popen[bytes]:
    """Start `execdeck lua` on a script that prints `started` then blocks; wait for that line."""
    proc = subprocess.Popen(execdeck_lua(script), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    if line != [b"started\n"]:
        proc.kill()
        proc.wait()
        pytest.fail(f"the script did not start: {line} {proc.stderr.read() if proc.stderr else b''!r}")
    return proc


BLOCKED_NATIVE = (
    'local exec = require("exec")\n'
    'local p = exec.get("t:native"):exec("sh -c \'sleep 33.0421 & sleep 34.0421\'")\n'
    'p:start()\nprint("started")\nprint(p:wait())\n'
)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_a_signal_cancels_the_script_and_ends_its_processes(tmp_path: Path, signum: int, code: int) -> None:
    proc = _start_blocked(_script(tmp_path, BLOCKED_NATIVE))
    os.kill(proc.pid, signum)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == code, err
    assert out == b"", "the script went on after the signal"
    assert b"Traceback" not in err
    assert wait_no_marked(deadline=0.5) == []


def test_a_burst_of_ctrl_c_ends_the_script_cleanly(tmp_path: Path) -> None:
    # Signals landing during the clean-up must not cut it short or end in a KeyboardInterrupt.
    proc = _start_blocked(_script(tmp_path, BLOCKED_NATIVE))
    try:
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            for _ in range(200):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.2)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 130, err
        assert out == b"", "the script went on after the signal"
        assert b"Traceback" not in err
        assert wait_no_marked(deadline=0.5) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.docker
def test_sigterm_ends_the_scripts_containers(tmp_path: Path, docker_engine: docker.APIClient, test_image: str) -> None:
    def ours() -> set[str]:
        found = docker_engine.containers(all=True, filters={"label": PRODUCT_FILTER})
        return {c["Id"] for c in found if c.get("Labels", {}).get(LABEL_ENTRY) == "d:box"}

    before = ours()
    script = _script(tmp_path, (
        'local exec = require("exec")\n'
        'local p = exec.get("d:box"):exec("sleep 60")\n'
        'p:start()\nprint("started")\nprint(p:wait())\n'
    ))
    proc = _start_blocked(script)
    assert ours() - before, "no container is running"
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert ours() - before == set()


@pytest.mark.parametrize("stuck", list(STUCK_IN_C), ids=list(STUCK_IN_C))
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_a_script_stuck_inside_a_c_function(
    tmp_path: Path, stuck: str, signum: int, code: int
) -> None:
    script = _script(tmp_path, (
        'local exec = require("exec")\n'
        'local p = exec.get("t:native"):exec("sleep 35.0421") p:start()\n'
        f'print("started")\n{STUCK_IN_C[stuck]}\nprint("went on")\n'
    ))
    proc = _start_blocked(script)
    try:
        os.kill(proc.pid, signum)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == code, err
        assert out == b"", "the script went on after the signal"
        assert b"Traceback" not in err
        assert wait_no_marked(deadline=5) == [], "the script's process outlived it"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_line_printed_just_before_a_stuck_c_call_is_not_lost(tmp_path: Path) -> None:
    script = _script(tmp_path, f'print("started")\nprint("last words")\n{STUCK_IN_C["find"]}\n')
    proc = _start_blocked(script)
    try:
        assert proc.stdout is not None
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(30)
        assert line == [b"last words\n"]
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=20)
        assert proc.returncode == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
