"""The product's own Engine API client (engine_api) against the real engines, and its failures: no daemon,
a daemon that stops answering mid-call, 404s, an answer that breaks off, a daemon that goes away while a
streamed call waits."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests import dockertools as dt
from tui.core.errors import ExecError
from tui.core.executors.docker_client import DockerHost, remove_container
from tui.core.executors.docker_stream import FrameSplitter
from tui.core.executors.engine_api import (
    APIError,
    EngineClient,
    EngineUnreachable,
    ImageNotFound,
    NotFound,
    RawStream,
    log_config,
)
from tui.core.labels import container_labels

# Every call below that meets a silent peer gives up after this: the test waits a few times longer.
DEADLINE = 0.5


@pytest.fixture
def client(container_engine: dt.ContainerEngine) -> Iterator[EngineClient]:
    """The product's client of each engine in turn, connected as the product connects (its /_ping)."""
    host = DockerHost(container_engine.url)
    yield host.client(10)
    host.close()


@pytest.fixture
def sleeper(client: EngineClient, container_engine: dt.ContainerEngine) -> Iterator[str]:
    """A running container (``sleep 100``) made by the test's engine client; removed afterwards."""
    created = container_engine.client.create_container(
        container_engine.image, ["sleep", "100"], labels=container_labels("t:api", "test", "api"),
        host_config=container_engine.client.create_host_config(init=True),
    )
    container_engine.client.start(created)
    yield created["Id"]
    container_engine.client.remove_container(created, force=True)


def read_stream(raw: RawStream, deadline: float = 20) -> list[tuple[str, bytes]]:
    """Every (stream, data) piece of a hijacked stream until its end."""
    sock = raw._sock
    sock.settimeout(deadline)
    splitter, pieces = FrameSplitter(), list[tuple[str, bytes]]()
    while data := sock.recv(65536):
        pieces += splitter.feed(memoryview(data))
    raw.close()
    return pieces


