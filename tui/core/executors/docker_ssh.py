"""``ssh://`` daemons: the Docker Engine API through the system's ``ssh`` command, as the Docker CLI does it.

Every connection is one ``ssh -T -o BatchMode=yes [-l user] [-p port] -- machine docker [--host
unix://PATH] system dial-stdio`` process: the far end's docker command line joins its stdin and stdout
to the engine's socket (the ``DOCKER_HOST`` of that session, or the URL's path), so whatever works with
``docker -H ssh://...`` works here, with the user's own ssh configuration, keys, agent and known hosts.

Its stdin and stdout are one end of a socket pair, and this side holds the other end: a real socket, so
every timeout, ``select`` and half-close of the other transports holds here unchanged (the attach stream,
end of input, the streamed wait). ``BatchMode`` and a session of its own keep ssh from ever prompting on
the operator's terminal; its stderr is kept (the last lines) to say what failed when it ends early.

Why not the Docker SDK's own ssh support: its paramiko mode needs paramiko and three compiled
dependencies and reads only a part of ``~/.ssh/config``; its shell-out mode still imports paramiko, talks
through pipes no timeout bounds, lets ssh write over the console, leaves its ssh processes unreaped and
keeps no reason for a failure.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import shlex
import shutil
import socket
import subprocess
import threading
import urllib.parse
from typing import Any

import requests
import urllib3.connection
import urllib3.connectionpool
from docker.transport.basehttpadapter import BaseHTTPAdapter

#: The base URL of a client that goes through :class:`SSHAdapter` (not ``http+docker://ssh``, which the
#: SDK treats as its own ssh transport when it looks for the raw socket of an attach).
BASE_URL = "http+docker://execdeck-ssh"
_POOL_SIZE = 10
# ssh's own failures exit with 255; anything else is the far end's command.
_SSH_FAILED = 255
# Enough of ssh's stderr to explain a failure (a banner may come first).
_KEEP_LINES = 20


def ssh_command(url: str) -> list[str]:
    """The command that reaches the engine of ``url`` (``ssh://[user@]machine[:port][/socket/path]``).

    Raises:
        ValueError: not an ``ssh://`` URL with a machine.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise ValueError(f"not an ssh:// URL with a machine: {url}")
    command = ["ssh", "-T", "-o", "BatchMode=yes"]
    if parts.username:
        command += ["-l", urllib.parse.unquote(parts.username)]
    if parts.port:
        command += ["-p", str(parts.port)]
    remote = ["docker"]
    if parts.path not in ("", "/"):
        # The Docker CLI's meaning of a path in an ssh URL. The far end's shell reads this line.
        remote += ["--host", shlex.quote(f"unix://{urllib.parse.unquote(parts.path)}")]
    return [*command, "--", parts.hostname, " ".join([*remote, "system", "dial-stdio"])]


class SSHLink:
    """One ``ssh`` process and the socket that talks through it. Its stderr is read (and the process
    reaped) by a thread of its own, so an ended ssh never stays a zombie."""

    def __init__(self, command: list[str]) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                command, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.socket = ours
        self._stderr: collections.deque[str] = collections.deque(maxlen=_KEEP_LINES)
        self._ended = threading.Event()
        threading.Thread(target=self._watch, name=f"ssh-{self.process.pid}", daemon=True).start()

    def _watch(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                text = line.decode(errors="replace").strip()
                if text:
                    self._stderr.append(text)
        self.process.wait()
        self._ended.set()

    def failure(self, wait: float) -> str:
        """What failed, for people, once ssh ended (waiting at most ``wait`` seconds); "" while it runs."""
        if not self._ended.wait(wait):
            return ""
        return explain(self.process.returncode, list(self._stderr))

    def close(self) -> None:
        """Close the socket and end ssh (SIGTERM). Idempotent, never raises; the watcher reaps it."""
        with contextlib.suppress(OSError):
            self.socket.close()
        with contextlib.suppress(OSError):
            if self.process.poll() is None:
                self.process.terminate()


def explain(code: int, stderr: list[str]) -> str:
    """Why an ssh connection to an engine ended, from ssh's exit code and the last lines of its stderr."""
    said = stderr[-1] if stderr else ""
    text = "\n".join(stderr)
    if code == _SSH_FAILED:
        if "Permission denied" in text:
            return f"ssh: the machine refused the key ({said})"
        if "Host key verification failed" in text or "host key" in text.lower():
            return f"ssh: the machine's host key is unknown or has changed ({said})"
        return f"ssh: could not reach the machine ({said or 'ssh exited with 255'})"
    if code == 127 or "command not found" in text:
        return f"no docker command at the far end ({said or 'exit 127'})"
    if code == 0:
        return "the far end closed the connection"
    return f"no Docker engine answers at the far end ({said or f'docker exited with {code}'})"


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
        program = shutil.which(self.command[0])
        if program is None:
            raise FileNotFoundError(f"no ssh command on this machine (PATH={os.environ.get('PATH', '')})")
        link = SSHLink([program, *self.command[1:]])
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
    import docker

    adapter = SSHAdapter(url, timeout)
    # Built for a TCP URL that is never used: the SDK would otherwise take its own ssh transport.
    client: Any = docker.APIClient(base_url="tcp://127.0.0.1:9", version=version, timeout=math.ceil(timeout))
    client._unmount("http://", "https://")  # nothing may leave by plain HTTP
    client.mount(BASE_URL, adapter)
    client.base_url = BASE_URL
    client.ssh_adapter = adapter
    return client
