"""execdeck's own stdout and stderr, whose reader may be slow, stopped, or gone.

A Unix tool whose stdout reader exits (``| head -1``) dies of SIGPIPE on its next write, and the shell
reports 141. Python ignores SIGPIPE, so that write fails with EPIPE instead; this module gives every
subcommand the Unix outcome:

* :data:`STDOUT` and :data:`STDERR` write whole chunks straight to descriptors 1 and 2. Nothing is
  buffered here, so a slow reader holds the writer back as a pipe holds back any tool, and memory stays
  flat; and no lock of ``sys.stdout`` is held while a write waits for a stopped reader, which would keep
  the interpreter from exiting (it flushes ``sys.stdout`` on the way out). :meth:`Output.write` returns
  False once the reader has gone (any failure to write: a closed pipe, a hung-up terminal) and never
  raises; the descriptor then points at /dev/null, so nothing written later (a ``print``, the
  interpreter's last flush) fails again or prints a complaint.
* :meth:`Output.when_gone` calls back when that happens: whatever feeds stdout must then end the way a
  pipeline's writer ends (``execdeck run`` sends SIGPIPE to its command's process group or container).
* :func:`say` and :func:`write_out` are for the main thread: they raise :class:`StdoutClosed` once the
  reader has gone, which ``main()`` turns into exit status 141 without a word, as it does a
  ``BrokenPipeError`` of a plain ``print`` on stdout (:func:`stdout_closed_by`).

A command that never writes to stdout is never ended by this: as in a pipeline, only the next write
finds the reader gone. stderr is only silenced when its own reader goes, and stays open when only
stdout's reader left.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
from collections.abc import Callable

#: The exit status of a tool killed by SIGPIPE, as a shell reports it.
EXIT_STDOUT_CLOSED = 128 + signal.SIGPIPE

_BROKEN = select.POLLERR | select.POLLHUP | select.POLLNVAL


class StdoutClosed(Exception):
    """The reader of execdeck's stdout went away: end quietly with :data:`EXIT_STDOUT_CLOSED`."""


class Output:
    """One of execdeck's own output descriptors. Thread-safe: chunks are written whole, in call order."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        # Held through a write, which may wait for a stopped reader as long as it likes; nothing else
        # takes it. Re-entrant: a signal handler that writes a line lands on the thread that may hold it.
        self._write = threading.RLock()
        # Held briefly, for the state below.
        self._state = threading.RLock()
        self._gone = False
        self._callbacks: list[Callable[[], None]] = []

    @property
    def gone(self) -> bool:
        """True once a write found the reader gone; stays true."""
        return self._gone

    def write(self, data: bytes) -> bool:
        """Write all of ``data``, blocking while the reader is slow or stopped.

        Returns False, having written what the reader took, when the reader has gone (now or before);
        never raises.
        """
        if self._gone:
            return False
        view = memoryview(data)
        with self._write:
            while view and not self._gone:
                try:
                    view = view[os.write(self.fd, view):]
                except BlockingIOError:
                    # A descriptor shared with a program that made it non-blocking: wait as a blocking
                    # write would.
                    with contextlib.suppress(OSError, ValueError):
                        poller = select.poll()
                        poller.register(self.fd, select.POLLOUT)
                        poller.poll()
                except OSError:
                    self._lose()
        if self._gone:
            self._run_callbacks()
            return False
        return True

    def line(self, text: str) -> bool:
        """``text`` and a newline; see :meth:`write`."""
        return self.write(_encode(text + "\n"))

    def when_gone(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` once the reader has gone: at once if it already has, else on the thread
        whose write found out. It must be quick and must not raise. Returns a function that cancels it."""
        with self._state:
            if not self._gone:
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def check_gone(self) -> bool:
        """Whether the reader has gone, by asking the descriptor itself (a pipe with no reader left
        reports an error condition): for a failure met elsewhere, such as a ``print``."""
        if not self._gone:
            poller = select.poll()
            poller.register(self.fd, select.POLLOUT)
            try:
                broken = any(events & _BROKEN for _, events in poller.poll(0))
            except OSError:
                broken = True
            if broken:
                self._lose()
                self._run_callbacks()
        return self._gone

    def _forget(self, callback: Callable[[], None]) -> None:
        with self._state, contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def _lose(self) -> None:
        """Remember, and point the descriptor at /dev/null (a write blocked on the old pipe, if any, keeps
        its own reference to it)."""
        with self._state:
            self._gone = True
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.fd)
            os.close(devnull)

    def _run_callbacks(self) -> None:
        with self._state:
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


STDOUT = Output(1)
STDERR = Output(2)


def _encode(text: str) -> bytes:
    # What print() would write, but never an exception: text decoded with surrogateescape (a file
    # name, a recorded command) goes back to its own bytes; what the encoding cannot hold is escaped.
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding, "surrogateescape")
    except (UnicodeEncodeError, LookupError):
        return text.encode("utf-8", "backslashreplace")


def write_out(data: bytes) -> None:
    """All of ``data`` to stdout. Raises :class:`StdoutClosed` when the reader has gone."""
    if not STDOUT.write(data):
        raise StdoutClosed()


def say(text: str = "") -> None:
    """One line to stdout (``print``'s job). Raises :class:`StdoutClosed` when the reader has gone."""
    write_out(_encode(text + "\n"))


def flush_print() -> None:
    """Write out what ``print`` still holds for stdout. Raises :class:`StdoutClosed` when the reader has
    gone (the interpreter's own last flush would otherwise complain on stderr and exit 120)."""
    try:
        sys.stdout.flush()
    except OSError as err:
        if stdout_closed_by(err):
            raise StdoutClosed() from None
        raise


def stdout_closed_by(err: BaseException) -> bool:
    """Whether ``err`` means that the reader of stdout went away: a :class:`StdoutClosed`, or an
    ``OSError`` met while stdout reports a reader gone (a ``print`` into a closed pipe). A broken pipe
    elsewhere (a child's stdin) leaves stdout's state alone and is not taken for it."""
    if isinstance(err, StdoutClosed):
        return True
    return isinstance(err, OSError) and STDOUT.check_gone()
