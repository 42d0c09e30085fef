"""The Docker SDK's client, for what the executor still asks of it: an image's pull and its build, whose
streamed progress and registry credentials the SDK handles. Every other call goes through the small client
of :mod:`engine_api`, which costs nothing to import; this module is imported only for a pull or a build.

``ssh://`` daemons reach the SDK through :class:`SSHAdapter`: the same ``ssh ... docker system dial-stdio``
connections as :mod:`docker_ssh` makes for the small client, as a ``requests`` transport.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import docker
import requests
import urllib3.connection
import urllib3.connectionpool
from docker.transport.basehttpadapter import BaseHTTPAdapter

from tui.core.executors.docker_ssh import SSHLink, open_link, ssh_command

#: The base URL of a client that goes through :class:`SSHAdapter` (not ``http+docker://ssh``, which the
#: SDK treats as its own ssh transport when it looks for the raw socket of an attach).
BASE_URL = "http+docker://execdeck-ssh"
_POOL_SIZE = 10


def sdk_client(url: str, version: str, timeout: float) -> docker.APIClient:
    """An SDK client of the daemon at ``url`` speaking API ``version``; contacts nothing yet.

    Raises:
        ValueError: ``url`` is not a daemon URL the SDK can reach.
    """
    if url.startswith("ssh://"):
        client: docker.APIClient = ssh_client(url, version, timeout)
        return client
    return docker.APIClient(base_url=url, version=version, timeout=max(1, math.ceil(timeout)))


class SSHConnection(urllib3.connection.HTTPConnection):
    """An HTTP connection over one :class:`SSHLink`."""

    def __init__(self, adapter: SSHAdapter, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._adapter = adapter
        self._link: SSHLink | None = None

    def connect(self) -> None:
        self._link = self._adapter.open_link()
        self._link.socket.settimeout(self.timeout)  # type: ignore[arg-type]
        self.sock = self._link.socket

    def close(self) -> None:
        super().close()
        if self._link is not None:
            self._link.close()


class SSHConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    def __init__(self, adapter: SSHAdapter, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout, maxsize=_POOL_SIZE)
        self._adapter = adapter
        self._connect_timeout = timeout

    def _new_conn(self) -> SSHConnection:
        return SSHConnection(self._adapter, self._connect_timeout)


class SSHAdapter(BaseHTTPAdapter):  # type: ignore[misc]
    """The ``requests`` transport of one ``ssh://`` URL: a pool of connections, one ssh process each."""

    def __init__(self, url: str, timeout: float) -> None:
        self.command = ssh_command(url)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._last: SSHLink | None = None
        self._pool: SSHConnectionPool | None = None
        super().__init__()

    def open_link(self) -> SSHLink:
        """Start one ssh process. Raises ``OSError`` (a transport error) when there is no ssh to run."""
        link = open_link(self.command)
        with self._lock:
            self._last = link
        return link

    def failure(self, wait: float) -> str:
        """What failed on the newest connection, once its ssh ended (waiting at most ``wait`` seconds)."""
        with self._lock:
            link = self._last
        return link.failure(wait) if link is not None else ""

    def get_connection(self, url: Any, proxies: Any = None) -> SSHConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = SSHConnectionPool(self, self.timeout)
            return self._pool

    def request_url(self, request: requests.PreparedRequest, proxies: Any) -> str:
        return str(request.path_url)  # no proxies, no host: the path is the whole request line

    def close(self) -> None:
        super().close()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


def ssh_client(url: str, version: str, timeout: float) -> Any:
    """A ``docker.APIClient`` whose requests reach ``url``'s engine through :class:`SSHAdapter`, speaking
    API ``version``; contacts nothing yet. Its :attr:`adapter <SSHAdapter>` is ``client.ssh_adapter``.

    Raises:
        ValueError: ``url`` is not an ``ssh://`` URL with a machine.
    """
    adapter = SSHAdapter(url, timeout)
    # Built for a TCP URL that is never used: the SDK would otherwise take its own ssh transport.
    client: Any = docker.APIClient(base_url="tcp://127.0.0.1:9", version=version, timeout=math.ceil(timeout))
    client._unmount("http://", "https://")  # nothing may leave by plain HTTP
    client.mount(BASE_URL, adapter)
    client.base_url = BASE_URL
    client.ssh_adapter = adapter
    return client
