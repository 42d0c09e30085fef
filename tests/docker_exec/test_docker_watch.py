"""The live status of Docker executors, against real daemons: one watcher per daemon URL follows an image
removed and tagged again with the docker command line, a daemon that starts after it and goes away and
comes back, a connection cut under it; a dead socket gets one attempt at a time with a capped back-off;
nothing of a watcher outlives the engine."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import dockertools as dt
from tests.docker_exec.conftest import EngineMaker, docker_entry
from tui.core.engine import Engine
from tui.core.executors.base import ExecutorStatus
from tui.core.executors.docker_watch import DaemonWatch, watcher_for

pytestmark = pytest.mark.docker

#: Generous: a status change arrives within a few seconds by design; a loaded machine may be slower.
DEADLINE = 20.0


class Statuses:
    """What the listeners heard, per executor id, in order."""

    def __init__(self) -> None:
        self.heard: dict[str, list[ExecutorStatus]] = {}
        self._cond = threading.Condition()

    def listener(self, entry_id: str) -> Callable[[ExecutorStatus], None]:
        def heard(status: ExecutorStatus) -> None:
            with self._cond:
                self.heard.setdefault(entry_id, []).append(status)
                self._cond.notify_all()

        return heard

    def latest(self, entry_id: str) -> ExecutorStatus | None:
        with self._cond:
            found = self.heard.get(entry_id)
            return found[-1] if found else None

    def wait(self, entry_id: str, check: Callable[[ExecutorStatus], bool], what: str) -> ExecutorStatus:
        """The latest status of ``entry_id`` once ``check`` holds for it; fails naming ``what``."""
        with self._cond:
            if not self._cond.wait_for(lambda: (s := self.latest(entry_id)) is not None and check(s), DEADLINE):
                raise AssertionError(f"timed out after {DEADLINE:g}s waiting for {entry_id}: {what}; "
                                     f"heard {self.heard.get(entry_id)}")
            status = self.latest(entry_id)
            assert status is not None
            return status


def ready(status: ExecutorStatus) -> bool:
    return status.ready


def missing(status: ExecutorStatus) -> bool:
    return status.short == "image missing"


def unreachable(status: ExecutorStatus) -> bool:
    return status.text.startswith("cannot reach the Docker daemon at ")


def watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("execdeck status watch", "execdeck docker events"))]


def follow(engine: Engine, statuses: Statuses, *entry_ids: str) -> list[Callable[[], None]]:
    return [engine.watch_status(entry_id, statuses.listener(entry_id)) for entry_id in entry_ids]


def test_an_image_removed_and_tagged_again_with_the_docker_command_line_shows_and_only_on_its_entries(
    make_engine: EngineMaker, test_image: str, own_tag: str, docker_proxy: Callable[[], dt.DockerProxy],
) -> None:
    proxy = docker_proxy()  # the daemon as seen through a proxy that counts the open connections
    entries = [docker_entry(own_tag, host=proxy.url), docker_entry(own_tag, host=proxy.url),
               docker_entry(test_image, host=proxy.url)]
    engine = make_engine(*entries)
    statuses = Statuses()
    tagged, also_tagged, other = (e.id for e in entries)
    follow(engine, statuses, tagged, also_tagged, other)
    for entry_id in (tagged, also_tagged, other):
        assert statuses.wait(entry_id, ready, "ready").text == "ready (image present)"
    assert len(watch_threads()) == 2, "one watcher (and its event reader) for the three entries on one daemon"

    subprocess.run(["docker", "rmi", own_tag], check=True, capture_output=True, timeout=60)
    for entry_id in (tagged, also_tagged):
        status = statuses.wait(entry_id, missing, "image missing after docker rmi")
        assert status.text == f'image "{own_tag}" not found on {proxy.url}'
    subprocess.run(["docker", "tag", test_image, own_tag], check=True, timeout=60)
    for entry_id in (tagged, also_tagged):
        statuses.wait(entry_id, ready, "ready after docker tag")
    heard = statuses.heard[other]
    assert [(s.ready, s.text) for s in heard] == [(True, "ready (image present)")], "told only of changes"
    assert heard[0].engine.startswith("Docker "), "the watcher names the engine, as the probe does"

    engine.shutdown()
    assert watch_threads() == []
    dt.poll_until(lambda: proxy.open_connections == 0, 10, "the watcher's connections to close")


def test_a_daemon_that_starts_after_the_watcher_goes_away_and_comes_back_is_followed(
    make_engine: EngineMaker, test_image: str, halted_dockerd: dt.SecondDockerd,
) -> None:
    entry = docker_entry(test_image, host=halted_dockerd.unix_url)
    engine = make_engine(entry)
    statuses = Statuses()
    follow(engine, statuses, entry.id)
    statuses.wait(entry.id, unreachable, "cannot reach, before the daemon starts")

    halted_dockerd.resume()
    statuses.wait(entry.id, ready, "ready once the daemon started")
    halted_dockerd.halt()
    statuses.wait(entry.id, unreachable, "cannot reach once the daemon stopped")
    halted_dockerd.resume()
    statuses.wait(entry.id, ready, "ready once the daemon is back")
    watcher = watcher_for(engine.scope, halted_dockerd.unix_url)
    assert all(0 < wait <= 3.0 for wait in watcher.waits), watcher.waits

    engine.shutdown()
    assert watcher.threads == []


def test_a_connection_cut_under_the_watcher_is_a_daemon_gone(
    make_engine: EngineMaker, test_image: str, docker_proxy: Callable[[], dt.DockerProxy],
) -> None:
    proxy = docker_proxy()
    entry = docker_entry(test_image, host=proxy.url)
    engine = make_engine(entry)
    statuses = Statuses()
    follow(engine, statuses, entry.id)
    statuses.wait(entry.id, ready, "ready")
    proxy.cut()
    assert statuses.wait(entry.id, unreachable, "cannot reach once cut").text == \
        f"cannot reach the Docker daemon at {proxy.url}"


def test_a_watcher_nobody_listens_to_holds_no_connection_and_a_new_listener_brings_it_back(
    make_engine: EngineMaker, test_image: str, docker_proxy: Callable[[], dt.DockerProxy],
) -> None:
    proxy = docker_proxy()
    entry = docker_entry(test_image, host=proxy.url)
    engine = make_engine(entry)
    first = Statuses()
    [end] = follow(engine, first, entry.id)
    first.wait(entry.id, ready, "ready")
    end()
    dt.poll_until(lambda: proxy.open_connections == 0, 10, "the idle watcher to let its connections go")
    second = Statuses()
    follow(engine, second, entry.id)
    second.wait(entry.id, ready, "ready again, for the new listener")
    assert [(s.ready, s.text) for s in first.heard[entry.id]] == [(True, "ready (image present)")]


class SilentDaemon:
    """A unix socket that accepts connections and never answers (a hung daemon): counts them, and the
    most open at once."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="execdeck-silent-")
        self.url = f"unix://{self._dir}/docker.sock"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(f"{self._dir}/docker.sock")
        self._listener.listen(64)
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.accepted = 0
        self.most_at_once = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._open = [c for c in self._open if _is_open(c)]
                self._open.append(conn)
                self.accepted += 1
                self.most_at_once = max(self.most_at_once, len(self._open))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)
        with self._lock:
            for conn in self._open:
                conn.close()
        Path(f"{self._dir}/docker.sock").unlink(missing_ok=True)
        Path(self._dir).rmdir()


