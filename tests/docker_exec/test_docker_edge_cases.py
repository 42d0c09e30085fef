"""The spec's edge cases for the docker kind (E3, E6, E12, E14, E16-E18, E22-E24, E27, E28), against the
real engines, Docker's and Podman's (``container_engine``): every container is inspected or counted through
the engine that ran it, and removed afterwards."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import docker
import pytest

from tests import dockertools as dt
from tests.core.support import read_all
from tests.docker_exec.conftest import docker_entry
from tui.core.errors import ExecError
from tui.core.executors.base import PULL
from tui.core.labels import LABEL_ENTRY, LABEL_INSTANCE, LABEL_PRODUCT, LABEL_RUN, PRODUCT

pytestmark = pytest.mark.docker

Maker = Callable[..., Any]


def containers_of_run(client: docker.APIClient, run_id: str) -> list[dict[str, Any]]:
    return list(client.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}))


def assert_gone_soon(client: docker.APIClient, run_id: str) -> None:
    """The run's container is removed within moments of wait() returning (the removal runs behind it)."""
    dt.poll_until(lambda: containers_of_run(client, run_id) == [], 10, f"the container of run {run_id} to go")


def test_e3_spaces_only_runs_the_images_default_command(one_executor: Maker) -> None:
    process = one_executor().exec("   ")
    out = process.open_reader("stdout")
    process.start()
    # The image's default is `sh`, reading commands from stdin until its end.
    process.write_stdin(b"echo default-command-ran\n")
    process.write_stdin(b"")
    assert process.wait().code == 0
    assert read_all(out) == b"default-command-ran\n"


