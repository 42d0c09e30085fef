"""Shared fixtures. Keep this file small: logic lives in helper modules (Docker: dockertools.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import NoReturn

import docker
import pytest

from tests import dockertools as dt
from tui.core.executors import registry
from tui.core.executors.memory import MemoryKind

# ---- The in-memory kind --------------------------------------------------------------------------------


@pytest.fixture
def memory_kind() -> Iterator[MemoryKind]:
    """The in-memory kind, registered for this test through the registry's public call alone: entries
    loaded from now on may say ``kind: exec.memory``, and the test steps their runs (see its module)."""
    kind = MemoryKind()
    unregister = registry.register(kind)
    yield kind
    unregister()


# ---- Run records ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _never_in_the_user_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every execdeck a test starts records its runs (issue 6), keeps REPL history and settings: into
    folders of this session, never into the user's ~/.local/share, ~/.config or ~/.cache (the entries
    cache). Tests that look at records set EXECDECK_RECORDS themselves (tests/records)."""
    root = tmp_path_factory.mktemp("user")
    wanted = {
        "EXECDECK_RECORDS": str(root / "runs.sqlite3"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_CACHE_HOME": str(root / "cache"),
    }
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    yield
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# ---- Docker --------------------------------------------------------------------------------------------


def _docker_missing(reason: str) -> NoReturn:
    """Skip, or fail when REQUIRE_DOCKER=1 (CI), for a missing daemon, tool or image."""
    if dt.require_docker():
        pytest.fail(f"{reason} (REQUIRE_DOCKER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.APIClient]:
    """A connected low-level client for the main daemon (DOCKER_HOST, else unix:///var/run/docker.sock),
    with a short timeout. Skips when no daemon answers, fails instead under REQUIRE_DOCKER=1."""
    try:
        client = dt.connect(dt.main_daemon_url())
    except dt.DockerUnavailable as exc:
        _docker_missing(str(exc))
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _docker_marker(request: pytest.FixtureRequest) -> None:
    # The `docker` marker means "needs a daemon": skip (or fail) such a test like docker_engine does.
    if request.node.get_closest_marker("docker") is not None:
        request.getfixturevalue("docker_engine")


@pytest.fixture(scope="session")
def test_image(docker_engine: docker.APIClient) -> str:
    """The busybox test image's name, built from tests/docker/ first when missing or stale."""
    try:
        return dt.ensure_test_image(docker_engine, dt.main_daemon_url())
    except dt.DockerUnavailable as exc:
        _docker_missing(str(exc))


@pytest.fixture
def own_tag(test_image: str) -> Iterator[str]:
    """A tag of the test image of the test's own, for it to remove and tag again with the docker command
    line (the shared test image stays); removed after the test."""
    name = f"execdeck-test/tagged-{uuid.uuid4().hex[:8]}:latest"
    subprocess.run(["docker", "tag", test_image, name], check=True, timeout=60)
    yield name
    subprocess.run(["docker", "rmi", name], capture_output=True, check=False, timeout=60)


@pytest.fixture(scope="session")
def podman_engine() -> Iterator[docker.APIClient]:
    """A connected low-level client for the Podman API service (EXECDECK_PODMAN_HOST, else Podman's
    rootful socket). Skips when none answers, fails instead under REQUIRE_DOCKER=1."""
    url = dt.podman_url()
    try:
        client = dt.connect(url)
    except dt.DockerUnavailable:
        _docker_missing(
            f"no Podman API service at {url}: install podman and catatonit and run `bash .ci/run provision` "
            "(or set EXECDECK_PODMAN_HOST)"
        )
    yield client
    client.close()


@pytest.fixture(scope="session")
def podman_test_image(podman_engine: docker.APIClient, test_image: str) -> str:
    """The test image on Podman: built by Docker and copied over when missing or stale."""
    try:
        return dt.ensure_test_image(podman_engine, dt.podman_url(), built_on=dt.main_daemon_url())
    except dt.DockerUnavailable as exc:
        _docker_missing(str(exc))


@pytest.fixture(params=["docker", "podman"])
def container_engine(request: pytest.FixtureRequest) -> dt.ContainerEngine:
    """Each engine in turn, for the tests of the Docker executor that hold on both (Podman serves the
    same API on a socket of its own). Skips an engine that is missing, fails under REQUIRE_DOCKER=1."""
    if request.param == "docker":
        return dt.ContainerEngine("docker", dt.main_daemon_url(), request.getfixturevalue("docker_engine"),
                                  request.getfixturevalue("test_image"))
    return dt.ContainerEngine("podman", dt.podman_url(), request.getfixturevalue("podman_engine"),
                              request.getfixturevalue("podman_test_image"))


@pytest.fixture(scope="session", autouse=True)
def _no_leaked_containers() -> Iterator[None]:
    """After the whole session, no container of this product that was not there before may exist on
    either engine (Docker's, Podman's): list them loudly, then remove them. Skips an engine that does not
    answer."""
    clients: dict[str, docker.APIClient] = {}
    for url in dict.fromkeys([dt.main_daemon_url(), dt.podman_url()]):
        with contextlib.suppress(dt.DockerUnavailable):
            clients[url] = dt.connect(url, timeout=5)
    baselines = {url: dt.product_container_ids(client) for url, client in clients.items()}
    yield
    lines = []
    for url, client in clients.items():
        leaked = dt.leftover_containers(client, baselines[url], grace=5)
        dt.remove_containers(client, (c["Id"] for c in leaked))
        lines += [f"{url}: {dt.describe_container(c)}" for c in leaked]
        client.close()
    if lines:
        shown = "\n  ".join(lines)
        pytest.fail(f"{len(lines)} execdeck container(s) left behind (now removed):\n  {shown}", pytrace=False)


@pytest.fixture(scope="session")
def second_dockerd(docker_engine: docker.APIClient, test_image: str) -> Iterator[dt.SecondDockerd]:
    """A second daemon of the tests' own, with the test image loaded: `.unix_url` and `.tcp_url` reach it.
    Everything it made is gone after the session."""
    missing = [tool for tool in ("dockerd", "ip", "umount") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        _docker_missing(f"a second dockerd needs root and {', '.join(missing) or 'dockerd, ip'}")
    daemon = dt.SecondDockerd()
    try:
        daemon.start(docker_engine, [test_image])
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def halted_dockerd(second_dockerd: dt.SecondDockerd) -> Iterator[dt.SecondDockerd]:
    """The second daemon, halted (its URLs refuse connections) for the test to `resume()` (and `halt()`
    again) as it likes; running again, with its images, after the test."""
    second_dockerd.halt()
    try:
        yield second_dockerd
    finally:
        second_dockerd.resume()


@pytest.fixture(scope="session")
def loopback_sshd(second_dockerd: dt.SecondDockerd) -> Iterator[dt.LoopbackSshd]:
    """An sshd of the tests' own on 127.0.0.1 whose logins reach the second daemon (their DOCKER_HOST):
    `ssh_host` puts its client side on PATH. Everything it made is gone after the session."""
    missing = [tool for tool in (dt.LoopbackSshd.BINARY, "ssh", "ssh-keygen") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        _docker_missing(f"an sshd of the tests' own needs root and {', '.join(missing) or 'openssh-server'}")
    sshd = dt.LoopbackSshd({"DOCKER_HOST": second_dockerd.unix_url})
    try:
        sshd.start()
        yield sshd
    finally:
        sshd.stop()


@pytest.fixture
def ssh_host(loopback_sshd: dt.LoopbackSshd, monkeypatch: pytest.MonkeyPatch) -> Iterator[dt.LoopbackSshd]:
    """`loopback_sshd` with its `ssh` first on PATH, for this test and the programs it starts; after the
    test, none of the ssh processes it caused may still run. Ask for it before `make_engine`, so that the
    engines are shut down before the check."""
    monkeypatch.setenv("PATH", f"{loopback_sshd.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    yield loopback_sshd
    try:
        dt.poll_until(lambda: not loopback_sshd.ssh_clients(), 10, "the test's ssh processes to end")
    except TimeoutError:
        for pid in loopback_sshd.ssh_clients():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        pytest.fail("ssh processes were left running after the test (now killed)", pytrace=False)


@pytest.fixture(scope="session")
def local_registry() -> Iterator[str]:
    """`127.0.0.1:PORT` of a docker-registry of the tests' own (empty, loopback, no TLS)."""
    if not os.access(dt.LocalRegistry.BINARY, os.X_OK):
        _docker_missing(f"{dt.LocalRegistry.BINARY} is missing: install docker-registry")
    registry = dt.LocalRegistry()
    try:
        registry.start()
        yield registry.address
    finally:
        registry.stop()


@pytest.fixture
def docker_proxy(docker_engine: docker.APIClient) -> Iterator[Callable[..., dt.DockerProxy]]:
    """A factory of proxies to a daemon (the main one unless given its URL): each has `.url` and `.cut()`
    (the daemon goes away). All are closed after the test."""
    proxies: list[dt.DockerProxy] = []

    def make(upstream: str = "") -> dt.DockerProxy:
        proxy = dt.DockerProxy(upstream or dt.main_daemon_url())
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
