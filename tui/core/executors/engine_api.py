"""A small client of the Docker Engine API, on the standard library alone: what a run needs, quickly.

The Docker SDK costs a quarter of a second to import (``requests``, ``urllib3`` and its own modules), and
``http.client`` tens of milliseconds more (the ``email`` package): more than the rest of a short
``execdeck run`` of a container. This client speaks HTTP/1.1 itself over a socket, to a daemon at
``unix://PATH``, ``tcp://HOST:PORT`` (plain HTTP, as the SDK without TLS) or ``ssh://...`` (one
``ssh ... docker system dial-stdio`` process per connection, see :mod:`docker_ssh`). Docker and Podman's
API service both answer it.

Its methods carry the names, arguments and return shapes of the SDK's ``docker.APIClient`` for the part
that the executor uses (containers, execs, images' inspection, events), so code written against one reads
the same against the other. Failures are of two kinds:

* :class:`APIError` (and :class:`NotFound`, :class:`ImageNotFound`): the daemon answered, and said no;
  its explanation is in ``explanation``, its HTTP status in ``status_code``.
* :class:`EngineUnreachable` (an ``OSError``): no answer. Refused, no socket, a deadline passed, the
  connection broke or the answer broke off. Every call has a deadline for its whole answer (``timeout``,
  else the client's), not only for each read; a streamed body (a wait, the events) is read without one,
  and can be cancelled from another thread with its ``close()``.

Connections are kept alive and reused one call at a time, as the SDK's pool does; a hijacked connection
(attach, exec start) and a streamed one (wait, events) belong to their caller.
"""

from __future__ import annotations

import _socket  # not socket: its enums cost a container's command line more than the rest of this module
import contextlib
import json
import select
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

#: The oldest API version the Docker SDK speaks, which every engine of interest serves.
MINIMUM_API_VERSION = "1.24"
#: Upper bound of one call when neither the call nor the client says otherwise.
DEFAULT_TIMEOUT = 60.0
# A response head larger than this is not a daemon speaking.
_MAX_HEAD = 64 * 1024
_READ = 64 * 1024
# The daemon's answer to these has no body.
_NO_BODY = (101, 204, 304)
# Marks of a missing image in a 404's explanation, lower case (those the SDK uses to raise ImageNotFound).
_NO_IMAGE = ("no such image", "not found: does not exist or no pull access", "repository does not exist",
             "was found but does not match the specified platform")


class APIError(Exception):
    """The daemon answered with an error status: ``status_code`` and its ``explanation``."""

    def __init__(self, status_code: int, explanation: str, reason: str = "") -> None:
        self.status_code = status_code
        self.explanation = explanation
        self.reason = reason
        super().__init__(f"{status_code} {reason}: {explanation}".replace(" :", ":", 1))


class NotFound(APIError):
    """404: no such container, exec or image."""


class ImageNotFound(NotFound):
    """404 about an image."""


class EngineUnreachable(ConnectionError):
    """The daemon did not answer: no connection, a deadline passed, or the answer broke off."""


def api_error(status: int, reason: str, body: bytes) -> APIError:
    """The error for an answer with ``status`` >= 400, its explanation taken from the JSON ``message``."""
    text = body.decode(errors="replace").strip()
    with contextlib.suppress(ValueError, AttributeError):
        text = str(json.loads(text).get("message") or text)
    if status != 404:
        return APIError(status, text, reason)
    cls = ImageNotFound if any(mark in text.lower() for mark in _NO_IMAGE) else NotFound
    return cls(status, text, reason)


