"""Fixtures for the Docker executor's tests: inline docker entries and engines that clean up after
themselves (every container of their instance is removed at teardown, running or not)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests import dockertools as dt
from tui.core.engine import Engine
from tui.core.entries.models import Entry, LoadResult, Location, frozen_map
from tui.core.executors.docker import KIND as DOCKER
from tui.core.executors.docker import DockerSpec
from tui.core.labels import LABEL_INSTANCE

EngineMaker = Callable[..., Engine]


def docker_entry(image: str, name: str = "", **fields: Any) -> Entry:
    """An ``exec.docker`` entry ``t:<name>`` (a fresh random name by default)."""
    name = name or f"d{secrets.token_hex(4)}"
    for key in ("default_env", "tmpfs"):
        if key in fields:
            fields[key] = frozen_map(fields[key])
    for key in ("command_whitelist", "volumes", "cap_drop", "cap_add"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return Entry(id=f"t:{name}", namespace="t", name=name, kind=DOCKER.name,
                 location=Location(Path("inline.yaml"), 1), spec=DockerSpec(image=image, **fields))


def remove_instance_containers(client: docker.APIClient, instance_id: str) -> None:
    """Force-remove every container, running or not, that an engine instance made."""
    found = client.containers(all=True, filters={"label": f"{LABEL_INSTANCE}={instance_id}"})
    dt.remove_containers(client, (c["Id"] for c in found))


@pytest.fixture
def make_engine(docker_engine: docker.APIClient, request: pytest.FixtureRequest) -> Iterator[EngineMaker]:
    """``make_engine(*entries, long_lived=False)``: an engine over these entries (``long_lived`` as the
    console's, where ``pool`` applies); shut down and swept at teardown (on Docker, and on the test's
    ``container_engine`` when it has one)."""
    engines: list[Engine] = []
    clients = {id(docker_engine): docker_engine}
    if "container_engine" in request.fixturenames:
        # Asked for now, so that it is torn down after this fixture, not before.
        other = request.getfixturevalue("container_engine").client
        clients[id(other)] = other

    def make(*entries: Entry, long_lived: bool = False) -> Engine:
        engine = Engine(LoadResult(entries=tuple(entries)), buffer_cap=1024 * 1024, long_lived=long_lived)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown(grace=1.0)
        for client in clients.values():
            remove_instance_containers(client, engine.instance_id)


@pytest.fixture
def one_executor(make_engine: EngineMaker, container_engine: dt.ContainerEngine) -> Callable[..., Any]:
    """``one_executor(**fields)``: a fresh docker executor on the test image with these fields, on each
    engine in turn (its ``host`` is the engine's URL unless given)."""

    def make(**fields: Any) -> Any:
        fields.setdefault("host", container_engine.url)
        entry = docker_entry(fields.pop("image", container_engine.image), **fields)
        return make_engine(entry).get(entry.id)

    return make
