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
from tui.core.structs import record


def pull_image(image: str, host: str, scope: Scope, on_progress: Callable[[PullProgress], None]) -> None:
    """Pull ``image`` onto the daemon ``host`` (an entry's ``host``: empty for the default), reporting progress.

    Blocks until the pull ended (run it on a worker). ``on_progress`` is called on this thread for
    every event of the daemon, then once with ``done=True``.

    Raises:
        ExecError: ``cannot reach the Docker daemon at <host>``, or ``pull of "<image>" on <host>
        failed: <the daemon's reason>``.
    """
    daemon = host_for(scope, host)
    client = daemon.sdk()
    repository, tag = docker.utils.parse_repository_tag(image)
    layers: dict[str, _Layer] = {}
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


@record
class _Layer:
    current: int = 0  # bytes
    total: int = 0  # bytes; 0 while unknown
    done: bool = False


# A layer in one of these states needs nothing more.
_LAYER_DONE = ("Download complete", "Pull complete", "Already exists")


def _apply(event: dict[str, Any], layers: dict[str, _Layer]) -> str:
    """Fold one pull event into the per-layer counts; returns its status line."""
    status = str(event.get("status", ""))
    layer_id = event.get("id")
    if layer_id and status != "Pulling from" and not status.startswith(("Digest:", "Status:")):
        layer = layers.setdefault(layer_id, _Layer())
        detail = event.get("progressDetail") or {}
        if status == "Downloading" and detail.get("total"):
            layer.current, layer.total = int(detail.get("current", 0)), int(detail["total"])
        elif status in _LAYER_DONE:
            layer.current, layer.done = layer.total, True
    return f"{layer_id}: {status}" if layer_id and status and "Pulling from" not in status else status


def _totals(layers: dict[str, _Layer]) -> tuple[int, int]:
    """``(current, total)``: bytes when the daemon reports sizes (Docker does, in ``progressDetail``);
    else layers done of layers announced (Podman reports no sizes), so the bar still moves."""
    if any(layer.total for layer in layers.values()):
        return sum(layer.current for layer in layers.values()), sum(layer.total for layer in layers.values())
    return sum(layer.done for layer in layers.values()), len(layers)


def _summary(status: str, layers: dict[str, _Layer]) -> PullProgress:
    return PullProgress(status, *_totals(layers))
