"""The real console under tmux, driven by keys and read from the screen, like an operator would.

Starts ``python -m tui`` on the sample entries in a detached tmux session (140 x 45) with HOME and XDG
folders of the test's own, runs a whitelisted command of app:shell, evaluates ``1+1`` in the REPL, quits
(or has its session killed: SIGHUP), and checks that nothing it started is left: no process, no container.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.dockertools import samples_with_test_image
from tui.core.command import tokenize
from tui.core.entries.loader import load_entries
from tui.core.labels import PRODUCT_FILTER

REPO = Path(__file__).resolve().parents[2]
IMAGE = "execdeck-test/busybox:latest"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def docker_ready() -> bool:
    """A daemon answers and has the test image (then the sandbox entry runs a container too)."""
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, timeout=20, check=False)
    return result.returncode == 0


def product_containers() -> set[str]:
    result = subprocess.run(["docker", "ps", "-q", "--filter", f"label={PRODUCT_FILTER}"],
                            capture_output=True, text=True, timeout=20, check=False)
    return set(result.stdout.split())


class Console:
    """One console in one tmux session."""

    def __init__(self, tmp: Path) -> None:
        self.session = f"execdeck-smoke-{uuid.uuid4().hex[:8]}"
        env = {"HOME": tmp / "home", "XDG_CONFIG_HOME": tmp / "config", "XDG_DATA_HOME": tmp / "data",
               "XDG_STATE_HOME": tmp / "state", "XDG_RUNTIME_DIR": tmp / "run"}
        for folder in env.values():
            folder.mkdir(mode=0o700)
        assignments = " ".join(f"{name}={value}" for name, value in env.items())
        # The samples with the tests' own image in the sandbox (theirs may not be on this machine).
        entries = samples_with_test_image(tmp)
        python = f"{sys.executable} -m tui --entries {entries}"
        command = f"cd {REPO} && exec env {assignments} TERM=xterm-256color {python}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session, "-x", "140", "-y", "45", command], check=True)
        # A detached session takes the size of the last client otherwise.
        self.tmux("set-option", "-t", self.session, "window-size", "manual")
        self.tmux("resize-window", "-t", self.session, "-x", "140", "-y", "45")
        self.pid = int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").strip())

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False, timeout=10).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)
            time.sleep(0.15)  # an operator's pace: each key reaches the app before the next

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen}")
            time.sleep(0.1)

    def children(self) -> set[int]:
        """Processes the console started (its direct children: each run is the leader of its group)."""
        found: set[int] = set()
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            try:
                found |= {int(p) for p in (task / "children").read_text().split()}
            except OSError:
                continue
        return found

    def alive(self) -> bool:
        return Path(f"/proc/{self.pid}").exists() and "zombie" not in _state(self.pid)

    def kill_session(self) -> None:
        self.tmux("kill-session", "-t", self.session)


def _state(pid: int) -> str:
    try:
        return "zombie" if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z" else "alive"
    except OSError:
        return "gone"


def wait_gone(pids: set[int], timeout: float = 15.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = {pid for pid in pids if _state(pid) == "alive"}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    started = Console(tmp_path)
    try:
        started.wait_for(lambda s: "shell  native" in s and "ready" in s, "the executors")
        yield started
    finally:
        started.kill_session()


def run_from_picker(console: Console, executor: str, command: str) -> None:
    """Select ``executor`` through the palette, open the picker, choose ``command``, run it."""
    console.keys("C-p")
    console.wait_for(lambda s: "🔎" in s, "the palette")
    console.type(f"Executor: {executor}")
    console.wait_for(lambda s: f"Executor: {executor}" in s.split("🔎", 1)[1], "the executor in the palette")
    console.keys("Enter")
    console.wait_for(lambda s: "🔎" not in s, "the palette to close")
    console.keys("Enter")
    console.wait_for(lambda s: "Allowed commands" in s, "the picker")
    entry = load_entries([REPO / "sample_entries"]).get(executor)
    assert entry is not None
    console.keys(*["Down"] * entry.whitelist.index(command))
    console.wait_for(lambda s: "argv  ‹" + "› ‹".join(tokenize(command)) + "›" in s, f"the argv of {command}")
    console.keys("Enter")
    console.wait_for(lambda s: "Allowed commands" not in s, "the dialog to close")


def start_long_runs(console: Console, with_docker: bool) -> tuple[set[int], set[str]]:
    before = product_containers() if with_docker else set()
    run_from_picker(console, "app:shell", "sleep 30")
    console.wait_for(lambda s: "▶ app:shell: sleep 30" in s and "running" in s, "sleep to run")
    if with_docker:
        run_from_picker(console, "app:sandbox", "sleep 30")
        console.wait_for(lambda s: "▶ app:sandbox: sleep 30" in s, "the container to run", 60)
    children = console.children()
    assert children, "the console's runs are its children"
    containers = product_containers() - before if with_docker else set()
    if with_docker:
        assert containers, "the sandbox run is a container"
    return children, containers


def test_a_whitelisted_command_the_repl_and_quit_leave_nothing_behind(console: Console) -> None:
    run_from_picker(console, "app:shell", "echo hello world")
    screen = console.wait_for(lambda s: "exited 0" in s, "echo to end")
    assert any(line.strip() == "hello world" for line in screen.splitlines()), screen

    with_docker = docker_ready()
    children, containers = start_long_runs(console, with_docker)

    console.keys("F3")
    console.wait_for(lambda s: "lua>" in s and "sandbox" in s, "the REPL")
    console.type("1+1")
    console.keys("Enter")
    screen = console.wait_for(lambda s: any(line.strip() == "2" for line in s.splitlines()), "the value 2")
    assert "lua> 1+1" in screen

    console.keys("C-q")
    console.wait_for(lambda s: "Stop and quit" in s, "the quit question")
    console.keys("y")
    deadline = time.monotonic() + 20
    while console.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not console.alive(), "the console exited"
    assert not wait_gone(children), "no run of the console is left"
    if with_docker:
        assert not (containers & product_containers()), "no container of the console is left"


def test_killing_the_tmux_session_during_runs_ends_them_sighup(console: Console) -> None:
    with_docker = docker_ready()
    children, containers = start_long_runs(console, with_docker)
    console.kill_session()  # the terminal goes away: SIGHUP
    deadline = time.monotonic() + 20
    while console.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not console.alive(), "the console ended on SIGHUP"
    assert not wait_gone(children), "no run of the console is left"
    if with_docker:
        assert not (containers & product_containers()), "no container of the console is left"


def test_sigterm_to_the_console_ends_its_runs(console: Console) -> None:
    children, _ = start_long_runs(console, False)
    os.kill(console.pid, 15)
    deadline = time.monotonic() + 20
    while console.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not console.alive(), "the console ended on SIGTERM"
    assert not wait_gone(children), "no run of the console is left"


def test_a_repl_chunk_stuck_in_a_c_function_is_cancelled_and_quitting_while_stuck_exits(console: Console) -> None:
    stuck = 'string.rep("a", 20000):find(".-.-.-.-b")'
    console.keys("F3")
    console.wait_for(lambda s: "lua>" in s and "sandbox" in s, "the REPL")
    console.type(stuck)
    console.keys("Enter")
    console.wait_for(lambda s: "running…" in s, "the chunk to run")
    console.keys("C-c")
    console.wait_for(lambda s: "did not stop" in s and "ready" in s, "the stuck chunk to be ended")
    console.type(stuck)
    console.keys("Enter")
    console.wait_for(lambda s: "running…" in s, "the second chunk to run")
    children = console.children()
    assert children, "the REPL's Lua runtime is a child of the console"
    console.keys("C-q")
    deadline = time.monotonic() + 20
    while console.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not console.alive(), "the console exited while a chunk was stuck"
    assert not wait_gone(children), "the stuck Lua runtime outlived the console"
