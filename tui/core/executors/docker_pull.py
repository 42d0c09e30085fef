"""The explicit pull of a Docker image onto a daemon, with progress (images are never pulled implicitly).

:func:`pull_image` is the ``pull`` capability of the ``exec.docker`` kind: the console's pull dialog
calls it on a worker. The daemon reports a pull as a stream of events per layer; they are summed into
one :class:`PullProgress` per event, so a single progress bar can follow the whole image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker.errors
import docker.utils

from tui.core.errors import internal
from tui.core.executors.base import PullProgress, Scope
from tui.core.executors.docker_client import daemon_message, host_for, is_transport_error, unreachable


def pull_image(image: str, host: str, scope: Scope, on_progress: Callable[[PullProgress], None]) -> None:
    """Pull ``image`` onto the daemon ``host`` (an entry's ``host``: empty for the default), reporting progress.

    Blocks until the pull ended (run it on a worker). ``on_progress`` is called on this thread for
    every event of the daemon, then once with ``done=True``.

    Raises:
        ExecError: ``cannot reach the Docker daemon at <host>``, or ``pull of "<image>" on <host>
        failed: <the daemon's reason>``.
    """
    daemon = host_for(scope, host)
    client = daemon.client()
    repository, tag = docker.utils.parse_repository_tag(image)
    layers: dict[str, tuple[int, int]] = {}  # layer id -> (current, total) bytes
    status = ""

    def failed(reason: str) -> Exception:
        return internal(f'pull of "{image}" on {daemon.url} failed: {reason}', image=image, host=daemon.url)

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
            raise unreachable(daemon.url, str(err)) from err
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
