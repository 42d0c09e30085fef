"""Reaching a Docker daemon: one lazy client per host, short timeouts, and messages for people.

Creating an executor never contacts a daemon (a console with docker entries starts even when no daemon
runs): :class:`DockerHost` is a cheap holder that an engine's runs share per host URL
(``scope.resource("docker:" + url, ...)``); its client (:class:`~tui.core.executors.engine_api.EngineClient`,
on the standard library) is connected on first use, when the daemon's ``/_ping`` says which API version
it serves. A failed connection is not remembered, so a daemon started later is found. The Docker SDK's
client, a quarter of a second to import, is made only for what still needs it (a pull, a build).

Every call that may meet a dead or silent daemon has an explicit, short timeout; the others use the
client's ``CALL_TIMEOUT``. The base URL is always explicit (the entry's ``host``, else ``DOCKER_HOST``,
else the local socket): Docker CLI contexts are never followed.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tui.core.errors import ExecError, internal
from tui.core.executors.base import Scope
from tui.core.executors.engine_api import MINIMUM_API_VERSION, APIError, EngineClient, NotFound

if TYPE_CHECKING:
    import docker

DEFAULT_HOST = "unix:///var/run/docker.sock"
#: Connecting (and negotiating the API version) with a daemon that does not answer gives up after this.
CONNECT_TIMEOUT = 5.0
#: Upper bound of one ordinary API call (create, start, remove) once connected.
CALL_TIMEOUT = 30
#: Upper bound of the quick calls made while ending runs (kill, inspect, ping).
QUICK_TIMEOUT = 5.0



def resolve_host(host: str) -> str:
    """The daemon URL for an entry's ``host``: itself, else ``DOCKER_HOST``, else the local socket."""
    return host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def unreachable(host: str, reason: str = "", what_failed: str = "") -> ExecError:
    """``cannot reach the Docker daemon at <host>``, then ``: <what_failed>`` when that is known for people
    (an ssh host: the key refused, no engine at the far end); the underlying reason goes into the details."""
    message = f"cannot reach the Docker daemon at {host}" + (f": {what_failed}" if what_failed else "")
    return internal(message, host=host, reason=reason)


def is_transport_error(err: BaseException) -> bool:
    """True when ``err`` means the daemon did not answer (refused, reset, timed out, gone), from this
    client or from the SDK's (``requests``' errors are ``OSError``: so is the SDK's ``APIError``, which
    its callers catch first)."""
    return isinstance(err, OSError)


def daemon_message(err: APIError | Exception) -> str:
    """The daemon's own explanation (an ``APIError``'s, the client's or the SDK's), without the status
    that prefixes the error's text and without the runtime's chain of wrappers around the part that matters.

    ``OCI runtime create failed: ... unable to start container process: exec: "nope": executable file
    not found in $PATH: unknown`` becomes ``exec: "nope": executable file not found in $PATH``.
    """
    text = str(getattr(err, "explanation", None) or err)
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
        self._client: EngineClient | None = None
        self._sdk: docker.APIClient | None = None
        self._engine = ""
        self._background: list[threading.Thread] = []

    def client(self, timeout: float = CONNECT_TIMEOUT) -> EngineClient:
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

    def sdk(self, timeout: float = CONNECT_TIMEOUT) -> docker.APIClient:
        """The Docker SDK's client of this daemon, at the API version :meth:`client` negotiated (for a
        pull or a build: see :mod:`~tui.core.executors.docker_sdk`). Raises as :meth:`client` does."""
        version = self.client(timeout).api_version
        with self._lock:
            if self._sdk is None:
                from tui.core.executors.docker_sdk import sdk_client

                self._sdk = sdk_client(self.url, version, timeout)
                self._sdk.timeout = CALL_TIMEOUT
            return self._sdk

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
            sdk, self._sdk = self._sdk, None
        if client is not None:
            client.close()
        if sdk is not None:
            sdk.close()


def host_for(scope: Scope, host: str) -> DockerHost:
    """The shared :class:`DockerHost` of ``scope`` for an entry's ``host`` (never contacts the daemon);
    closed when the engine shuts down."""
    url = resolve_host(host)

    def make() -> DockerHost:
        made = DockerHost(url)
        scope.add_cleanup(made.close)
        return made

    return scope.resource("docker:" + url, make)


def _connect(url: str, timeout: float) -> tuple[EngineClient, str]:
    """A client for the daemon at ``url`` and the name of its engine, or ``unreachable``.

    The API version is negotiated as the Docker CLI does it, from the ``Api-Version`` header of
    ``GET /_ping``, not with ``GET /version``: Podman answers that one slowly (1.3 to 1.6 s measured, as
    it asks its runtime and conmon for their versions), which alone would exceed a status probe's
    deadline. The ping's headers also say which engine it is.
    """
    client: EngineClient | None = None
    try:
        client = EngineClient(url, timeout=timeout)
        headers = client.ping_headers(timeout)
    except (APIError, ValueError, OSError) as err:
        # ssh may still be saying why it gave up: give it a moment.
        what_failed = client.failure(min(2.0, timeout)) if client is not None else ""
        if client is not None:
            client.close()
        raise unreachable(url, str(err), what_failed or (str(err) if isinstance(err, ValueError) else "")) from err
    # An engine too old to send the header (API < 1.25) is spoken to at the oldest version the SDK knows.
    client.api_version = headers.get("Api-Version") or MINIMUM_API_VERSION
    client.timeout = CALL_TIMEOUT
    return client, engine_name(headers)


# -- calls with an explicit timeout ------------------------------------------------------------------


def ping(client: EngineClient, timeout: float = QUICK_TIMEOUT) -> bool:
    """True when the daemon answers ``/_ping`` within ``timeout``."""
    return client.ping(timeout)


def inspect_container(client: EngineClient, container: str, timeout: float = QUICK_TIMEOUT) -> dict[str, Any]:
    """``GET /containers/<id>/json``. Raises ``NotFound``, or a transport error (``OSError``)."""
    return client.inspect_container(container, timeout=timeout)


def inspect_image(client: EngineClient, image: str, timeout: float = QUICK_TIMEOUT) -> dict[str, Any]:
    """``GET /images/<name>/json``. Raises ``ImageNotFound`` when absent, or a transport error."""
    return client.inspect_image(image, timeout=timeout)


def kill_container(client: EngineClient, container: str, signum: int, timeout: float = QUICK_TIMEOUT) -> None:
    """``POST /containers/<id>/kill?signal=n``. Raises ``APIError`` (409 when not running)."""
    client.kill(container, signum, timeout=timeout)


def remove_container(client: EngineClient, container: str, timeout: float = QUICK_TIMEOUT) -> None:
    """Force-remove a container and its anonymous volumes; one already gone is fine."""
    with contextlib.suppress(NotFound):
        client.remove_container(container, v=True, force=True, timeout=timeout)
