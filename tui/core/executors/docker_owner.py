"""Which containers are ours, and which are orphans: containers of console instances that are gone.

Every container carries the labels of :mod:`tui.core.labels`. A console instance that made a
container records itself as live with a pid file, ``<runtime dir>/execdeck/instances/<instance>.pid``
(``$XDG_RUNTIME_DIR``, else ``/tmp/execdeck-<uid>``), holding its pid and that process's start time
(so a reused pid does not count as the same process). The file goes at engine shutdown; a crashed
instance leaves it behind with a dead pid. An instance is *gone* when its file is missing or its
process is not alive: the running containers it made are orphans.

The record is per machine: on a daemon shared with other machines, containers of consoles elsewhere
look gone from here, so orphans are only ever offered for killing, never killed on their own.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from tui.core.executors.base import Scope
from tui.core.executors.docker_client import kill_container, remove_container
from tui.core.executors.engine_api import APIError, EngineClient
from tui.core.labels import LABEL_INSTANCE, PRODUCT_FILTER
from tui.core.pids import process_alive, process_start_time

Container = dict[str, Any]


def instances_dir() -> Path:
    """Where live instances are recorded (created on demand, private to the user)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "execdeck" if runtime else Path(f"/tmp/execdeck-{os.getuid()}")
    return base / "instances"


def register_instance(instance_id: str) -> Path:
    """Record this process as the live owner of ``instance_id``; returns the file to remove at exit."""
    folder = instances_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{instance_id}.pid"
    pid = os.getpid()
    path.write_text(f"{pid} {process_start_time(pid)}\n")
    return path


def record_instance(scope: Scope) -> None:
    """Record the instance of ``scope`` as live until its engine shuts down (once per engine; cheap after)."""

    def make() -> Path:
        path = register_instance(scope.instance_id)
        scope.add_cleanup(lambda: path.unlink(missing_ok=True))
        return path

    scope.resource("docker:instance-record", make)


def instance_alive(instance_id: str) -> bool:
    """True when the instance's record names a process that is still the one that wrote it."""
    try:
        pid_text, _, started = (instances_dir() / f"{instance_id}.pid").read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    return process_alive(pid, started)


def find_orphans(client: EngineClient) -> list[Container]:
    """Running containers of this product whose instance is gone (as ``containers()`` lists them)."""
    running = client.containers(filters={"label": PRODUCT_FILTER, "status": "running"})
    alive: dict[str, bool] = {}
    orphans = []
    for container in running:
        instance = (container.get("Labels") or {}).get(LABEL_INSTANCE, "")
        if instance not in alive:
            alive[instance] = bool(instance) and instance_alive(instance)
        if not alive[instance]:
            orphans.append(container)
    return orphans


def kill_orphans(client: EngineClient, orphans: list[Container] | None = None) -> list[Container]:
    """SIGKILL the given orphans (default: :func:`find_orphans` now); returns those killed.

    Killed containers stay as exited ones (for inspection), which :func:`prune` removes.
    """
    killed = []
    for container in find_orphans(client) if orphans is None else orphans:
        with contextlib.suppress(APIError):
            kill_container(client, container["Id"], 9)
            killed.append(container)
    return killed


def exited_containers(client: EngineClient) -> list[Container]:
    """Exited (or dead) containers of this product, every instance's."""
    found: list[Container] = []
    for status in ("exited", "dead"):
        found += client.containers(all=True, filters={"label": PRODUCT_FILTER, "status": status})
    return found


def prune(client: EngineClient, *, dry_run: bool = False) -> list[Container]:
    """Remove the product's exited containers; returns them (those that would go, with ``dry_run``)."""
    containers = exited_containers(client)
    if dry_run:
        return containers
    removed = []
    for container in containers:
        with contextlib.suppress(APIError):
            remove_container(client, container["Id"])
            removed.append(container)
    return removed
