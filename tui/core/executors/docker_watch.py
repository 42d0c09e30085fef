"""The live status of Docker executors: one watcher per daemon URL, shared by every entry on it.

This is the ``status watch`` capability of the ``exec.docker`` kind. A :class:`DaemonWatch` follows one
daemon for its subscribers (each an image and a listener):

* While the daemon answers, the watcher holds the daemon's event stream, image events only (pull, tag,
  untag, delete, load, import), and probes its subscribers' images again after each burst of events: an
  image pulled or removed elsewhere shows at once. The stream ending means the daemon went away (stopped,
  restarted): the watcher reconnects at once, and probes everything again, since what happened meanwhile
  was not heard.
* While the daemon does not answer, the watcher tries again after an exponential back-off with a cap,
  one attempt at a time: however many entries name a dead socket, it sees one connection attempt per
  wait. Only a connection that lasted resets the back-off: one that ends soon after it was made counts
  as the daemon not answering, so a daemon that accepts and drops connections is not flooded either.
* A stream quiet for a while is checked with a ping: a daemon that stopped answering without closing the
  connection is noticed too.

Every call to the daemon runs on the watcher's own threads (the loop, and the event reader while
connected), never on a subscriber's: subscribing returns at once. :meth:`DaemonWatch.close` (at the end
of the engine's scope) ends both threads and the connection.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from tui.core.executors.base import PULL, ExecutorStatus, Scope, StatusListener
from tui.core.executors.docker_build import LOCAL_BUILD_LABEL
from tui.core.executors.docker_client import DockerHost, daemon_message, inspect_image, ping, resolve_host
from tui.core.executors.engine_api import APIError, EngineClient, ImageNotFound
from tui.core.structs import record

#: The first wait after a failed connection attempt; each next one doubles, up to :data:`BACKOFF_CAP`.
BACKOFF_FIRST = 0.25
#: The longest wait between two attempts: a daemon that comes up is seen at most this much later.
BACKOFF_CAP = 3.0
#: One connection attempt gives up after this.
CONNECT_TIMEOUT = 2.0
#: One probe of one image (or a ping) gives up after this; the daemon then counts as gone.
PROBE_TIMEOUT = 5.0
#: A stream this quiet is checked with a ping.
HEARTBEAT = 15.0
#: A connection that lived this long was a good one: when it ends, the back-off starts afresh.
STABLE = 10.0


def unreachable_status(url: str) -> ExecutorStatus:
    """The status of every executor on a daemon that does not answer."""
    return ExecutorStatus(False, f"cannot reach the Docker daemon at {url}")


def image_status(client: EngineClient, url: str, image: str, timeout: float,
                 engine: str = "") -> ExecutorStatus | None:
    """The status of an executor running ``image`` on the daemon of ``client`` (at ``url``, served by
    ``engine``: Docker or Podman and its version), from one inspect of at most about ``timeout`` seconds;
    ``None`` when the daemon did not answer."""
    try:
        info = inspect_image(client, image, timeout=timeout)
    except ImageNotFound:
        return ExecutorStatus(False, f'image "{image}" not found on {url}', short="image missing", remedy=PULL,
                              engine=engine)
    except APIError as err:
        return ExecutorStatus(False, f"{url}: {daemon_message(err)}", engine=engine)
    except Exception:  # noqa: BLE001 - timeouts, resets, refusals: the daemon is not answering
        return None
    labels = (info.get("Config") or {}).get("Labels") or {}
    text = "ready (image built here)" if LOCAL_BUILD_LABEL in labels else "ready (image present)"
    return ExecutorStatus(True, text, engine=engine)


def backoff(first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP) -> Iterator[float]:
    """The waits between connection attempts: ``first``, doubling, never more than ``cap``."""
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * 2)


@record(eq=False)
class _Subscriber:
    image: str
    on_status: StatusListener
    active: bool = True
    last: ExecutorStatus | None = None


# What the loop does next (see DaemonWatch._next).
_CLOSED, _IDLE, _QUIET, _LOST, _PROBE = "closed", "idle", "quiet", "lost", "probe"


class DaemonWatch:
    """Follows one daemon for its subscribers; see the module docstring. Thread-safe.

    ``first``, ``cap`` (the back-off) and ``connect_timeout`` are the module's constants unless a test
    chooses its own. :attr:`attempts` counts the connection attempts and :attr:`waits` holds the latest
    back-off waits taken, in order: what a test of the back-off reads.
    """

    def __init__(self, url: str, *, first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.url = url
        self.attempts = 0
        self.waits: deque[float] = deque(maxlen=64)  # the latest: a daemon may stay away for days
        self._first, self._cap, self._connect_timeout = first, cap, connect_timeout
        self._cond = threading.Condition()
        self._subscribers: list[_Subscriber] = []
        self._due = False  # the images must be probed again (a new subscriber, an event)
        self._lost = False  # the event stream of the current connection ended
        self._closed = False
        # The connection: set and cleared by the loop thread alone, read by close() to cancel the stream.
        self._client: EngineClient | None = None
        self._engine = ""  # Docker or Podman and its version, learnt at each connection
        self._stream: Any = None
        self._reader: threading.Thread | None = None
        self._thread = threading.Thread(target=self._run, name=f"execdeck status watch {url}", daemon=True)

    # -- what subscribers and the scope call ------------------------------------------------------------

    def subscribe(self, image: str, on_status: StatusListener) -> Callable[[], None]:
        """Follow the status of an executor running ``image`` here; returns the function that stops it.

        ``on_status`` is called on the watcher's thread, first when the status is known, then at every
        change. After :meth:`close` nothing is followed (and nothing is called)."""
        subscriber = _Subscriber(image, on_status)
        with self._cond:
            if self._closed:
                return lambda: None
            self._subscribers.append(subscriber)
            self._due = True
            if self._thread.ident is None:
                self._thread.start()
            self._cond.notify_all()

        def end() -> None:
            with self._cond:
                subscriber.active = False
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)
                    self._cond.notify_all()

        return end

    def close(self, wait: float = 5.0) -> None:
        """Stop following: end the event stream and both threads (waiting at most about ``wait`` seconds).
        Idempotent."""
        with self._cond:
            self._closed = True
            stream = self._stream
            self._cond.notify_all()
        _cancel(stream)
        if self._thread.ident is not None:
            self._thread.join(wait)

    @property
    def threads(self) -> list[threading.Thread]:
        """The watcher's threads that are still alive (none once closed)."""
        return [t for t in (self._thread, self._reader) if t is not None and t.is_alive()]

    # -- the loop ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        delays = backoff(self._first, self._cap)
        connected_at = 0.0
        try:
            while True:
                work = self._next()
                if work == _CLOSED:
                    return
                if work == _IDLE:
                    self._disconnect()  # nobody listens: hold no connection
                elif work == _QUIET:
                    if self._client is None or not ping(self._client, PROBE_TIMEOUT):
                        self._mark_lost()
                elif work == _LOST:
                    self._disconnect()
                    if time.monotonic() - connected_at >= STABLE:
                        # A good connection ended: try again at once (a restart may be over already).
                        delays = backoff(self._first, self._cap)
                    else:
                        # One that ended soon after it was made: the daemon is not there for good.
                        self._tell_all(unreachable_status(self.url))
                        self._pause(next(delays))
                elif self._client is None:
                    if self._connect():
                        connected_at = time.monotonic()
                        self._probe_all()
                    else:
                        self._tell_all(unreachable_status(self.url))
                        self._pause(next(delays))
                else:
                    self._probe_all()
        finally:
            self._disconnect()

    def _next(self) -> str:
        """Wait until there is something to do, and say what."""
        with self._cond:
            while True:
                if self._closed:
                    return _CLOSED
                if not self._subscribers:
                    if self._client is not None:
                        return _IDLE
                    self._cond.wait()
                    continue
                if self._lost:
                    return _LOST
                if self._client is None or self._due:
                    return _PROBE
                if not self._cond.wait(HEARTBEAT) and not (self._due or self._lost or self._closed):
                    return _QUIET

    def _pause(self, delay: float) -> None:
        """Wait ``delay`` seconds before the next attempt (less when closed). A subscriber that arrives
        meanwhile hears at once that the daemon does not answer: no attempt is made for it."""
        self.waits.append(delay)
        deadline = time.monotonic() + delay
        while True:
            with self._cond:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return
                if not self._fresh():
                    self._cond.wait(left)
                fresh = self._fresh()
            self._tell(fresh, unreachable_status(self.url))

    def _fresh(self) -> list[_Subscriber]:
        return [s for s in self._subscribers if s.last is None]

    def _mark_lost(self) -> None:
        with self._cond:
            self._lost = True

    # -- the connection ------------------------------------------------------------------------------

    def _connect(self) -> bool:
        """One attempt: a client (the daemon answered the version check) and its event stream."""
        self.attempts += 1
        client: EngineClient | None = None
        try:
            host = DockerHost(self.url)
            client = host.client(self._connect_timeout)
            stream = client.events(filters={"type": ["image"]}, decode=True)
        except Exception:  # noqa: BLE001 - any failure is "not answering"; the back-off decides the next try
            if client is not None:
                client.close()
            return False
        reader = threading.Thread(target=self._read, args=(stream,), name=f"execdeck docker events {self.url}",
                                  daemon=True)
        with self._cond:
            if self._closed:
                _cancel(stream)
                client.close()
                return False
            self._client, self._stream, self._reader = client, stream, reader
            self._engine = host.engine
            self._lost = False
        reader.start()
        return True

    def _read(self, stream: Any) -> None:
        """The event reader: every event asks for a probe; the stream's end means the daemon went away."""
        with contextlib.suppress(Exception):  # a broken stream ends like a closed one
            for _event in stream:
                with self._cond:
                    self._due = True
                    self._cond.notify_all()
        with self._cond:
            if self._stream is stream:  # not a stream this watcher cancelled itself
                self._lost = True
                self._cond.notify_all()

    def _disconnect(self) -> None:
        with self._cond:
            client, stream, reader = self._client, self._stream, self._reader
            self._client = self._stream = self._reader = None
            self._lost = False
        _cancel(stream)
        if reader is not None:
            reader.join(self._connect_timeout)
        if client is not None:
            client.close()

    # -- statuses ------------------------------------------------------------------------------------

    def _probe_all(self) -> None:
        """Probe every subscribed image once and tell whoever's status changed; a daemon that does not
        answer marks the connection lost."""
        with self._cond:
            self._due = False
            subscribers = list(self._subscribers)
        client = self._client
        assert client is not None
        found: dict[str, ExecutorStatus] = {}
        for image in dict.fromkeys(s.image for s in subscribers):
            status = image_status(client, self.url, image, PROBE_TIMEOUT, self._engine)
            if status is None:
                self._mark_lost()
                return
            found[image] = status
        for subscriber in subscribers:
            self._tell([subscriber], found[subscriber.image])

    def _tell_all(self, status: ExecutorStatus) -> None:
        with self._cond:
            subscribers = list(self._subscribers)
        self._tell(subscribers, status)

    @staticmethod
    def _tell(subscribers: list[_Subscriber], status: ExecutorStatus) -> None:
        for subscriber in subscribers:
            if subscriber.active and status != subscriber.last:
                subscriber.last = status
                with contextlib.suppress(Exception):  # a listener's mistake must not end the watch
                    subscriber.on_status(status)


def _cancel(stream: Any) -> None:
    """End an event stream from any thread: its reader's blocked read returns."""
    if stream is not None:
        with contextlib.suppress(Exception):  # already closed, or a transport that cannot cancel
            stream.close()


def watcher_for(scope: Scope, host: str) -> DaemonWatch:
    """The scope's one :class:`DaemonWatch` for an entry's ``host`` (made on first use, closed when the
    scope closes). Never contacts the daemon."""
    url = resolve_host(host)

    def make() -> DaemonWatch:
        made = DaemonWatch(url)
        scope.add_cleanup(made.close)
        return made

    return scope.resource("docker-watch:" + url, make)
