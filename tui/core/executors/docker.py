"""The ``exec.docker`` kind: each run is one fresh, locked-down container. Its :data:`KIND` is registered
by :mod:`tui.core.executors.registry`.

This module declares the kind (fields, spec, tokenizing rule, capabilities) and stays light: the modules
that do the work are imported only when a docker executor is used:
:mod:`~tui.core.executors.docker_backend` (a run: create, attach, start, wait, removal),
:mod:`~tui.core.executors.docker_stream` (the attach socket), :mod:`~tui.core.executors.docker_client`
(clients per daemon, timeouts, messages) over :mod:`~tui.core.executors.engine_api` (the Engine API on
the standard library), :mod:`~tui.core.executors.docker_owner` (labels, orphans, prune),
:mod:`~tui.core.executors.docker_pull` (the explicit pull),
:mod:`~tui.core.executors.docker_build` (the local build from an entry's recipe) and
:mod:`~tui.core.executors.docker_watch` (the live status: one watcher per daemon). The Docker SDK is
imported by a pull or a build alone (:mod:`~tui.core.executors.docker_sdk`).

Creating an executor or a process never contacts the daemon: the first ``start()`` (or probe) connects,
lazily, per host, so a console with docker entries starts even when no daemon runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tui.core.command import split_dropping_empty
from tui.core.entries.fields import (
    INVALID,
    Check,
    Field,
    boolean,
    byte_count,
    env_map,
    integer,
    string_field,
    string_list,
    string_map,
)
from tui.core.entries.models import ExecutorSpec, frozen_map
from tui.core.errors import ExecError
from tui.core.executors.base import (
    Build,
    ExecutorStatus,
    Kind,
    Leftover,
    OrphanSweep,
    Prune,
    Pull,
    PullProgress,
    Scope,
    StatusListener,
    StatusWatch,
)
from tui.core.executors.docker_build import BuildRecipe, recipe_field
from tui.core.process import ProcessBackend, RunSpec
from tui.core.structs import field, record


@record(frozen=True, kw_only=True)
class DockerSpec(ExecutorSpec):
    """The fields of an ``exec.docker`` entry, with the reference's defaults.

    ``volumes`` keeps the raw ``host:container[:ro]`` strings (validated at load time: each has at
    least two parts). ``init``, ``build`` and ``pool`` are this product's own fields.
    """

    image: str
    host: str = ""
    network_mode: str = ""
    volumes: tuple[str, ...] = ()
    user: str = ""
    memory_limit: int = 0
    cpu_quota: int = 0
    pids_limit: int = 0
    auto_remove: bool = False
    read_only_rootfs: bool = False
    no_new_privileges: bool = False
    cap_drop: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    tmpfs: Mapping[str, str] = field(default_factory=frozen_map)
    init: bool = True
    build: BuildRecipe | None = None
    pool: int = 0


def _volumes(check: Check, name: str, node: Any) -> Any:
    volumes = string_list(check, name, node)
    if volumes is INVALID:
        return INVALID
    ok = True
    for item, volume in zip(node.value, volumes, strict=True):
        parts = volume.split(":")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            # The reference ignores such a volume without a word; a mount that silently is not there
            # is worse than a refused entry.
            check.error(
                item,
                name,
                f'volume "{volume}" must have two parts, host:container'
                ' (a third part "ro" mounts it read-only)',
                f'e.g. "{volume or "/srv/data"}:/data"' if len(parts) < 2 else "",
            )
            ok = False
        elif len(parts) > 2 and parts[2] != "ro":
            # As in the reference, only exactly "ro" is read-only: say so for "RO", "readonly"...
            message = f'volume "{volume}": the third part is not "ro", so it is mounted read-write'
            check.warn(item, name, message)
    return volumes if ok else INVALID


def _tmpfs(check: Check, name: str, node: Any) -> Any:
    return string_map(check, name, node, what="the options")


#: The most containers one entry may keep started ahead: each holds its memory and a process or two.
MAX_POOL = 8


def _pool(check: Check, name: str, node: Any) -> Any:
    size = integer(check, name, node)
    if size is not INVALID and not 0 <= size <= MAX_POOL:
        check.error(node, name, f"must be from 0 (no pool) to {MAX_POOL}, not {size}")
        return INVALID
    return size


FIELDS = (
    Field("image", string_field, "string", "**required**",
          "the image each run's container is made from (`Config.Image`); never pulled implicitly",
          required="the Docker image to run, e.g. busybox:latest"),
    Field("host", string_field, "string", "`$DOCKER_HOST`, else `unix:///var/run/docker.sock`",
          "the daemon: `unix://`, `tcp://`, `ssh://`"),
    Field("default_work_dir", string_field, "string", "the image's",
          "the work dir of a run that names none (`Config.WorkingDir`)"),
    Field("default_env", env_map, "map string→string", "none",
          "the container's environment, before the per-run env, which wins (`Config.Env`)"),
    Field("command_whitelist", string_list, "list of strings", "none: all allowed",
          "a command must equal one item exactly"),
    Field("network_mode", string_field, "string", "daemon default",
          "the container's network, e.g. `none` (`HostConfig.NetworkMode`)"),
    Field("volumes", _volumes, "list of `host:container[:ro]`", "none",
          "bind mounts; read-only only when the third part is exactly `ro`"),
    Field("user", string_field, "string", "the image's", "the user the command runs as (`Config.User`)"),
    Field("memory_limit", byte_count, "int, bytes", "0: unlimited",
          "the memory cap; a run killed for passing it says so (`HostConfig.Memory`)"),
    Field("cpu_quota", integer, "int", "0: unlimited",
          "CPU time per 100 ms period: 50000 is half a CPU (`HostConfig.CpuQuota`)"),
    Field("pids_limit", integer, "int", "0: not sent",
          "the most processes the container may hold (`HostConfig.PidsLimit`)"),
    Field("auto_remove", boolean, "bool", "false",
          "the container is removed after its run (by execdeck, after reading its exit code and "
          "out-of-memory state)"),
    Field("read_only_rootfs", boolean, "bool", "false",
          "the container's root file system is read-only (`HostConfig.ReadonlyRootfs`)"),
    Field("no_new_privileges", boolean, "bool", "false",
          "setuid programs gain no privileges (`SecurityOpt: no-new-privileges:true`)"),
    Field("cap_drop", string_list, "list of strings", "none", "Linux capabilities taken away, e.g. `ALL` (`CapDrop`)"),
    Field("cap_add", string_list, "list of strings", "none", "Linux capabilities given (`CapAdd`)"),
    Field("tmpfs", _tmpfs, "map path→options", "none",
          "in-memory file systems by mount point, with their mount options (`HostConfig.Tmpfs`)"),
    Field("init", boolean, "bool", "**true**",
          "an init process as PID 1, so SIGTERM ends a plain program and zombies are reaped "
          "(`HostConfig.Init`; execdeck's own field)"),
    Field("build", recipe_field, "map", "none",
          "how to build `image` here when no registry has it, offered by the console after a failed pull: "
          "`dockerfile` (its text), `files` (build-context name → file on this machine), `needs` (said when "
          "a file is missing); execdeck's own field"),
    Field("pool", _pool, "int, 0-8", "0: none",
          "containers created and started ahead, with every limit of the entry, in the console and `execdeck "
          "lua` (not `execdeck run`); each serves one run through `docker exec` and is removed after it; "
          "a run that finds none ready gets a fresh one (execdeck's own field)"),
)


# -- the backend and the status probe -------------------------------------------------------------------


def _backend(spec: DockerSpec, run: RunSpec, scope: Scope) -> ProcessBackend:
    from tui.core.executors.docker_backend import DockerBackend, work_dir_for
    from tui.core.executors.docker_client import host_for
    from tui.core.executors.docker_owner import record_instance
    from tui.core.labels import container_labels

    run.work_dir = work_dir_for(spec, run)
    labels = container_labels(run.executor_id, scope.instance_id, run.run_id)
    host = host_for(scope, spec.host)
    if spec.pool and spec.init and scope.long_lived:
        # Without the init, a fresh container's command is PID 1, which signals treat otherwise than an
        # exec's process: such an entry's runs stay in fresh containers.
        from tui.core.executors.docker_pool import PooledBackend, pool_for

        pool = pool_for(scope, host, spec, run.executor_id)
        return PooledBackend(pool, host, spec, run, labels, on_launch=lambda: record_instance(scope))
    return DockerBackend(host, spec, run, labels, on_launch=lambda: record_instance(scope))


def _probe(spec: DockerSpec, scope: Scope, timeout: float) -> ExecutorStatus:
    """Daemon reachable and image present; blocks at most about ``timeout`` seconds."""
    from tui.core.executors.docker_client import host_for
    from tui.core.executors.docker_watch import image_status, unreachable_status

    deadline = time.monotonic() + timeout
    host = host_for(scope, spec.host)
    try:
        client = host.client(timeout)
    except ExecError as err:  # cannot reach..., with what failed when that is known (an ssh host)
        return ExecutorStatus(False, err.message)
    except Exception:  # noqa: BLE001 - any other failure to connect is the same status
        return unreachable_status(host.url)
    # Docker or Podman, and which version: the console shows it.
    status = image_status(client, host.url, spec.image, max(0.2, deadline - time.monotonic()), host.engine)
    return status or unreachable_status(host.url)


def _watch(spec: DockerSpec, scope: Scope, on_status: StatusListener) -> Callable[[], None]:
    """Follow the daemon and the image: one watcher per daemon URL, whatever the number of entries on it."""
    from tui.core.executors.docker_watch import watcher_for

    return watcher_for(scope, spec.host).subscribe(spec.image, on_status)


# -- pull, prune, orphan sweep ---------------------------------------------------------------------------


def _pull(spec: DockerSpec, scope: Scope, on_progress: Callable[[PullProgress], None]) -> None:
    from tui.core.executors.docker_pull import pull_image

    pull_image(spec.image, spec.host, scope, on_progress)


def _build(spec: DockerSpec, scope: Scope, on_progress: Callable[[PullProgress], None]) -> None:
    from tui.core.executors.docker_build import build_image

    assert spec.build is not None  # offered only for entries with a recipe
    build_image(spec.image, spec.build, spec.host, scope, on_progress)


def daemons(specs: Sequence[DockerSpec]) -> list[str]:
    """The daemons that prune and the orphan sweep look at: the default one (``DOCKER_HOST``, else the
    local socket), then every entry's ``host``, each once. The command line and the console both use it."""
    from tui.core.executors.docker_client import resolve_host

    return list(dict.fromkeys([resolve_host(""), *(resolve_host(spec.host) for spec in specs)]))