class _Headers(dict[str, str]):
    """A response's headers; names looked up without regard to case (``Api-Version``)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class _Connection:
    """One socket to the daemon and the bytes read from it ahead of their use."""

    def __init__(self, sock: _socket.socket, link: Any = None) -> None:
        self.sock = sock
        self.link = link  # the ssh process behind an ssh:// connection, closed with it
        self.buffer = bytearray()
        self.deadline: float | None = None
        self.answered = False  # a byte of an answer to the current request came

    def _recv(self, size: int = _READ, flags: int = 0) -> bytes:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the daemon did not answer in time")
            self.sock.settimeout(left)
        else:
            self.sock.settimeout(None)
        return self.sock.recv(size, flags)

    def fill(self) -> None:
        data = self._recv()
        if not data:
            raise EngineUnreachable("the daemon closed the connection before its answer was complete")
        self.answered = True
        self.buffer += data

    def read_head(self, exact: bool = False) -> tuple[int, str, _Headers]:
        """The status, reason and headers of the next answer. With ``exact``, not one byte past the head
        is taken from the socket (a hijacked connection carries the stream right after it)."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buffer[:end])
                del self.buffer[: end + 4]
                break
            if len(self.buffer) > _MAX_HEAD:
                raise EngineUnreachable("the daemon's answer has no end of its head")
            if not exact:
                self.fill()
                continue
            peeked = self._recv(_READ, _socket.MSG_PEEK)
            if not peeked:
                raise EngineUnreachable("the daemon closed the connection before it answered")
            self.answered = True
            # Take what belongs to the head: up to its end if it is there, else all that was peeked.
            seen = self.buffer + peeked
            found = seen.find(b"\r\n\r\n")
            take = len(peeked) if found < 0 else found + 4 - len(self.buffer)
            self.buffer += self._recv(take)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise EngineUnreachable(f"not an HTTP answer: {lines[0][:80]!r}")
        headers = _Headers()
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), parts[2] if len(parts) > 2 else "", headers

    def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read_line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self.fill()
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    def body_pieces(self, status: int, headers: _Headers, method: str) -> Iterator[bytes]:
        """The body as it arrives (chunked, sized, or up to the end of the connection)."""
        if status in _NO_BODY or method == "HEAD":
            return
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size = int(self.read_line().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.read_line():  # trailers, then the empty line
                        pass
                    return
                yield self.read_exact(size)
                self.read_exact(2)
        elif "content-length" in headers:
            left = int(headers["content-length"])
            while left > 0:
                if not self.buffer:
                    self.fill()
                piece = bytes(self.buffer[:left])
                del self.buffer[: len(piece)]
                left -= len(piece)
                yield piece
        else:
            while True:
                if self.buffer:
                    piece = bytes(self.buffer)
                    self.buffer.clear()
                    yield piece
                data = self._recv()
                if not data:
                    return
                self.buffer += data

    def reusable(self) -> bool:
        """True when the daemon neither closed this idle connection nor sent anything on it."""
        if self.buffer:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.link is not None:
            self.link.close()


class StreamedResponse:
    """An answer whose head is in and whose body is read later (a wait, the events), on a connection
    of its own. :meth:`close` from another thread ends a blocked read."""

    def __init__(self, conn: _Connection, status: int, headers: _Headers, method: str) -> None:
        self._conn = conn
        self.status_code = status
        self.headers = headers
        self._method = method
        conn.deadline = None  # the body may take as long as the run

    def read(self) -> bytes:
        """The whole body. Raises ``OSError`` (``EngineUnreachable``) when the connection broke."""
        return b"".join(self._conn.body_pieces(self.status_code, self.headers, self._method))

    def json(self) -> Any:
        return json.loads(self.read())

    def lines(self) -> Iterator[bytes]:
        """The body's lines (one JSON document each, for the events), as they come."""
        pending = b""
        for piece in self._conn.body_pieces(self.status_code, self.headers, self._method):
            pending += piece
            *done, pending = pending.split(b"\n")
            yield from (line for line in done if line.strip())
        if pending.strip():
            yield pending

    def close(self) -> None:
        """End the connection (a read blocked on it returns). Idempotent, never raises."""
        with contextlib.suppress(OSError):
            self._conn.sock.shutdown(_socket.SHUT_RDWR)
        self._conn.close()


class RawStream:
    """A hijacked connection (attach, exec start), shaped as the SDK's: the socket is ``_sock``;
    :meth:`close` also ends the ssh process behind an ``ssh://`` one."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self._sock = conn.sock

    def close(self) -> None:
        self._conn.close()


class EventStream:
    """``events(decode=True)``: iterate for the decoded events; ``close()`` ends the iteration."""

    def __init__(self, response: StreamedResponse) -> None:
        self._response = response

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for line in self._response.lines():
            yield json.loads(line)

    def close(self) -> None:
        self._response.close()


def _container_id(container: str | Mapping[str, Any]) -> str:
    """A container (or exec) named by its id, or by the dict ``create_container`` returned (as the SDK),
    quoted for a path."""
    return urllib.parse.quote(str(container.get("Id") if isinstance(container, Mapping) else container), safe="")


class EngineClient:
    """The daemon at ``base_url``, spoken to at API ``version`` (``""``: unversioned paths). Thread-safe;
    contacts nothing until the first call. ``timeout`` bounds every call that names none."""

    def __init__(self, base_url: str, version: str = "", timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url
        self.api_version = version
        self.timeout = timeout
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._ssh_command: list[str] | None = None
        self._last_link: Any = None
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme == "unix":
            self._address: Any = (_socket.AF_UNIX, parts.path or "/var/run/docker.sock")
        elif parts.scheme in ("tcp", "http"):
            if not parts.hostname:
                raise ValueError(f"no host in the Docker daemon URL {base_url}")
            self._address = (_socket.AF_INET, (parts.hostname, parts.port or 2375))
        elif parts.scheme == "ssh":
            from tui.core.executors.docker_ssh import ssh_command

            self._ssh_command = ssh_command(base_url)
        else:
            raise ValueError(f"unsupported Docker daemon URL {base_url} (unix://, tcp:// or ssh://)")

    # -- connections -------------------------------------------------------------------------------

    def _dial(self, timeout: float) -> _Connection:
        if self._ssh_command is not None:
            from tui.core.executors.docker_ssh import open_link

            link = open_link(self._ssh_command)
            self._last_link = link
            return _Connection(link.socket, link)
        family, address = self._address
        if family == _socket.AF_INET:
            import socket  # tcp:// only (it resolves names)

            return _Connection(socket.create_connection(address, timeout=timeout))
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _take(self, timeout: float) -> tuple[_Connection, bool]:
        """A connection, and whether it is a kept one."""
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if conn.reusable():
                    return conn, True
                conn.close()
        return self._dial(timeout), False

    def _give_back(self, conn: _Connection) -> None:
        with self._lock:
            self._idle.append(conn)

    def failure(self, wait: float) -> str:
        """For ``ssh://``: what failed on the newest connection once its ssh ended (waiting at most
        ``wait`` seconds); "" for the other transports and while ssh runs."""
        link = self._last_link
        return link.failure(wait) if link is not None else ""

    def close(self) -> None:
        """Close the idle connections; streamed and hijacked ones belong to their holders."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- requests ----------------------------------------------------------------------------------

    def _path(self, path: str, params: Mapping[str, Any] | None, versioned: bool) -> str:
        prefix = f"/v{self.api_version}" if versioned and self.api_version else ""
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        return prefix + path + ("?" + urllib.parse.urlencode(query) if query else "")

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
              headers: Mapping[str, str] | None = None, timeout: float | None = None,
              versioned: bool = True, exact: bool = False) -> tuple[_Connection, int, str, _Headers]:
        """Send one request and read the head of its answer, within ``timeout`` (else the client's).
        The connection is the caller's to read the body from, then give back or close."""
        limit = self.timeout if timeout is None else timeout
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [f"{method} {self._path(path, params, versioned)} HTTP/1.1", "Host: docker",
                 "User-Agent: execdeck"]
        if body is not None:
            lines.append("Content-Type: application/json")
        if payload or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(payload)}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        deadline = time.monotonic() + limit
        # A kept connection the daemon closed just as it was taken fails before any answer: a call that
        # may be made twice (it changes nothing, or a removal: the second finds nothing) is then tried
        # once more, on a new connection.
        retry = method in ("GET", "HEAD", "DELETE")
        while True:
            try:
                conn, reused = self._take(limit)
            except OSError as err:
                raise EngineUnreachable(f"cannot connect: {err.strerror or err}") from err
            conn.deadline, conn.answered = deadline, False
            try:
                conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
                conn.sock.sendall(request)
                status, reason, answer = conn.read_head(exact)
            except BaseException as err:
                conn.close()
                if retry and reused and isinstance(err, ConnectionError) and not conn.answered:
                    retry = False
                    continue
                mapped = _unreachable(err, f"{method} {path}: ")
                if mapped is err:
                    raise
                raise mapped from err
            return conn, status, reason, answer

    def _finish(self, conn: _Connection, method: str, path: str, status: int, headers: _Headers) -> bytes:
        """Read the body within the request's deadline; keep the connection for the next call when it
        can be."""
        try:
            body = b"".join(conn.body_pieces(status, headers, method))
        except BaseException as err:
            conn.close()
            mapped = _unreachable(err, f"{method} {path}: the answer broke off: ")
            if mapped is err:
                raise
            raise mapped from err
        if headers.get("connection", "").lower() == "close" or not (
                "content-length" in headers or "chunked" in headers.get("transfer-encoding", "")
                or status in _NO_BODY):
            conn.close()
        else:
            self._give_back(conn)
        return body

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
                timeout: float | None = None, versioned: bool = True) -> tuple[int, _Headers, bytes]:
        """One call: status, headers and body. Raises :class:`APIError` for a status >= 400,
        :class:`EngineUnreachable` when there was no whole answer within ``timeout``."""
        conn, status, reason, headers = self._send(method, path, params=params, body=body, timeout=timeout,
                                                   versioned=versioned)
        data = self._finish(conn, method, path, status, headers)
        if status >= 400:
            raise api_error(status, reason, data)
        return status, headers, data

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        _, _, data = self.request(method, path, **kwargs)
        try:
            return json.loads(data) if data.strip() else None
        except ValueError as err:
            raise EngineUnreachable(f"{method} {path}: the answer is not JSON ({data[:80]!r})") from err

    def stream(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
               timeout: float | None = None) -> StreamedResponse:
        """A call whose body is read later (without a deadline): ``timeout`` bounds the head alone."""
        conn, status, reason, headers = self._send(method, path, params=params, timeout=timeout)
        if status >= 400:
            raise api_error(status, reason, self._finish(conn, method, path, status, headers))
        return StreamedResponse(conn, status, headers, method)

    def hijack(self, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
               timeout: float | None = None) -> RawStream:
        """``POST`` that turns the connection into a raw stream (attach, exec start): its socket, which
        the caller owns, positioned at the first byte after the answer's head."""
        conn, status, reason, headers = self._send(
            "POST", path, params=params, body=body, timeout=timeout, exact=True,
            headers={"Connection": "Upgrade", "Upgrade": "tcp"},
        )
        if status >= 400:
            raise api_error(status, reason, self._finish(conn, "POST", path, status, headers))
        conn.sock.settimeout(None)  # the call's deadline is over: the stream's reader sets its own
        return RawStream(conn)

    # -- the SDK's methods -------------------------------------------------------------------------

    def ping_headers(self, timeout: float | None = None) -> _Headers:
        """The headers of ``GET /_ping`` (the API version, which engine): raises when it does not answer."""
        _, headers, _ = self.request("GET", "/_ping", timeout=timeout, versioned=False)
        return headers

    def ping(self, timeout: float | None = None) -> bool:
        """True when the daemon answers ``/_ping``."""
        try:
            self.request("GET", "/_ping", timeout=timeout)
        except (APIError, OSError):
            return False
        return True

    def create_host_config(self, **options: Any) -> dict[str, Any]:
        """``HostConfig`` from the SDK's keyword arguments (the part the executor uses), as it builds it."""
        config: dict[str, Any] = {}
        for name, key in _HOST_CONFIG.items():
            value = options.pop(name, None)
            if value is not None and (value or name == "init"):
                config[key] = value
        network = options.pop("network_mode", None)
        config["NetworkMode"] = network or "default"
        log_config = options.pop("log_config", None)
        if log_config is not None:
            config["LogConfig"] = {"Type": log_config["Type"], "Config": log_config.get("Config") or {}}
        if options:
            raise TypeError(f"create_host_config: not supported here: {', '.join(sorted(options))}")
        return config

    def create_container(self, image: str, command: list[str] | None = None, *, stdin_open: bool = False,
                         tty: bool = False, environment: list[str] | None = None, working_dir: str | None = None,
                         user: str | None = None, labels: Mapping[str, str] | None = None,
                         host_config: Mapping[str, Any] | None = None, name: str | None = None,
                         timeout: float | None = None) -> dict[str, Any]:
        """``POST /containers/create``: ``{"Id": ..., "Warnings": [...]}``. ``stdin_open`` also sets
        ``StdinOnce`` (end of the attach's input is the program's end of file), as the SDK does."""
        config = {
            "Image": image, "Cmd": command, "Tty": tty, "OpenStdin": stdin_open, "StdinOnce": stdin_open,
            "AttachStdin": stdin_open, "AttachStdout": True, "AttachStderr": True, "Env": environment,
            "WorkingDir": working_dir, "User": user, "Labels": dict(labels or {}),
            "HostConfig": dict(host_config or {}),
        }
        result: dict[str, Any] = self._json("POST", "/containers/create", params={"name": name}, body=config,
                                            timeout=timeout)
        return result

    def start(self, container: str | Mapping[str, Any], timeout: float | None = None) -> None:
        self.request("POST", f"/containers/{_container_id(container)}/start", timeout=timeout)

    def inspect_container(self, container: str | Mapping[str, Any], timeout: float | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/containers/{_container_id(container)}/json", timeout=timeout)
        return result

    def inspect_image(self, image: str, timeout: float | None = None) -> dict[str, Any]:
        try:
            path = f"/images/{urllib.parse.quote(image, safe='/:@')}/json"
            result: dict[str, Any] = self._json("GET", path, timeout=timeout)
        except NotFound as err:  # whatever the engine's words: the image is what is missing
            raise ImageNotFound(err.status_code, err.explanation, err.reason) from err
        return result

    def kill(self, container: str | Mapping[str, Any], signal: int | str | None = None,
             timeout: float | None = None) -> None:
        self.request("POST", f"/containers/{_container_id(container)}/kill", params={"signal": signal},
                     timeout=timeout)

    def remove_container(self, container: str | Mapping[str, Any], v: bool = False, link: bool = False,
                         force: bool = False, timeout: float | None = None) -> None:
        self.request("DELETE", f"/containers/{_container_id(container)}",
                     params={"v": v, "link": link, "force": force}, timeout=timeout)

    def containers(self, all: bool = False, filters: Mapping[str, Any] | None = None,  # the SDK's name
                   timeout: float | None = None) -> list[dict[str, Any]]:
        params = {"all": all or None, "filters": _filters(filters)}
        result: list[dict[str, Any]] = self._json("GET", "/containers/json", params=params, timeout=timeout) or []
        return result

    def attach_socket(self, container: str | Mapping[str, Any], params: Mapping[str, Any] | None = None,
                      timeout: float | None = None) -> RawStream:
        """The hijacked attach stream (multiplexed frames unless the container has a terminal)."""
        return self.hijack(f"/containers/{_container_id(container)}/attach",
                           params=params or {"stdout": 1, "stderr": 1, "stream": 1}, timeout=timeout)

    def exec_create(self, container: str | Mapping[str, Any], cmd: str | list[str], stdout: bool = True,
                    stderr: bool = True, stdin: bool = False, tty: bool = False, privileged: bool = False,
                    user: str = "", environment: Mapping[str, str] | list[str] | None = None,
                    workdir: str | None = None, detach_keys: str | None = None,
                    timeout: float | None = None) -> dict[str, Any]:
        """``POST /containers/<id>/exec``: ``{"Id": ...}``. ``timeout`` (not the SDK's) bounds the call."""
        if isinstance(environment, Mapping):
            environment = [f"{k}={v}" for k, v in environment.items()]
        config: dict[str, Any] = {
            "Privileged": privileged, "User": user, "AttachStdin": stdin, "AttachStdout": stdout,
            "AttachStderr": stderr, "Cmd": [cmd] if isinstance(cmd, str) else list(cmd), "Tty": tty,
            "Env": environment,
        }
        if workdir is not None:
            config["WorkingDir"] = workdir
        if detach_keys:
            config["DetachKeys"] = detach_keys
        result: dict[str, Any] = self._json("POST", f"/containers/{_container_id(container)}/exec", body=config,
                                            timeout=timeout)
        return result

    def exec_start(self, exec_id: str | Mapping[str, Any], detach: bool = False, tty: bool = False,
                   stream: bool = False, socket: bool = False, demux: bool = False,
                   timeout: float | None = None) -> Any:
        """Start an exec: with ``socket``, its hijacked stream (:class:`RawStream`, the caller's); with
        ``detach``, ``b""``; else its whole output (the frames' payloads joined; ``demux``: ``(stdout,
        stderr)``). ``stream`` (a generator of output) is not offered: read the socket. ``timeout`` (not
        the SDK's) bounds the start, and the whole output when it is read here."""
        if stream:
            raise NotImplementedError("exec_start(stream=True): use socket=True")
        path = f"/exec/{_container_id(exec_id)}/start"
        body = {"Detach": detach, "Tty": tty}
        if detach:
            self.request("POST", path, body=body, timeout=timeout)
            return b""
        sock = self.hijack(path, body=body, timeout=timeout)
        if socket:
            return sock
        return _read_output(sock, tty, demux, self.timeout if timeout is None else timeout)

    def exec_inspect(self, exec_id: str | Mapping[str, Any], timeout: float | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/exec/{_container_id(exec_id)}/json", timeout=timeout)
        return result

    def exec_resize(self, exec_id: str | Mapping[str, Any], height: int | None = None,
                    width: int | None = None) -> None:
        self.request("POST", f"/exec/{_container_id(exec_id)}/resize", params={"h": height, "w": width})

    def events(self, filters: Mapping[str, Any] | None = None, decode: bool = True,
               timeout: float | None = None) -> EventStream:
        """The daemon's events from now on, decoded (``decode=False`` is not offered)."""
        if not decode:
            raise NotImplementedError("events(decode=False)")
        return EventStream(self.stream("GET", "/events", params={"filters": _filters(filters)}, timeout=timeout))


# create_host_config's keyword arguments sent as they are, under the daemon's names.
_HOST_CONFIG = {
    "binds": "Binds", "mem_limit": "Memory", "cpu_quota": "CpuQuota", "pids_limit": "PidsLimit",
    "read_only": "ReadonlyRootfs", "security_opt": "SecurityOpt", "cap_drop": "CapDrop", "cap_add": "CapAdd",
    "tmpfs": "Tmpfs", "init": "Init",
}


def log_config(kind: str, config: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``HostConfig.LogConfig`` (the SDK's ``LogConfig(type=...)``)."""
    return {"Type": kind, "Config": dict(config or {})}


def _unreachable(err: BaseException, context: str) -> BaseException:
    """What to raise for ``err``, met while talking to the daemon: :class:`EngineUnreachable` for a
    transport failure or an answer that is not HTTP (``ValueError``), said after ``context``; anything
    else (an interruption) as it is."""
    if isinstance(err, EngineUnreachable) or not isinstance(err, (OSError, ValueError)):
        return err
    what = "no answer in time" if isinstance(err, TimeoutError) else (
        getattr(err, "strerror", None) or str(err) or type(err).__name__)
    return EngineUnreachable(context + what)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _filters(filters: Mapping[str, Any] | None) -> str | None:
    """The ``filters`` parameter as the daemon reads it: JSON of lists (a single value becomes one)."""
    if not filters:
        return None
    return json.dumps({k: v if isinstance(v, list) else [v] for k, v in filters.items()})


def _read_output(stream: RawStream, tty: bool, demux: bool, timeout: float) -> Any:
    """The whole output of a hijacked stream until its end, within ``timeout``."""
    from tui.core.executors.docker_stream import FrameSplitter

    deadline = time.monotonic() + timeout
    raw = bytearray()
    sock = stream._sock
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineUnreachable("the exec's output did not end in time")
            sock.settimeout(left)
            data = sock.recv(_READ)
            if not data:
                break
            raw += data
    except TimeoutError as err:
        raise EngineUnreachable("the exec's output did not end in time") from err
    finally:
        stream.close()
    if tty:
        return (bytes(raw), None) if demux else bytes(raw)
    out, errors = bytearray(), bytearray()
    for name, data in FrameSplitter().feed(memoryview(raw)):
        (out if name == "stdout" else errors).extend(data)
    return (bytes(out), bytes(errors)) if demux else bytes(out + errors)
