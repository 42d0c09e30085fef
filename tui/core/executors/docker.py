"""The ``exec.docker`` executor (spec sections 1.2 and 4): each run is one fresh container.

Public API:

* :class:`DockerExecutor`: what ``exec.get`` returns for a docker entry. Creating one never
  contacts the daemon; the first ``start()`` (or ``probe``) connects, lazily, per host.
* :meth:`DockerExecutor.probe`: ``ready (image present)``, ``image "<name>" not found on <host>``
  (``image_missing``), or ``cannot reach the Docker daemon at <host>``, within about ``timeout``.
* :func:`pull_image`: the explicit pull of an entry's image, with :class:`PullProgress` events.
  Images are never pulled implicitly.
* :func:`tui.core.executors.docker_owner.find_orphans`, ``kill_orphans`` and ``prune``: ownership.

The container plumbing is in :mod:`~tui.core.executors.docker_backend` (launch, wait, removal),
:mod:`~tui.core.executors.docker_stream` (the attach socket) and
:mod:`~tui.core.executors.docker_client` (clients, timeouts, messages).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import docker.errors
import docker.utils

from tui.core.entries.models import DockerSpec
from tui.core.errors import internal
from tui.core.executors.base import Executor, ExecutorStatus
from tui.core.executors.docker_backend import DockerBackend, work_dir_for
from tui.core.executors.docker_client import (
    DockerHost,
    daemon_message,
    host_for,
    inspect_image,
    is_transport_error,
    unreachable,
)
from tui.core.executors.docker_owner import find_orphans, kill_orphans, prune, register_engine
from tui.core.labels import container_labels
from tui.core.process import ProcessBackend, RunSpec

if TYPE_CHECKING:
    from tui.core.engine import Engine

__all__ = ["DockerExecutor", "PullProgress", "find_orphans", "kill_orphans", "prune", "pull_image"]


class DockerExecutor(Executor):
    kind = "docker"

    @property
    def docker_spec(self) -> DockerSpec:
        spec = self.spec
        assert isinstance(spec, DockerSpec)
        return spec

    @property
    def host(self) -> DockerHost:
        """This entry's daemon (shared by every executor of the engine on the same URL)."""
        return host_for(self.engine, self.docker_spec.host)

    def _backend(self, run: RunSpec) -> ProcessBackend:
        spec = self.docker_spec
        run.work_dir = work_dir_for(spec, run)
        labels = container_labels(self.id, self.engine.instance_id, run.run_id)
        return DockerBackend(self.host, spec, run, labels, on_launch=lambda: register_engine(self.engine))

    def probe(self, timeout: float = 2.0) -> ExecutorStatus:
        """Daemon reachable and image present; blocks at most about ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        host = self.host
        image = self.docker_spec.image
        try:
            client = host.client(timeout)
        except Exception:  # noqa: BLE001 - any failure to connect is the same status
            return ExecutorStatus(False, f"cannot reach the Docker daemon at {host.url}")
        try:
            inspect_image(client, image, timeout=max(0.2, deadline - time.monotonic()))
        except docker.errors.ImageNotFound:
            return ExecutorStatus(False, f'image "{image}" not found on {host.url}', image_missing=True)
        except docker.errors.APIError as err:
            return ExecutorStatus(False, f"{host.url}: {daemon_message(err)}")
        except Exception:  # noqa: BLE001 - timeouts, resets: the daemon is not answering
            return ExecutorStatus(False, f"cannot reach the Docker daemon at {host.url}")
        return ExecutorStatus(True, "ready (image present)")


@dataclass(frozen=True)
class PullProgress:
    """One step of a pull, summed over all layers (``total`` grows as layers announce their sizes).

    ``status`` is the daemon's latest line (``Downloading``, ``Pull complete``, ``Status: Downloaded
    newer image for ...``); ``done`` is True on the last event, once the image is present.
    """

    status: str
    current: int = 0
    total: int = 0
    done: bool = False


def pull_image(engine: Engine, executor_id: str, on_progress: Callable[[PullProgress], None]) -> None:
    """Pull the image of docker entry ``executor_id`` onto its host, reporting progress.

    Blocks until the pull ended (run it on a worker). ``on_progress`` is called on this thread for
    every event of the daemon, then once with ``done=True``.

    Raises:
        ExecError: ``resource not found`` (no such docker entry), ``cannot reach the Docker daemon at
        <host>``, or ``pull of "<image>" on <host> failed: <the daemon's reason>``.
    """
    entry = engine.entry(executor_id)
    if entry is None or not isinstance(entry.spec, DockerSpec):
        raise internal("resource not found", id=executor_id)
    image = entry.spec.image
    host = host_for(engine, entry.spec.host)
    client = host.client()
    repository, tag = docker.utils.parse_repository_tag(image)
    layers: dict[str, tuple[int, int]] = {}  # layer id -> (current, total) bytes
    status = ""

    def failed(reason: str) -> Exception:
        return internal(f'pull of "{image}" on {host.url} failed: {reason}', image=image, host=host.url)

    try:
        for event in client.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if "error" in event or "errorDetail" in event:
                raise failed(str(event.get("error") or event.get("errorDetail")))
            status = _apply(event, layers)
            on_progress(_summary(status, layers))
    except docker.errors.APIError as err:
        raise failed(daemon_message(err)) from err
    except Exception as err:
        if is_transport_error(err):
            raise unreachable(host.url, str(err)) from err
        raise
    on_progress(PullProgress(status or f"pulled {image}", *_totals(layers), done=True))


def _apply(event: dict[str, Any], layers: dict[str, tuple[int, int]]) -> str:
    """Fold one pull event into the per-layer byte counts; returns its status line."""
    status = str(event.get("status", ""))
    layer = event.get("id")
    if layer and status != "Pulling from" and not status.startswith(("Digest:", "Status:")):
        current, total = layers.get(layer, (0, 0))
        detail = event.get("progressDetail") or {}
        if status == "Downloading" and detail.get("total"):
            current, total = int(detail.get("current", 0)), int(detail["total"])
        elif status in ("Download complete", "Pull complete", "Already exists"):
            current = total
        layers[layer] = (current, total)
    return f"{layer}: {status}" if layer and status and "Pulling from" not in status else status


def _totals(layers: dict[str, tuple[int, int]]) -> tuple[int, int]:
    return sum(c for c, _ in layers.values()), sum(t for _, t in layers.values())


def _summary(status: str, layers: dict[str, tuple[int, int]]) -> PullProgress:
    return PullProgress(status, *_totals(layers))
