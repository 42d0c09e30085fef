"""tui.core.executors.spawn: the fast start (``_posixsubprocess.fork_exec`` on CPython 3.11) and its
fallback (``subprocess.Popen``) start the same process and report the same ends and failures. Real
processes; each test runs on both paths."""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.executors import spawn as spawn_module
from tui.core.executors.spawn import Child, spawn


@pytest.fixture(params=[True, False], ids=["fork_exec", "Popen"])
def fast(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    if request.param and not spawn_module.FAST:
        pytest.skip("fork_exec is used on CPython 3.11 on Linux only")
    monkeypatch.setattr(spawn_module, "FAST", request.param)
    yield request.param


def run(argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
        stdin: bytes = b"") -> tuple[Child, bytes, bytes]:
    """Start ``argv`` with pipes for its three streams; its output once it ended."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        child = spawn(argv[0], argv, env if env is not None else {"PATH": "/usr/bin:/bin"}, cwd,
                      in_r, out_w, err_w)
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    os.write(in_w, stdin)
    os.close(in_w)
    outputs = []
    for fd in (out_r, err_r):
        data = b""
        while chunk := os.read(fd, 65536):
            data += chunk
        os.close(fd)
        outputs.append(data)
    child.wait()
    return child, outputs[0], outputs[1]


def test_streams_env_work_dir_and_exit_code(fast: bool, tmp_path: Path) -> None:
    child, out, err = run(["/bin/sh", "-c", 'cat; echo "$A|$(pwd)"; env | sort; echo oops >&2; exit 7'],
                          env={"A": "1", "B": "two words"}, cwd=str(tmp_path), stdin=b"in\n")
    assert child.returncode == 7 and child.poll() == 7
    lines = out.decode().splitlines()
    assert lines[:2] == ["in", f"1|{tmp_path}"]
    # Exactly the environment given (the shell adds PWD, SHLVL and _ of its own).
    assert {line.split("=", 1)[0] for line in lines[2:]} - {"PWD", "SHLVL", "_"} == {"A", "B"}
    assert err == b"oops\n"


def test_a_new_session_and_no_descriptor_but_the_three(fast: bool) -> None:
    leaked_r, leaked_w = os.pipe()
    os.set_inheritable(leaked_w, True)  # inheritable, as a parent's descriptor may be: closed all the same
    try:
        child, out, _ = run(["/bin/sh", "-c", "ps -o sid= -p $$; echo $$; ls /proc/$$/fd"])
    finally:
        os.close(leaked_r)
        os.close(leaked_w)
    sid, pid, *fds = out.decode().split()
    assert int(sid) == int(pid) == child.pid  # the leader of its own session
    assert sorted(int(fd) for fd in fds) == [0, 1, 2]


def test_death_by_signal_is_minus_the_signal(fast: bool) -> None:
    in_r, in_w = os.pipe()
    child = spawn("/bin/sleep", ["/bin/sleep", "30"], {}, None, in_r, in_w, in_w)
    os.close(in_r)
    os.close(in_w)
    assert child.poll() is None
    child.send_signal(signal.SIGTERM)
    assert child.wait() == -signal.SIGTERM
    child.send_signal(signal.SIGTERM)  # ended: nothing is sent, nothing raised


@pytest.mark.parametrize(("make", "code"), [
    (lambda p: p.write_text("not a program\x00\x01"), "ENOEXEC"),  # executable, but no format the kernel runs
    (lambda p: None, "ENOENT"),
], ids=["not a program", "missing"])
def test_a_failed_exec_raises_the_childs_errno(fast: bool, tmp_path: Path, make: object, code: str) -> None:
    program = tmp_path / "prog"
    make(program)  # type: ignore[operator]
    if program.exists():
        program.chmod(0o755)
    r, w = os.pipe()
    try:
        with pytest.raises(OSError) as raised:
            spawn(str(program), [str(program)], {}, None, r, w, w)
    finally:
        os.close(r)
        os.close(w)
    assert raised.value.errno == getattr(errno, code)
    assert raised.value.strerror == os.strerror(getattr(errno, code))


def test_a_variable_name_with_an_equals_sign_is_refused(fast: bool) -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(ValueError, match="illegal environment variable name"):
            spawn("/bin/true", ["/bin/true"], {"A=B": "1"}, None, r, w, w)
    finally:
        os.close(r)
        os.close(w)