def finishes(call: Callable[[], Any], within: float = 15) -> BaseException | None:
    """Run ``call`` on a thread; the exception it raised (None if none). Fails if it is still blocked
    after ``within`` seconds: every call has a deadline."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as err:  # noqa: BLE001 - handed to the test
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert outcome, f"the call was still blocked after {within} s"
    return outcome[0]


class FakeDaemon:
    """A unix socket that answers each connection with ``answer`` (bytes, then it closes, or None to say
    nothing at all): what a real daemon cannot be made to do on demand."""

    def __init__(self, folder: Path, answer: bytes | None) -> None:
        self.url = f"unix://{folder / 'fake.sock'}"
        self._answer = answer
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(folder / "fake.sock"))
        self._listener.listen(8)
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.recv(65536)  # the request
            if self._answer is None:
                self._held.append(conn)  # silent: neither answers nor closes
                continue
            conn.sendall(self._answer)
            conn.close()

    def close(self) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def fake_daemon(tmp_path: Path) -> Iterator[Callable[[bytes | None], FakeDaemon]]:
    made: list[FakeDaemon] = []

    def make(answer: bytes | None) -> FakeDaemon:
        made.append(FakeDaemon(tmp_path, answer))
        return made[-1]

    yield make
    for daemon in made:
        daemon.close()


# -- no daemon, silent daemons, broken answers --------------------------------------------------------


@pytest.mark.parametrize("url", ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"])
def test_no_daemon_is_unreachable_and_said_so(url: str) -> None:
    err = finishes(lambda: EngineClient(url, timeout=DEADLINE).ping_headers())
    assert isinstance(err, EngineUnreachable)
    assert "cannot connect" in str(err)
    with pytest.raises(ExecError) as caught:
        DockerHost(url).client(DEADLINE)
    assert caught.value.message == f"cannot reach the Docker daemon at {url}"


def test_a_daemon_that_stops_answering_mid_call_meets_the_deadline(
    fake_daemon: Callable[[bytes | None], FakeDaemon],
) -> None:
    silent = fake_daemon(None)
    client = EngineClient(silent.url, timeout=60)
    err = finishes(lambda: client.inspect_container("abc", timeout=DEADLINE))
    assert isinstance(err, EngineUnreachable)
    assert "no answer in time" in str(err)


def test_an_answer_that_stalls_after_its_head_meets_the_deadline_too(tmp_path: Path) -> None:
    # The head arrives, then nothing: the deadline bounds the whole answer, not each read.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "stall.sock"))
    listener.listen(1)
    held: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"Id\"")
        held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    client = EngineClient(f"unix://{tmp_path / 'stall.sock'}", timeout=DEADLINE)
    try:
        err = finishes(lambda: client.inspect_container("abc"))
        assert isinstance(err, EngineUnreachable)
        assert "the answer broke off: no answer in time" in str(err)
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Id\": \"abc\"",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"Id\": ",
    b"HTTP/1.1 200 OK\r\nContent-Le",
    b"garbage\r\n\r\n",
])
def test_an_answer_that_breaks_off_is_unreachable_not_a_crash(
    fake_daemon: Callable[[bytes | None], FakeDaemon], answer: bytes,
) -> None:
    daemon = fake_daemon(answer)
    err = finishes(lambda: EngineClient(daemon.url, timeout=5).inspect_container("abc"))
    assert isinstance(err, EngineUnreachable), err


def test_a_kept_connection_the_daemon_drops_is_replaced_for_a_call_that_may_run_twice(tmp_path: Path) -> None:
    # Every connection answers once, then takes the next request and closes without a word (as a daemon
    # closing an idle connection just then).
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "drop.sock"))
    listener.listen(4)
    ok = b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'
    connections: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                connections.append(conn)
                conn.recv(65536)
                conn.sendall(ok)
                conn.recv(65536)
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    client = EngineClient(f"unix://{tmp_path / 'drop.sock'}", timeout=5)
    try:
        assert client.inspect_container("a") == {}
        assert client.inspect_container("b") == {}  # dropped, then tried again on a new connection
        assert len(connections) == 2
        client.remove_container("c")  # a removal too: a second one would find nothing
        assert len(connections) == 3
        with pytest.raises(EngineUnreachable):  # a call that changes something is never sent twice
            client.kill("d", 9)
        assert len(connections) == 3
    finally:
        client.close()
        listener.close()
        for conn in connections:
            conn.close()


def test_an_error_status_carries_the_daemons_message(fake_daemon: Callable[[bytes | None], FakeDaemon]) -> None:
    body = json.dumps({"message": "conflict: it is busy"}).encode()
    daemon = fake_daemon(b"HTTP/1.1 409 Conflict\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    with pytest.raises(APIError) as caught:
        EngineClient(daemon.url, timeout=5).kill("abc", 9)
    assert (caught.value.status_code, caught.value.explanation) == (409, "conflict: it is busy")


# -- the real engines -----------------------------------------------------------------------------------


def test_404s_are_not_found_and_a_missing_image_is_image_not_found(client: EngineClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.inspect_container("execdeck-no-such-container")
    assert caught.value.status_code == 404 and not isinstance(caught.value, ImageNotFound)
    with pytest.raises(ImageNotFound):
        client.inspect_image("execdeck-test/absent:latest")
    with pytest.raises(ImageNotFound):
        client.create_container("execdeck-test/absent:latest", ["true"])
    remove_container(client, "execdeck-no-such-container")  # already gone is fine


def test_a_container_runs_through_the_client_attached_before_start(
    client: EngineClient, container_engine: dt.ContainerEngine,
) -> None:
    created = client.create_container(
        container_engine.image, ["sh", "-c", "cat; echo err >&2; exit 3"], stdin_open=True,
        labels=container_labels("t:api", "test", "api"),
        host_config=client.create_host_config(init=True, log_config=log_config("none")),
    )
    try:
        raw = client.attach_socket(created, {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        wait = client.stream("POST", f"/containers/{created['Id']}/wait", params={"condition": "next-exit"})
        client.start(created)
        raw._sock.sendall(b"hello\n")
        raw._sock.shutdown(socket.SHUT_WR)
        pieces = read_stream(raw)
        assert b"".join(d for s, d in pieces if s == "stdout") == b"hello\n"
        assert b"".join(d for s, d in pieces if s == "stderr") == b"err\n"
        assert wait.json()["StatusCode"] == 3
        wait.close()
        assert client.inspect_container(created["Id"])["State"]["ExitCode"] == 3
    finally:
        client.remove_container(created, force=True)


def test_host_config_is_the_sdks(client: EngineClient) -> None:
    options: dict[str, Any] = dict(
        network_mode="none", binds=["/tmp:/data:ro"], mem_limit=64 * 1024 * 1024, cpu_quota=50000, pids_limit=64,
        read_only=True, security_opt=["no-new-privileges:true"], cap_drop=["ALL"], cap_add=["NET_RAW"],
        tmpfs={"/tmp": "ro"}, init=True,
    )
    sdk = docker.APIClient(base_url="unix:///nonexistent", version="1.41")
    assert client.create_host_config(**options) == dict(sdk.create_host_config(**options))
    bare: dict[str, Any] = {"network_mode": None, "binds": None, "init": False}
    assert client.create_host_config(**bare) == dict(sdk.create_host_config(**bare))


def test_execs_in_a_running_container(client: EngineClient, sleeper: str) -> None:
    made = client.exec_create(sleeper, ["sh", "-c", "echo out; echo err >&2; exit 5"], timeout=10)
    assert client.exec_start(made, demux=True, timeout=10) == (b"out\n", b"err\n")
    assert client.exec_inspect(made)["ExitCode"] == 5
    # The socket form: stdin in, output out, as the pool's runs use it.
    made = client.exec_create(sleeper, ["cat"], stdin=True)
    raw = client.exec_start(made["Id"], socket=True)
    raw._sock.sendall(b"through\n")
    raw._sock.shutdown(socket.SHUT_WR)
    assert b"".join(d for _, d in read_stream(raw)) == b"through\n"
    dt.poll_until(lambda: client.exec_inspect(made)["Running"] is False, 10, "the exec to end")
    assert client.exec_inspect(made)["ExitCode"] == 0
    tty = client.exec_create(sleeper, ["sleep", "5"], tty=True, stdin=True)
    raw = client.exec_start(tty, tty=True, socket=True)
    dt.poll_until(lambda: client.exec_inspect(tty)["Running"] is True, 10, "the tty exec to run")
    client.exec_resize(tty, height=30, width=100)
    raw.close()
    with pytest.raises(NotFound):
        client.exec_inspect("execdeck-no-such-exec")


def test_events_come_and_close_ends_them(client: EngineClient, container_engine: dt.ContainerEngine) -> None:
    events = client.events(filters={"type": ["container"], "label": ["execdeck.run=events"]})
    seen: list[dict[str, Any]] = []
    ended = threading.Event()

    def read() -> None:
        try:
            for event in events:
                seen.append(event)
        except OSError:
            pass
        ended.set()

    threading.Thread(target=read, daemon=True).start()
    created = client.create_container(container_engine.image, ["true"],
                                      labels=container_labels("t:api", "test", "events"))
    try:
        dt.poll_until(lambda: any(created["Id"] in json.dumps(event) for event in seen), 15,
                      "an event of the container made")
    finally:
        client.remove_container(created, force=True)
    events.close()
    assert ended.wait(10), "the events stream did not end on close()"


def test_a_streamed_wait_ends_when_the_daemon_goes_away(
    docker_proxy: Callable[..., dt.DockerProxy], container_engine: dt.ContainerEngine, sleeper: str,
) -> None:
    proxy = docker_proxy(container_engine.url)
    client = EngineClient(proxy.url, version="1.41", timeout=10)
    wait = client.stream("POST", f"/containers/{sleeper}/wait", params={"condition": "not-running"})
    outcome: list[BaseException | None] = []
    reader = threading.Thread(target=lambda: outcome.append(finishes(wait.json)), daemon=True)
    reader.start()
    proxy.cut()
    reader.join(20)
    assert outcome and isinstance(outcome[0], OSError), outcome
    err = finishes(lambda: client.inspect_container(sleeper, timeout=DEADLINE))
    assert isinstance(err, EngineUnreachable)
