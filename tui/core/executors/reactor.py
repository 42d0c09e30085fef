"""One I/O thread for every native process: pipes and exits watched with epoll.

Starting three threads per run (two pumps and a waiter) cost more than the fork itself; a single
reactor thread watches every pipe and every child's pidfd instead. Registrations are one-shot
(``EPOLLONESHOT``): after an event the fd stays quiet until its owner re-arms it, so a reader that
is pulling the same pipe itself, or a stream that is waiting for room, never makes the reactor spin.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable

#: Present on Linux; elsewhere the native backend falls back to a thread per pipe.
AVAILABLE = hasattr(select, "epoll") and hasattr(os, "pidfd_open")

# Wake the loop this often while tick callbacks are waiting (a pipe whose reader went quiet);
# otherwise sleep until an event.
_TICK = 0.02


class Reactor:
    """Calls ``callback()`` on the reactor thread when an armed fd becomes readable.

    Callbacks must be quick and must not block; they re-arm their fd with :meth:`arm` when they
    want the next event. Every method is safe from any thread.
    """

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ticks: set[Callable[[], None]] = set()
        self._next_tick = 0.0
        # Wakes a loop that sleeps with no tick due, when another thread asks for ticks.
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._sleeping = False  # the loop waits for events with no time limit
        #: False once the loop ended (it never should) or in a forked child, where the thread is gone.
        self.alive = True
        self._thread = threading.Thread(target=self._loop, name="native-io", daemon=True)
        self._thread.start()

    def add(self, fd: int, callback: Callable[[], None]) -> None:
        """Watch ``fd`` (armed at once)."""
        with self._lock:
            self._callbacks[fd] = callback
            self._epoll.register(fd, select.EPOLLIN | select.EPOLLONESHOT)

    def arm(self, fd: int) -> None:
        """Ask for the next readable event of ``fd`` (no-op once it was removed)."""
        with self._lock:
            if fd in self._callbacks:
                with contextlib.suppress(OSError):
                    self._epoll.modify(fd, select.EPOLLIN | select.EPOLLONESHOT)

    def remove(self, fd: int, *, close: bool = False) -> None:
        """Stop watching ``fd``. With ``close``, close it too: closing takes it out of the epoll set
        (one system call fewer per pipe and per exit, which shows in many short runs). A copy of the
        descriptor that outlives the close (a child being spawned at that moment holds one until its
        exec) may still report an event under the old number: callbacks must take a spurious call calmly."""
        with self._lock:
            known = self._callbacks.pop(fd, None) is not None
            if known and not close:
                with contextlib.suppress(OSError):
                    self._epoll.unregister(fd)
        if close:
            with contextlib.suppress(OSError):
                os.close(fd)

    def on_tick(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` every tick until :meth:`off_tick` (for slow re-checks)."""
        with self._lock:
            self._ticks.add(callback)
            wake = self._sleeping and threading.current_thread() is not self._thread
            self._sleeping = False
        if wake:
            with contextlib.suppress(OSError):  # full: a wake-up is pending anyway
                os.write(self._wake_w, b"x")

    def off_tick(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._ticks.discard(callback)

    def _loop(self) -> None:
        try:
            self._run()
        finally:
            self.alive = False

    def _run(self) -> None:
        while True:
            with self._lock:
                timeout = _TICK if self._ticks else -1
                self._sleeping = timeout < 0
            try:
                events = self._epoll.poll(timeout)
            except InterruptedError:
                continue
            for fd, _ in events:
                if fd == self._wake_r:
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 4096)
                    continue
                with self._lock:
                    callback = self._callbacks.get(fd)
                if callback is not None:
                    with contextlib.suppress(Exception):  # one broken run must not stop the others
                        callback()
            with self._lock:
                ticks = list(self._ticks) if self._ticks else []
            if ticks and time.monotonic() >= self._next_tick:
                self._next_tick = time.monotonic() + _TICK
                for tick in ticks:
                    with contextlib.suppress(Exception):
                        tick()


_reactor: Reactor | None = None
_reactor_lock = threading.Lock()


def reactor() -> Reactor:
    """The process-wide reactor, started on first use (a forked child gets its own)."""
    global _reactor
    current = _reactor
    if current is not None and current.alive:
        return current  # without the lock: called several times per run, and short runs are many
    with _reactor_lock:
        if _reactor is None or not _reactor.alive:
            _reactor = Reactor()
        return _reactor


def _forget_in_child() -> None:
    if _reactor is not None:
        _reactor.alive = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