def test_e6_the_per_call_env_wins_over_default_env(one_executor: Maker) -> None:
    process = one_executor(default_env={"A": "1", "B": "1"}).exec("sh -c 'echo A=$A B=$B'", env={"A": "2"})
    out = process.open_reader("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out) == b"A=2 B=1\n"


def test_e12_the_exit_code_is_the_containers_status_code(one_executor: Maker) -> None:
    process = one_executor().exec("sh -c 'exit 42'")
    process.start()
    assert process.wait().code == 42


def test_e14_signal_9_ends_a_sleep_with_137_quickly(one_executor: Maker) -> None:
    process = one_executor().exec("sleep 30")
    process.start()
    began = time.monotonic()
    process.signal(9)
    assert process.wait().code == 137
    assert time.monotonic() - began < 10


def test_sigterm_ends_a_plain_sleep_with_143_thanks_to_the_init(one_executor: Maker) -> None:
    process = one_executor().exec("sleep 30")
    process.start()
    process.signal(15)
    assert process.wait().code == 143


def test_a_signal_to_a_stopped_container_fails_with_container_already_stopped(one_executor: Maker) -> None:
    process = one_executor().exec("true")
    process.start()
    assert process.wait_exited(30)
    with pytest.raises(ExecError, match="container already stopped"):
        process.backend.send_signal(15)


def test_e16_cat_echoes_stdin_and_ends_at_end_of_input(one_executor: Maker) -> None:
    process = one_executor().exec("cat")
    out = process.open_reader("stdout")
    process.start()
    process.write_stdin(b"a\n")
    process.write_stdin(b"")
    assert read_all(out) == b"a\n"
    assert process.wait().code == 0


def test_e17_output_read_after_wait_is_complete(one_executor: Maker) -> None:
    process = one_executor().exec("seq 1 20000")
    stream = process.stream("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(stream) == b"".join(b"%d\n" % i for i in range(1, 20001))


def test_e18_a_megabyte_on_stderr_never_stalls_a_reader_of_stdout(one_executor: Maker) -> None:
    process = one_executor().exec("sh -c 'head -c 1048576 /dev/zero >&2; echo done'")
    out = process.open_reader("stdout")
    process.start()
    assert read_all(out, deadline=30) == b"done\n"
    assert process.wait().code == 0


def test_fast_output_before_start_is_never_lost(one_executor: Maker) -> None:
    executor = one_executor(auto_remove=True)
    expected = b"".join(b"line %d\n" % i for i in range(1, 3001))
    for _ in range(3):
        process = executor.exec("sh -c 'i=1; while [ $i -le 3000 ]; do echo line $i; i=$((i+1)); done'")
        out = process.open_reader("stdout")
        process.start()
        assert process.wait().code == 0
        assert read_all(out) == expected
    for _ in range(3):
        process = executor.exec("echo quick")
        out = process.open_reader("stdout")
        process.start()
        assert process.wait().code == 0
        assert read_all(out) == b"quick\n"


def test_e22_a_missing_image_fails_start_with_one_clear_message(
    one_executor: Maker, container_engine: dt.ContainerEngine
) -> None:
    process = one_executor(image="execdeck-test/absent:latest").exec("true")
    with pytest.raises(ExecError) as caught:
        process.start()
    message = caught.value.message
    assert message == f'image "execdeck-test/absent:latest" not found on {container_engine.url}'
    assert message.count("not found") == 1
    assert containers_of_run(container_engine.client, process.run_id) == []


def test_e22_the_probe_says_the_image_is_missing(one_executor: Maker, container_engine: dt.ContainerEngine) -> None:
    status = one_executor(image="execdeck-test/absent:latest").probe(3)
    assert not status.ready and status.remedy == PULL and status.summary == "image missing"
    assert status.text == f'image "execdeck-test/absent:latest" not found on {container_engine.url}'


def test_a_program_missing_from_the_image_is_one_clear_error(one_executor: Maker) -> None:
    # Without the init the daemon refuses the start; with it the init reports it once started.
    process = one_executor(init=False).exec("nope-not-here")
    with pytest.raises(ExecError, match=r'exec: "nope-not-here": executable file not found in \$PATH'):
        process.start()
    process = one_executor().exec("nope-not-here")
    process.start()
    with pytest.raises(ExecError, match=r'^exec: "nope-not-here": executable file not found in \$PATH$'):
        process.wait()


def test_e24_auto_remove_reports_the_exit_code_and_leaves_no_container(
    one_executor: Maker, container_engine: dt.ContainerEngine
) -> None:
    executor = one_executor(auto_remove=True)
    for _ in range(6):
        process = executor.exec("true")
        process.start()
        assert process.wait().code == 0
        assert_gone_soon(container_engine.client, process.run_id)


def test_e27_every_field_is_applied_to_the_container(
    one_executor: Maker, container_engine: dt.ContainerEngine
) -> None:
    with tempfile.TemporaryDirectory() as ro_dir, tempfile.TemporaryDirectory() as rw_dir:
        fields: dict[str, Any] = dict(
            default_work_dir="/tmp/../tmp/work",
            default_env={"A": "1", "LANG": "C"},
            network_mode="none",
            volumes=[f"{ro_dir}:/ro:ro", f"{rw_dir}:/rw:RO"],
            user="nobody",
            memory_limit=64 * 1024 * 1024,
            cpu_quota=50000,
            pids_limit=50,
            read_only_rootfs=True,
            no_new_privileges=True,
            cap_drop=["NET_RAW"],
            cap_add=["SYS_TIME"],
            tmpfs={"/tmp": "rw,size=16m"},
        )
        executor = one_executor(**fields)
        process = executor.exec("sleep 30", env={"B": "2"})
        process.start()
        try:
            info = container_engine.client.inspect_container(process.handle)
        finally:
            process.close(True)
        assert process.wait_exited(30)
        assert process.exit_status is not None and process.exit_status.code == 137
        container_engine.client.remove_container(info["Id"], force=True)
    config, host = info["Config"], info["HostConfig"]
    # The same image, however the engine spells its name (Podman's is `localhost/execdeck-test/...`).
    images = [container_engine.client.inspect_image(name)["Id"] for name in (config["Image"], executor.spec.image)]
    assert images[0] == images[1]
    assert config["Cmd"] == ["sleep", "30"]
    # Podman adds `container=podman` and keeps no order; Docker keeps ours.
    env = dict(item.split("=", 1) for item in config["Env"])
    assert {name: env.get(name) for name in ("A", "LANG", "B")} == {"A": "1", "LANG": "C", "B": "2"}
    assert config["WorkingDir"] == "/tmp/work"
    assert config["User"] == "nobody"
    # Podman's inspect says StdinOnce false whatever was asked, though end of input reaches the program
    # there too (E16 holds on both engines).
    stdin_once = config["StdinOnce"] or container_engine.name == "podman"
    assert (config["OpenStdin"], stdin_once, config["Tty"]) == (True, True, False)
    assert {k: v for k, v in config["Labels"].items() if k.startswith("execdeck.") and ".test." not in k} == {
        LABEL_PRODUCT: PRODUCT, LABEL_ENTRY: executor.id, LABEL_INSTANCE: executor.scope.instance_id,
        LABEL_RUN: process.run_id,
    }
    assert host["NetworkMode"] == "none"
    # Podman adds the propagation it chose (`/rw:rw,rprivate,rbind`): the mode is what was asked for.
    modes = sorted(bind.partition(",")[0] for bind in host["Binds"])
    assert modes == sorted([f"{ro_dir}:/ro:ro", f"{rw_dir}:/rw:rw"])
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["CpuQuota"] == 50000
    assert host["PidsLimit"] == 50
    assert host["ReadonlyRootfs"] is True
    # Podman spells it `no-new-privileges`; that it holds in the container is tested apart.
    assert host["SecurityOpt"] in (["no-new-privileges:true"], ["no-new-privileges"])
    assert host["CapDrop"] == ["NET_RAW"] and host["CapAdd"] == ["SYS_TIME"]
    # Podman appends options of its own; with a read-only root, execdeck asks it for read-only tmpfs where
    # it would mount writable ones of its own accord.
    assert {path: options.partition(",")[0] for path, options in host["Tmpfs"].items()} == (
        {"/tmp": "rw"} if container_engine.name == "docker" else {"/tmp": "rw", "/run": "ro", "/var/tmp": "ro"}
    )
    assert host["Tmpfs"]["/tmp"].startswith("rw,size=16m")
    assert host["Init"] is True
    assert host["LogConfig"]["Type"] == "none"
    assert host["AutoRemove"] is False  # the engine owns the removal (see docker_backend)


def test_e27_auto_remove_with_every_field_reports_the_code_and_leaves_nothing(
    one_executor: Maker, container_engine: dt.ContainerEngine
) -> None:
    executor = one_executor(
        default_work_dir="/tmp", default_env={"A": "1"}, network_mode="none", user="nobody",
        memory_limit=64 * 1024 * 1024, cpu_quota=50000, pids_limit=50, read_only_rootfs=True,
        no_new_privileges=True, cap_drop=["ALL"], tmpfs={"/tmp": "rw"}, auto_remove=True,
    )
    process = executor.exec("sh -c 'echo $A; exit 3'")
    out = process.open_reader("stdout")
    process.start()
    assert process.wait().code == 3
    assert read_all(out) == b"1\n"
    assert_gone_soon(container_engine.client, process.run_id)


def test_without_auto_remove_the_exited_container_is_kept(
    one_executor: Maker, container_engine: dt.ContainerEngine
) -> None:
    process = one_executor().exec("true")
    process.start()
    assert process.wait().code == 0
    kept = containers_of_run(container_engine.client, process.run_id)
    assert [c["State"] for c in kept] == ["exited"]
    container_engine.client.remove_container(kept[0]["Id"])


@pytest.mark.parametrize("auto_remove", [False, True])
def test_e28_engine_shutdown_leaves_no_container_running(
    make_engine: Callable[..., Any], container_engine: dt.ContainerEngine, auto_remove: bool
) -> None:
    entry = docker_entry(container_engine.image, host=container_engine.url, auto_remove=auto_remove)
    engine = make_engine(entry)
    processes = [engine.get(entry.id).exec(cmd) for cmd in ("sleep 100", "sh -c 'trap \"\" TERM; sleep 100'")]
    for process in processes:
        process.start()
    engine.shutdown(grace=1.0)
    filters = {"label": f"{LABEL_INSTANCE}={engine.instance_id}"}
    client = container_engine.client
    # shutdown() bounds its own wait; on a loaded machine the daemon may report the kill a moment later.
    dt.poll_until(lambda: client.containers(filters=filters) == [], 10, "no container left running")
    left = client.containers(all=True, filters=filters)
    assert left == [] if auto_remove else len(left) == 2


def test_e23_an_unreachable_daemon_fails_start_and_probe_promptly(make_engine: Callable[..., Any]) -> None:
    for host in ("tcp://127.0.0.1:1", f"unix://{tempfile.gettempdir()}/execdeck-no-daemon-{os.getpid()}.sock"):
        entry = docker_entry("execdeck-test/busybox:latest", host=host)
        executor = make_engine(entry).get(entry.id)  # creating it contacts nothing
        began = time.monotonic()
        status = executor.probe(2)
        assert (status.ready, status.text) == (False, f"cannot reach the Docker daemon at {host}")
        process = executor.exec("true")
        with pytest.raises(ExecError) as caught:
            process.start()
        assert caught.value.message == f"cannot reach the Docker daemon at {host}"
        assert time.monotonic() - began < 5