def _leftover(container: dict[str, Any]) -> Leftover:
    from tui.core.labels import LABEL_ENTRY, LABEL_INSTANCE

    names = ",".join(n.lstrip("/") for n in container.get("Names") or [])
    labels = container.get("Labels") or {}
    text = f"{container['Id'][:12]}  {names}  {labels.get(LABEL_ENTRY, '?')}  {container.get('Status', '')}".rstrip()
    return Leftover(container["Id"], text, labels.get(LABEL_INSTANCE, ""))


def _client(place: str, scope: Scope, timeout: float) -> Any:
    from tui.core.executors.docker_client import host_for

    return host_for(scope, place).client(timeout)


def _prune(place: str, scope: Scope, dry_run: bool, timeout: float) -> list[Leftover]:
    from tui.core.executors.docker_owner import prune

    return [_leftover(c) for c in prune(_client(place, scope, timeout), dry_run=dry_run)]


def _find_orphans(place: str, scope: Scope, timeout: float) -> list[Leftover]:
    from tui.core.executors.docker_owner import find_orphans

    return [_leftover(c) for c in find_orphans(_client(place, scope, timeout))]


def _kill_orphans(place: str, scope: Scope, orphans: list[Leftover]) -> list[Leftover]:
    from tui.core.executors.docker_owner import kill_orphans

    by_id = {orphan.id: orphan for orphan in orphans}
    killed = kill_orphans(_client(place, scope, 5.0), [{"Id": orphan.id} for orphan in orphans])
    return [by_id[container["Id"]] for container in killed]


KIND = Kind(
    name="exec.docker", label="docker", fields=FIELDS, spec_class=DockerSpec, tokenize=split_dropping_empty,
    handle_label="container", backend=_backend, probe=_probe, watch=StatusWatch(subscribe=_watch),
    pull=Pull(target=lambda spec: spec.image, run=_pull),
    build=Build(offered=lambda spec: spec.build is not None,
                source=lambda spec: spec.build.source() if spec.build else "",
                missing=lambda spec: spec.build.missing() if spec.build else "no build recipe", run=_build),
    prune=Prune(places=daemons, noun="exited container(s)", remove=_prune, title="Prune containers",
                help="remove the exited containers this product made"),
    orphans=OrphanSweep(places=daemons, noun="container(s)", find=_find_orphans, kill=_kill_orphans,
                        title="Orphan containers"),
)
