"""Reaching a Docker daemon: one lazy client per host, short timeouts, and messages for people.

Creating an executor never contacts a daemon (a console with docker entries starts even when no daemon
runs): :class:`DockerHost` is a cheap holder that an engine's runs share per host URL
(``scope.resource("docker:" + url, ...)``); the low-level
``APIClient`` is built on first use, because its constructor asks the daemon for its API version and
raises when no daemon answers. A failed build is not remembered, so a daemon started later is found.

Every call that may meet a dead or silent daemon has an explicit, short timeout; the SDK's methods
that take none use the client's ``CALL_TIMEOUT``. The base URL is always explicit (the entry's
``host``, else ``DOCKER_HOST``, else the local socket): Docker CLI contexts are never followed.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import docker
import docker.errors
import requests
from docker.constants import MINIMUM_DOCKER_API_VERSION

from tui.core.errors import ExecError, internal
from tui.core.executors.base import Scope
from tui.core.executors.docker_ssh import ssh_client

DEFAULT_HOST = "unix:///var/run/docker.sock"
#: Connecting (and negotiating the API version) with a daemon that does not answer gives up after this.
CONNECT_TIMEOUT = 5.0
#: Upper bound of one ordinary API call (create, start, remove) once connected.
CALL_TIMEOUT = 30
#: Upper bound of the quick calls made while ending runs (kill, inspect, ping).
QUICK_TIMEOUT = 5.0

_TRANSPORT_ERRORS = (
    requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError,
)


def resolve_host(host: str) -> str:
    """The daemon URL for an entry's ``host``: itself, else ``DOCKER_HOST``, else the local socket."""
    return host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def unreachable(host: str, reason: str = "", what_failed: str = "") -> ExecError:
    """``cannot reach the Docker daemon at <host>``, then ``: <what_failed>`` when that is known for people
    (an ssh host: the key refused, no engine at the far end); the underlying reason goes into the details."""
    message = f"cannot reach the Docker daemon at {host}" + (f": {what_failed}" if what_failed else "")
    return internal(message, host=host, reason=reason)


def is_transport_error(err: BaseException) -> bool:
    """True when ``err`` means the daemon did not answer (refused, reset, timed out, gone)."""
    return isinstance(err, _TRANSPORT_ERRORS)