def _is_open(conn: socket.socket) -> bool:
    """False once the peer closed its end. What it sent (its request) is read and dropped on the way."""
    conn.setblocking(False)
    try:
        while conn.recv(65536):
            pass
    except BlockingIOError:
        return True
    except OSError:
        pass
    return False


@pytest.fixture
def silent_daemon() -> Iterator[SilentDaemon]:
    daemon = SilentDaemon()
    yield daemon
    daemon.close()


def test_a_hung_daemon_sees_one_attempt_at_a_time_however_many_entries_wait_on_it(
    silent_daemon: SilentDaemon,
) -> None:
    watch = DaemonWatch(silent_daemon.url, first=0.05, cap=0.2, connect_timeout=0.5)
    statuses = Statuses()
    try:
        for number in range(12):
            watch.subscribe(f"image-{number}", statuses.listener(f"e{number}"))
        dt.poll_until(lambda: watch.attempts >= 4, DEADLINE, "four connection attempts")
        for number in range(12):
            statuses.wait(f"e{number}", unreachable, "cannot reach")
            assert len(statuses.heard[f"e{number}"]) == 1, "said once, not at every attempt"
    finally:
        watch.close()
    assert silent_daemon.most_at_once == 1
    assert watch.threads == []


def test_a_socket_nobody_listens_on_is_tried_with_an_exponential_back_off_up_to_its_cap(tmp_path: Path) -> None:
    watch = DaemonWatch(f"unix://{tmp_path}/docker.sock", first=0.01, cap=0.08)
    statuses = Statuses()
    try:
        watch.subscribe("busybox", statuses.listener("e"))
        dt.poll_until(lambda: len(watch.waits) >= 6, DEADLINE, "six back-off waits")
        late = Statuses()
        watch.subscribe("busybox", late.listener("late"))  # during a wait: told at once, no extra attempt
        late.wait("late", unreachable, "cannot reach, for a subscriber that came during a wait")
    finally:
        watch.close()
    assert list(watch.waits)[:6] == [0.01, 0.02, 0.04, 0.08, 0.08, 0.08]
    assert watch.attempts in (len(watch.waits), len(watch.waits) + 1), "one attempt per wait"
    assert watch.threads == []


def test_a_closed_watcher_follows_nothing(tmp_path: Path) -> None:
    watch = DaemonWatch(f"unix://{tmp_path}/docker.sock")
    watch.close()
    statuses = Statuses()
    end = watch.subscribe("busybox", statuses.listener("e"))
    end()
    assert watch.threads == [] and watch.attempts == 0 and statuses.heard == {}
