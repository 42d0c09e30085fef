"""The Docker test infrastructure works: the test image under every limit (on Docker and on Podman), the
second daemon, the loopback registry and the cuttable proxy. Every container made here is removed in a `finally`."""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
import pytest

from tests import dockertools as dt

pytestmark = pytest.mark.docker


def run_and_capture(client: docker.APIClient, image: str, cmd: list[str], **host: Any) -> tuple[int, bytes]:
    """Run `cmd` to its end and return (exit code, stdout), attaching before start so no output is lost
    (log driver `none` keeps no copy). Always removes the container."""
    container = client.create_container(image, cmd, host_config=client.create_host_config(**host))
    try:
        stream = client.attach(container, stdout=True, stderr=False, stream=True, logs=False)
        client.start(container)
        out = b"".join(stream)
        status = client.wait(container, timeout=60)["StatusCode"]
        return status, out
    finally:
        client.remove_container(container, force=True)


def test_the_image_prints_hi_under_every_limit_of_the_spec_at_once(container_engine: dt.ContainerEngine) -> None:
    status, out = run_and_capture(
        container_engine.client,
        container_engine.image,
        ["echo", "hi"],
        network_mode="none",
        mem_limit="64m",
        cpu_quota=50000,
        pids_limit=64,
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        tmpfs={"/tmp": "rw,size=16m"},
        init=True,
        log_config={"type": "none", "config": {}},
    )
    assert (status, out) == (0, b"hi\n")


def test_the_image_has_the_tools_the_tests_use(container_engine: dt.ContainerEngine) -> None:
    script = "for t in sh cat sleep echo id yes head dd true wc; do command -v $t >/dev/null || echo $t; done"
    status, out = run_and_capture(container_engine.client, container_engine.image,
                                  ["sh", "-c", script + "; test -d /tmp && id -u"])
    assert (status, out) == (0, b"0\n")


def test_the_second_daemon_answers_on_both_urls_and_has_the_image(
    second_dockerd: dt.SecondDockerd, test_image: str
) -> None:
    for url in (second_dockerd.unix_url, second_dockerd.tcp_url):
        client = dt.connect(url)
        try:
            assert dt.inspect_image(client, test_image)["Id"]
        finally:
            client.close()


def test_the_second_daemon_runs_a_container_on_its_own_bridge(
    second_dockerd: dt.SecondDockerd, test_image: str
) -> None:
    client = dt.connect(second_dockerd.tcp_url)
    try:
        status, out = run_and_capture(
            client, test_image, ["sh", "-c", "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'"]
        )
    finally:
        client.close()
    assert status == 0
    assert out.startswith(b"inet 10.250."), out


def test_an_image_pushed_to_the_local_registry_pulls_back_with_progress_events(
    docker_engine: docker.APIClient, test_image: str, local_registry: str
) -> None:
    # The test image plus one layer of random bytes: its own layer is absent after removal, so the pull
    # really downloads it (Downloading / Pull complete events), while the shared test image is never removed.
    repo = f"{local_registry}/execdeck-test/pulltest"
    container = docker_engine.create_container(
        test_image,
        ["sh", "-c", "head -c 262144 /dev/urandom >/payload"],
        labels={"execdeck.test": "pulltest"},
    )
    image_id = None
    try:
        docker_engine.start(container)
        assert docker_engine.wait(container, timeout=60)["StatusCode"] == 0
        image_id = docker_engine.commit(container, repository=repo, tag="latest")["Id"]
        pushed = dt.check_stream(docker_engine.push(repo, tag="latest", stream=True, decode=True), "push")
        assert any("Digest" in (e.get("aux") or {}) for e in pushed), pushed
        docker_engine.remove_image(image_id)
        with pytest.raises(docker.errors.ImageNotFound):
            dt.inspect_image(docker_engine, f"{repo}:latest")

        pulled = dt.check_stream(docker_engine.pull(repo, tag="latest", stream=True, decode=True), "pull")
        statuses = [e.get("status", "") for e in pulled]
        assert "Pull complete" in statuses, statuses
        assert any(
            e.get("progressDetail", {}).get("total") for e in pulled if e.get("status") == "Downloading"
        )
        assert dt.inspect_image(docker_engine, f"{repo}:latest")["Id"] == image_id
    finally:
        docker_engine.remove_container(container, force=True)
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_engine.remove_image(f"{repo}:latest")


def test_a_client_works_through_the_proxy_and_fails_once_it_is_cut(
    docker_proxy: Callable[[], dt.DockerProxy],
) -> None:
    proxy = docker_proxy()
    client = dt.connect(proxy.url)
    try:
        assert client.version()["ApiVersion"]
        assert proxy.connections >= 1
        proxy.cut()
        with pytest.raises(Exception):  # noqa: B017 - whichever requests/docker error the dead socket gives
            client.version()
    finally:
        client.close()
    assert dt.proxied_client_fails(proxy.url)


def test_the_proxy_passes_stdin_end_and_container_output_through(
    docker_engine: docker.APIClient, docker_proxy: Callable[[], dt.DockerProxy], test_image: str
) -> None:
    proxy = docker_proxy()
    client = dt.connect(proxy.url)
    name = f"execdeck-test-proxy-{secrets.token_hex(4)}"
    container = client.create_container(
        test_image, ["cat"], stdin_open=True, name=name, host_config=client.create_host_config(init=True)
    )
    try:
        sock = client.attach_socket(container, params={"stdin": 1, "stdout": 1, "stream": 1})
        client.start(container)
        raw: socket.socket = sock._sock  # the real socket (field notes): sendall, shutdown, recv
        raw.sendall(b"through the proxy\n")
        raw.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := raw.recv(65536):
            data += chunk
        assert data.endswith(b"through the proxy\n")  # after the 8-byte frame header
        assert client.wait(container, timeout=30)["StatusCode"] == 0
    finally:
        docker_engine.remove_container(container, force=True)
        client.close()
