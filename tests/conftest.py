"""Shared fixtures. Keep this file small: logic lives in helper modules (Docker: dockertools.py)."""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="session", autouse=True)
def _no_leaked_containers() -> Iterator[None]:
    """After the whole session, no container of this product that was not there before may exist: list
    them loudly, then remove them. Does nothing without a daemon."""
    try:
        client = dt.connect(dt.main_daemon_url(), timeout=5)
    except dt.DockerUnavailable:
        yield
        return
    baseline = dt.product_container_ids(client)
    yield
    leaked = dt.leftover_containers(client, baseline, grace=5)
    dt.remove_containers(client, (c["Id"] for c in leaked))
    client.close()
    if leaked:
        lines = "\n  ".join(dt.describe_container(c) for c in leaked)
        pytest.fail(
            f"{len(leaked)} execdeck container(s) left behind (now removed):\n  {lines}", pytrace=False
        )


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
def docker_proxy(docker_engine: docker.APIClient) -> Iterator[Callable[[], dt.DockerProxy]]:
    """A factory of proxies to the main daemon: each has `.url` and `.cut()` (the daemon goes away).
    All are closed after the test."""
    proxies: list[dt.DockerProxy] = []

    def make() -> dt.DockerProxy:
        proxy = dt.DockerProxy(dt.main_daemon_url())
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
