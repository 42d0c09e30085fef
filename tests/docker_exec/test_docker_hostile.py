"""Containers that misbehave and an engine under faults (quality.md kinds 5-7), on the real engines
(Docker's and Podman's where the test holds on both): each run ends with a clear result, nothing hangs, and
nothing of the product is left running."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import docker
import pytest

from tests import dockertools as dt
from tests.core.support import read_all
from tests.docker_exec.conftest import docker_entry
from tui.core.errors import ExecError
from tui.core.executors.base import PULL, PullProgress
from tui.core.executors.docker_pull import pull_image
from tui.core.labels import LABEL_RUN

pytestmark = pytest.mark.docker

Maker = Callable[..., Any]


def test_a_fork_bomb_under_pids_limit_ends_and_the_host_is_fine(one_executor: Maker) -> None:
    process = one_executor(pids_limit=32).exec("sh -c 'while true; do sleep 100 & done'", timeout=4)
    err = process.open_reader("stderr")
    process.start()
    status = process.wait()
    # busybox sh gives up with an error when fork fails; the time limit is only a backstop.
    assert not status.ok
    assert b"fork" in read_all(err).lower()  # "can't fork": the limit held


def test_a_memory_bomb_under_memory_limit_is_reported_out_of_memory(
    one_executor: Maker, container_engine: dt.ContainerEngine
) -> None:
    process = one_executor(memory_limit=32 * 1024 * 1024).exec("sh -c 'x=a; while true; do x=$x$x; done'")
    process.start()
    status = process.wait()
    assert status.code == 137  # the limit held
    # The run says what the engine knows. Podman 4.3 on cgroup v1 never sets OOMKilled (README): there
    # the kill is a plain SIGKILL. Docker always knows.
    known = container_engine.client.inspect_container(process.backend.container_id)["State"]["OOMKilled"]
    assert status.oom_killed is known
    if container_engine.name == "docker":
        assert status.oom_killed and status.describe() == "killed: out of memory"


def test_a_write_to_a_read_only_root_fails(one_executor: Maker) -> None:
    process = one_executor(read_only_rootfs=True).exec("sh -c 'echo x > /file'")
    err = process.open_reader("stderr")
    process.start()
    assert process.wait().code != 0
    assert b"Read-only file system" in read_all(err)


def test_a_read_only_root_leaves_no_writable_scratch_place_but_the_entrys_tmpfs(one_executor: Maker) -> None:
    # Podman mounts writable tmpfs at /tmp, /var/tmp and /run under a read-only root unless told otherwise.
    script = "for d in /tmp /var/tmp /run /scratch; do touch $d/x 2>/dev/null && echo $d; done; exit 0"
    process = one_executor(read_only_rootfs=True, tmpfs={"/scratch": "rw,size=1m"}).exec(f"sh -c '{script}'")
    out = process.open_reader("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out) == b"/scratch\n"


def test_no_new_privileges_holds_for_the_program(one_executor: Maker) -> None:
    process = one_executor(no_new_privileges=True).exec("grep NoNewPrivs /proc/self/status")
    out = process.open_reader("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out).split() == [b"NoNewPrivs:", b"1"]


def test_network_use_under_network_mode_none_fails(one_executor: Maker) -> None:
    process = one_executor(network_mode="none").exec(
        "sh -c 'ls /sys/class/net; wget -q -T 2 -O- http://172.17.0.1:9/'"
    )
    out = process.open_reader("stdout")
    process.start()
    assert process.wait().code != 0
    assert read_all(out) == b"lo\n"


def test_a_process_ignoring_sigterm_is_ended_by_close_force(one_executor: Maker) -> None:
    process = one_executor().exec("sh -c 'trap \"\" TERM; echo trapped; sleep 100'")
    out = process.open_reader("stdout")
    process.start()
    # A signal sent before the shell set its trap would end it: the launch returns that fast.
    assert out.read(100, timeout=15) == b"trapped\n"
    process.signal(15)
    assert not process.wait_exited(1.0)  # ignored, as asked
    process.close(True)
    assert process.wait_exited(15)
    assert process.exit_status is not None and process.exit_status.code == 137


def test_a_gibibyte_of_output_streams_through(one_executor: Maker) -> None:
    process = one_executor(auto_remove=True).exec("dd if=/dev/zero bs=1048576 count=1024")
    out = process.open_reader("stdout")
    process.start()
    total = 0
    deadline = time.monotonic() + 60
    while (chunk := out.read(65536, timeout=max(0.0, deadline - time.monotonic()))) is not None:
        assert chunk or time.monotonic() < deadline, "no end of output within 60 s"
        total += len(chunk)
    assert total == 1024 * 1024 * 1024
    assert process.wait().code == 0


def test_the_daemon_going_away_mid_run_ends_the_run_with_a_clear_error(
    make_engine: Maker, docker_proxy: Callable[[str], dt.DockerProxy], container_engine: dt.ContainerEngine,
) -> None:
    proxy = docker_proxy(container_engine.url)
    entry = docker_entry(container_engine.image, host=proxy.url, auto_remove=True)
    process = make_engine(entry).get(entry.id).exec("sh -c 'echo started; sleep 100'")
    out = process.open_reader("stdout")
    try:
        process.start()
        assert out.read(100, timeout=15) == b"started\n"
        proxy.cut()
        began = time.monotonic()
        with pytest.raises(ExecError) as caught:
            process.wait()
        assert caught.value.message == f"lost the Docker daemon at {proxy.url} during the run"
        assert time.monotonic() - began < 15
        assert read_all(out, deadline=10) == b""  # the streams ended too
    finally:
        client = container_engine.client
        left = client.containers(all=True, filters={"label": f"{LABEL_RUN}={process.run_id}"})
        dt.remove_containers(client, (c["Id"] for c in left))


@pytest.mark.parametrize("which", ["unix", "tcp"])
def test_a_remote_host_runs_the_container_on_that_daemon(
    make_engine: Maker, test_image: str, second_dockerd: dt.SecondDockerd, docker_engine: docker.APIClient,
    which: str,
) -> None:
    url = second_dockerd.unix_url if which == "unix" else second_dockerd.tcp_url
    entry = docker_entry(test_image, host=url)
    executor = make_engine(entry).get(entry.id)
    assert executor.probe(5).ready
    process = executor.exec("echo remote")
    out = process.open_reader("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out) == b"remote\n"
    remote = dt.connect(url)
    try:
        label = {"label": f"{LABEL_RUN}={process.run_id}"}
        on_second = remote.containers(all=True, filters=label)
        assert len(on_second) == 1
        assert docker_engine.containers(all=True, filters=label) == []
        dt.remove_containers(remote, (c["Id"] for c in on_second))
    finally:
        remote.close()


def test_pull_fetches_a_missing_image_with_progress_events(
    make_engine: Maker, test_image: str, local_registry: str, docker_engine: docker.APIClient,
    container_engine: dt.ContainerEngine,
) -> None:
    # Docker pushes it; the engine under test pulls it (Podman reports no sizes: its bar counts layers).
    image = dt.push_fresh_image(docker_engine, test_image,
                                f"{local_registry}/execdeck-test/pulled-{container_engine.name}")
    try:
        entry = docker_entry(image, host=container_engine.url)
        engine = make_engine(entry)
        executor = engine.get(entry.id)
        assert executor.probe(3).remedy == PULL
        events: list[PullProgress] = []
        assert executor.kind.pull is not None
        executor.kind.pull.run(executor.spec, engine.scope, events.append)
        assert events and events[-1].done and not any(e.done for e in events[:-1])
        assert any(e.total > 0 for e in events)
        assert events[-1].current == events[-1].total > 0
        assert executor.probe(3).ready
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container_engine.client.remove_image(image)


def test_pull_of_an_image_the_registry_lacks_fails_with_one_message(
    make_engine: Maker, local_registry: str, container_engine: dt.ContainerEngine,
) -> None:
    image = f"{local_registry}/execdeck-test/never-pushed:v1"
    engine = make_engine()
    with pytest.raises(ExecError, match=rf'^pull of "{image}" on {container_engine.url} failed: '):
        pull_image(image, container_engine.url, engine.scope, lambda progress: None)


def test_a_write_to_stdin_is_cancellable_and_refused_after_the_end(one_executor: Maker) -> None:
    # `sleep` never reads stdin: a big write fills the socket and waits until cancelled.
    process = one_executor().exec("sleep 100")
    process.start()
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(ExecError, match="cancelled"):
        process.write_stdin(b"x" * (64 * 1024 * 1024), cancel)
    process.close(True)
    assert process.wait_exited(15)
    with pytest.raises(ExecError, match="container already stopped"):
        process.backend.write_stdin(b"late")
