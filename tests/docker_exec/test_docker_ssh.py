"""``ssh://`` hosts: another machine's engine through the system's ``ssh``, against a real sshd on loopback
whose logins reach the tests' second daemon. A run goes through ssh whole (attach stream, stdin and its end,
the wait, signals, removal, pull); a failure names the host and what failed; no ssh process outlives the
engine that started it (the ``ssh_host`` fixture checks after every test)."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests import dockertools as dt
from tests.core.support import read_all
from tests.docker_exec.conftest import docker_entry
from tui.core.errors import ExecError
from tui.core.executors.base import PullProgress
from tui.core.executors.docker_ssh import explain
from tui.core.labels import LABEL_RUN

pytestmark = pytest.mark.docker

Maker = Callable[..., Any]


def on_daemon(client: docker.APIClient, run_id: str) -> list[dict[str, Any]]:
    return list(client.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}))


def test_a_run_on_an_ssh_host_streams_takes_stdin_and_signals_on_the_far_engine(
    ssh_host: dt.LoopbackSshd, make_engine: Maker, test_image: str, second_dockerd: dt.SecondDockerd,
    docker_engine: docker.APIClient,
) -> None:
    entry = docker_entry(test_image, host=ssh_host.url(), auto_remove=True)
    engine = make_engine(entry)
    executor = engine.get(entry.id)
    status = executor.probe(10)
    assert status.ready, status
    assert status.engine.startswith("Docker ") and "(API 1." in status.engine

    process = executor.exec("sh -c 'cat; echo to-stderr >&2; seq 1 20000; exit 3'")
    out, err = process.open_reader("stdout"), process.open_reader("stderr")
    process.start()
    process.write_stdin(b"through ssh\n")
    process.write_stdin(b"")  # end of input crosses ssh and the far end's dial-stdio
    assert process.wait().code == 3
    assert read_all(out) == b"through ssh\n" + b"".join(b"%d\n" % i for i in range(1, 20001))
    assert read_all(err) == b"to-stderr\n"

    far = dt.connect(second_dockerd.unix_url)
    try:
        dt.poll_until(lambda: on_daemon(far, process.run_id) == [], 10, "the run's container to be removed")
        sleeper = executor.exec("sleep 100")
        sleeper.start()
        assert [c["State"] for c in on_daemon(far, sleeper.run_id)] == ["running"]
        assert on_daemon(docker_engine, sleeper.run_id) == []
        sleeper.signal(15)
        assert sleeper.wait().code == 143
    finally:
        far.close()
    engine.shutdown(grace=1.0)
    dt.poll_until(lambda: not ssh_host.ssh_clients(), 10, "the engine's ssh processes to end")


@pytest.mark.parametrize("how", ["DOCKER_HOST", "socket path in the URL"])
def test_docker_host_ssh_and_a_socket_path_reach_the_far_engine(
    ssh_host: dt.LoopbackSshd, make_engine: Maker, test_image: str, second_dockerd: dt.SecondDockerd,
    docker_engine: docker.APIClient, monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:
    if how == "DOCKER_HOST":
        monkeypatch.setenv("DOCKER_HOST", ssh_host.url())
        entry = docker_entry(test_image)  # no host: DOCKER_HOST says where
        expected = dt.connect(second_dockerd.unix_url)  # the far end session's DOCKER_HOST
    else:
        # A path names the far end's socket, as for the Docker CLI: here the main daemon's, over the
        # session's DOCKER_HOST (the second daemon).
        main = dt.main_daemon_url()
        if not main.startswith("unix://"):
            pytest.skip(f"the main daemon is not on a unix socket here ({main})")
        entry = docker_entry(test_image, host=ssh_host.url(path=main.removeprefix("unix://")))
        expected = dt.connect(main)
    try:
        process = make_engine(entry).get(entry.id).exec("echo far")
        out = process.open_reader("stdout")
        process.start()
        assert process.wait().code == 0
        assert read_all(out) == b"far\n"
        ran = on_daemon(expected, process.run_id)
        assert len(ran) == 1
        dt.remove_containers(expected, [ran[0]["Id"]])
    finally:
        expected.close()


def test_pull_through_an_ssh_host_reports_progress(
    ssh_host: dt.LoopbackSshd, make_engine: Maker, test_image: str, local_registry: str,
    docker_engine: docker.APIClient, second_dockerd: dt.SecondDockerd,
) -> None:
    image = dt.push_fresh_image(docker_engine, test_image, f"{local_registry}/execdeck-test/over-ssh")
    far = dt.connect(second_dockerd.unix_url)
    try:
        entry = docker_entry(image, host=ssh_host.url())
        engine = make_engine(entry)
        executor = engine.get(entry.id)
        assert not executor.probe(10).ready
        events: list[PullProgress] = []
        assert executor.kind.pull is not None
        executor.kind.pull.run(executor.spec, engine.scope, events.append)
        assert events[-1].done and events[-1].current == events[-1].total > 0
        assert executor.probe(10).ready
        assert dt.inspect_image(far, image)["Id"]
    finally:
        with contextlib.suppress(docker.errors.APIError):
            far.remove_image(image)
        far.close()


@pytest.mark.parametrize(
    ("machine", "path", "what_failed"),
    [
        ("no-sshd", "", r"ssh: could not reach the machine \(ssh: connect to host 127\.0\.0\.1 port \d+: "
                        r"Connection refused\)"),
        ("key-refused", "", r"ssh: the machine refused the key \(.*Permission denied \(publickey\)\.?\)"),
        ("host-unknown", "", r"ssh: the machine's host key is unknown or has changed \(Host key verification "
                             r"failed\.\)"),
        ("", "/tmp/execdeck-no-engine-here.sock", r"no Docker engine answers at the far end \(.*"
                                                  r"/tmp/execdeck-no-engine-here\.sock.*\)"),
    ],
    ids=["no route", "key refused", "host key unknown", "no engine at the far end"],
)
def test_an_ssh_failure_names_the_host_and_what_failed(
    ssh_host: dt.LoopbackSshd, make_engine: Maker, test_image: str, machine: str, path: str, what_failed: str,
) -> None:
    url = ssh_host.url(machine, path)
    entry = docker_entry(test_image, host=url)
    executor = make_engine(entry).get(entry.id)
    expected = rf"cannot reach the Docker daemon at {url}: {what_failed}"
    status = executor.probe(10)
    assert not status.ready
    assert re_full(expected, status.text)
    with pytest.raises(ExecError) as caught:
        executor.exec("true").start()
    assert re_full(expected, caught.value.message)


def test_the_command_line_says_what_failed_once_and_ssh_writes_nothing_of_its_own(
    ssh_host: dt.LoopbackSshd, tmp_path: Path, test_image: str,
) -> None:
    entries = tmp_path / "ssh.yaml"
    entries.write_text(f'namespace: s\nentries:\n  - {{name: far, kind: exec.docker, image: {test_image}, '
                       f'host: "{ssh_host.url("key-refused")}"}}\n')
    cli = subprocess.run([sys.executable, "-m", "tui", "--entries", str(entries), "run", "s:far", "true"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert cli.returncode != 0
    lines = cli.stderr.strip().splitlines()
    assert len(lines) == 1, cli.stderr
    assert lines[0].startswith(f"execdeck: cannot reach the Docker daemon at {ssh_host.url('key-refused')}: "
                               "ssh: the machine refused the key (")


@pytest.mark.parametrize(
    ("code", "stderr", "said"),
    [
        (127, ["bash: line 1: docker: command not found"], "no docker command at the far end (bash: line 1: "
                                                           "docker: command not found)"),
        (1, ["failed to open the raw stream connection: dial unix /x.sock: connect: no such file or directory"],
         "no Docker engine answers at the far end (failed to open the raw stream connection: dial unix /x.sock: "
         "connect: no such file or directory)"),
        (255, [], "ssh: could not reach the machine (ssh exited with 255)"),
    ],
)
def test_what_failed_is_read_from_ssh_and_the_far_end(code: int, stderr: list[str], said: str) -> None:
    assert explain(code, stderr) == said


def re_full(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None