def daemon_message(err: docker.errors.APIError) -> str:
    """The daemon's own explanation, without the SDK's ``500 Server Error for http+docker://...`` prefix
    and without the runtime's chain of wrappers around the part that matters.

    ``OCI runtime create failed: ... unable to start container process: exec: "nope": executable file
    not found in $PATH: unknown`` becomes ``exec: "nope": executable file not found in $PATH``.
    """
    text = str(err.explanation or err)
    for marker in ("unable to start container process: ", "starting container process caused: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    text = re.sub(r":\s*unknown$", "", text.strip())
    return text.strip().strip('"').strip() or str(err)


def engine_name(headers: Mapping[str, str]) -> str:
    """Which engine answered ``GET /_ping``, for people: ``Docker 20.10.24`` or ``Podman 4.3.1``, with the
    API version it serves (``(API 1.41)``). Both say so in the answer's headers: Docker's ``Server`` is
    ``Docker/20.10.24 (linux)``, Podman's ``Libpod/4.3.1 (linux)`` (and it adds ``Libpod-Api-Version``).
    """
    server = headers.get("Server", "")
    product, _, version = server.partition(" ")[0].partition("/")
    if headers.get("Libpod-Api-Version") or product.lower() == "libpod":
        text = f"Podman {headers.get('Libpod-Api-Version') or version}".rstrip()
    elif product.lower() == "docker":
        text = f"Docker {version}".rstrip()
    else:
        text = f"an engine that does not say which ({server or 'no Server header'})"
    api = headers.get("Api-Version", "")
    return f"{text} (API {api})" if api else text


def is_podman(engine: str) -> bool:
    """True when :func:`engine_name` named Podman."""
    return engine.startswith("Podman ")


class DockerHost:
    """One daemon URL and, once it answered, its client. Thread-safe; cheap to create."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._client: docker.APIClient | None = None
        self._engine = ""
        self._background: list[threading.Thread] = []

    def client(self, timeout: float = CONNECT_TIMEOUT) -> docker.APIClient:
        """The connected client, built now if needed (waiting at most about ``timeout`` seconds).

        Raises:
            ExecError: ``cannot reach the Docker daemon at <url>`` (the reason in its details).
        """
        client = self._client
        if client is not None:
            return client
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            raise unreachable(self.url, "another connection attempt is still waiting for the daemon")
        try:
            if self._client is None:
                left = max(0.5, deadline - time.monotonic())
                self._client, self._engine = _connect(self.url, left)
            return self._client
        finally:
            self._lock.release()

    @property
    def engine(self) -> str:
        """Which engine serves this host (:func:`engine_name`), learnt when it connected; "" before."""
        return self._engine

    def in_background(self, work: Callable[[], None], name: str) -> None:
        """Run ``work`` (a removal) on a thread of its own; :meth:`close` waits for it."""
        thread = threading.Thread(target=work, name=name, daemon=True)
        with self._lock:
            self._background = [t for t in self._background if t.is_alive()]
            self._background.append(thread)
        thread.start()

    def settle(self, wait: float = 10.0) -> bool:
        """Wait at most ``wait`` seconds for the background work started so far; True when all ended."""
        deadline = time.monotonic() + wait
        with self._lock:
            pending = list(self._background)
        for thread in pending:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in pending)

    def close(self, wait: float = 10.0) -> None:
        """Wait (at most ``wait`` seconds) for background work, then close the pooled connections
        (at engine shutdown)."""
        self.settle(wait)
        with self._lock:
            client, self._client, self._engine = self._client, None, ""
        if client is not None:
            client.close()


def host_for(scope: Scope, host: str) -> DockerHost:
    """The shared :class:`DockerHost` of ``scope`` for an entry's ``host`` (never contacts the daemon);
    closed when the engine shuts down."""
    url = resolve_host(host)

    def make() -> DockerHost:
        made = DockerHost(url)
        scope.add_cleanup(made.close)
        return made

    return scope.resource("docker:" + url, make)


def _connect(url: str, timeout: float) -> tuple[docker.APIClient, str]:
    """A client for the daemon at ``url`` and the name of its engine, or ``unreachable``.

    The API version is negotiated as the Docker CLI does it, from the ``Api-Version`` header of
    ``GET /_ping``, not with the SDK's ``GET /version``: Podman answers that one slowly (1.3 to 1.6 s
    measured, as it asks its runtime and conmon for their versions), which alone would exceed a status
    probe's deadline. The ping's headers also say which engine it is.
    """
    client: Any = None
    try:
        # A version given explicitly: the constructor contacts nothing.
        if url.startswith("ssh://"):
            client = ssh_client(url, MINIMUM_DOCKER_API_VERSION, timeout)
        else:
            client = docker.APIClient(base_url=url, version=MINIMUM_DOCKER_API_VERSION,
                                      timeout=max(1, math.ceil(timeout)))
        api = raw_api(client)
        response = api._get(api._url("/_ping", versioned_api=False), timeout=timeout)
        api._raise_for_status(response)
    except (docker.errors.DockerException, ValueError, *_TRANSPORT_ERRORS, OSError) as err:
        adapter = getattr(client, "ssh_adapter", None)
        # ssh may still be saying why it gave up: give it a moment.
        what_failed = adapter.failure(min(2.0, timeout)) if adapter is not None else ""
        if client is not None:
            client.close()
        raise unreachable(url, str(err), what_failed or (str(err) if isinstance(err, ValueError) else "")) from err
    # An engine too old to send the header (API < 1.25) is spoken to at the oldest version the SDK knows.
    api._version = response.headers.get("Api-Version") or MINIMUM_DOCKER_API_VERSION
    client.timeout = CALL_TIMEOUT
    return client, engine_name(response.headers)


# -- calls with an explicit timeout (the SDK's methods take none) --------------------------------------


def raw_api(client: docker.APIClient) -> Any:
    """The SDK's request helpers (``_url``, ``_get``, ``_post``, ``_result``...), which its type stubs
    leave out: explicit timeouts and the streamed wait need them."""
    return client


def ping(client: docker.APIClient, timeout: float = QUICK_TIMEOUT) -> bool:
    """True when the daemon answers ``/_ping`` within ``timeout``."""
    api = raw_api(client)
    try:
        response = api._get(api._url("/_ping"), timeout=timeout)
        return bool(response.status_code == 200)
    except (*_TRANSPORT_ERRORS, OSError):
        return False


def inspect_container(client: docker.APIClient, container: str, timeout: float = QUICK_TIMEOUT) -> dict[str, Any]:
    """``GET /containers/<id>/json``. Raises the SDK's errors (``NotFound``) or transport errors."""
    api = raw_api(client)
    response = api._get(api._url("/containers/{0}/json", container), timeout=timeout)
    result: dict[str, Any] = api._result(response, True)
    return result


def inspect_image(client: docker.APIClient, image: str, timeout: float = QUICK_TIMEOUT) -> dict[str, Any]:
    """``GET /images/<name>/json``. Raises ``ImageNotFound`` when absent, or transport errors."""
    api = raw_api(client)
    response = api._get(api._url("/images/{0}/json", image), timeout=timeout)
    result: dict[str, Any] = api._result(response, True)
    return result


def kill_container(client: docker.APIClient, container: str, signum: int, timeout: float = QUICK_TIMEOUT) -> None:
    """``POST /containers/<id>/kill?signal=n``. Raises the SDK's errors (409 when not running)."""
    api = raw_api(client)
    response = api._post(
        api._url("/containers/{0}/kill", container), params={"signal": signum}, timeout=timeout
    )
    api._raise_for_status(response)


def remove_container(client: docker.APIClient, container: str, timeout: float = QUICK_TIMEOUT) -> None:
    """Force-remove a container and its anonymous volumes; one already gone is fine."""
    api = raw_api(client)
    response = api._delete(
        api._url("/containers/{0}", container), params={"v": True, "force": True}, timeout=timeout
    )
    if response.status_code == 404:
        return
    api._raise_for_status(response)
