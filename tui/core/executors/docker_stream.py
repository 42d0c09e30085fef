"""The attach stream of a container: a raw socket read with deadlines, split into stdout and stderr.

The SDK's frame reader blocks with no timeout (a silent daemon would hang the run), so this module
reads the hijacked connection itself: ``select`` with a short timeout, large reads, and its own parser of the 8-byte
frame headers (byte 0 the stream, 1 stdout and 2 stderr; bytes 4-7 the big-endian payload length).
Payloads are passed on as they arrive, even before their frame is complete, and consecutive pieces
of one stream from one read are joined, so a fast writer costs few sink writes.
"""

from __future__ import annotations

import _socket  # not socket: see tui.core.executors.engine_api
import contextlib
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from tui.core.process import OutputSink
from tui.core.streams import StreamName

_HEADER = 8
_READ_SIZE = 1024 * 1024
# How often a waiting pump or stdin writer wakes to look at its stop/cancel flags.
_TICK = 0.25
#: After the container exited, output may still drain this long (no end of stream seen) before the
#: streams are ended anyway: a run must end even when the daemon never closes the connection.
DRAIN_AFTER_EXIT = 2.0


class AttachChannel:
    """The raw connection of an attach (or an exec's start): readable with a deadline, writable for stdin.

    Takes what ``attach_socket`` or ``exec_start(socket=True)`` returns (its socket is ``_sock``, as
    with the SDK's ``SocketIO``), or a socket, and closes it with the channel (which also ends the ssh
    process behind an ``ssh://`` one).
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        sock = getattr(raw, "_sock", raw)
        assert isinstance(sock, _socket.socket)
        self._sock = sock
        # send() then waits at most a tick, so a cancelled stdin write gets a chance to stop.
        sock.settimeout(_TICK)

    def wait_readable(self, timeout: float) -> bool:
        """True when a read will not block (data, end of stream or an error is there)."""
        fd = self._sock.fileno()
        if fd < 0:
            return True  # closed under us: the read reports it
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)

    def read_into(self, buffer: memoryview) -> int:
        """Read what is there into ``buffer``; 0 at end of stream. Call after :meth:`wait_readable`."""
        try:
            return self._sock.recv_into(buffer)
        except (TimeoutError, BlockingIOError):
            return -1  # nothing after all: not an end

    def send_all(self, data: bytes, cancel: threading.Event | None) -> None:
        """Write all of ``data`` (stdin). Raises ``OSError`` when the connection failed, and
        :class:`~tui.core.streams.Cancelled` when ``cancel`` is set before it is done."""
        from tui.core.streams import Cancelled

        view = memoryview(data)
        while view:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            try:
                sent = self._sock.send(view)
            except TimeoutError:
                continue
            view = view[sent:]

    def shutdown_write(self) -> None:
        """End of input: the program reads end of file (with ``StdinOnce``). Never raises."""
        with contextlib.suppress(OSError, ValueError):
            self._sock.shutdown(_socket.SHUT_WR)

    def close(self) -> None:
        """Close the connection (and the response holding it). Idempotent, never raises."""
        with contextlib.suppress(Exception):
            self._sock.close()
        with contextlib.suppress(Exception):
            self._raw.close()


class FrameSplitter:
    """Parses the multiplexed stream incrementally: ``feed`` returns ``(stream, data)`` pieces."""

    def __init__(self) -> None:
        self._header = bytearray()
        self._stream: StreamName = "stdout"
        self._remaining = 0

    def feed(self, chunk: memoryview) -> list[tuple[StreamName, bytes]]:
        pieces: list[tuple[StreamName, list[memoryview]]] = []
        offset, size = 0, len(chunk)
        while offset < size:
            if self._remaining == 0:
                take = min(_HEADER - len(self._header), size - offset)
                self._header += chunk[offset:offset + take]
                offset += take
                if len(self._header) == _HEADER:
                    # 1 stdout; 2 stderr; 3 is the daemon's own error text, shown with stderr.
                    self._stream = "stdout" if self._header[0] == 1 else "stderr"
                    self._remaining = int.from_bytes(self._header[4:8], "big")
                    self._header.clear()
                continue
            take = min(self._remaining, size - offset)
            piece = chunk[offset:offset + take]
            offset += take
            self._remaining -= take
            if pieces and pieces[-1][0] == self._stream:
                pieces[-1][1].append(piece)
            else:
                pieces.append((self._stream, [piece]))
        return [(name, b"".join(parts)) for name, parts in pieces]


def pump(channel: AttachChannel, sink: OutputSink, exited: threading.Event, stop: threading.Event,
         tap: Callable[[StreamName, bytes], None] | None = None) -> None:
    """Move the attach stream into ``sink`` until its end, then end both streams (own thread).

    ``tap`` sees every piece before the sink does (it must be quick).

    Ends early when ``stop`` is set, or :data:`DRAIN_AFTER_EXIT` seconds after ``exited`` was set
    with no data since. ``sink.write`` may block (backpressure): then the socket is not read, and
    the container blocks on its output as it would on a full pipe.
    """
    buffer = bytearray(_READ_SIZE)
    view = memoryview(buffer)
    splitter = FrameSplitter()
    last_data = time.monotonic()
    exit_seen: float | None = None
    try:
        while not stop.is_set():
            if not channel.wait_readable(_TICK):
                if exited.is_set():
                    now = time.monotonic()
                    exit_seen = exit_seen or now
                    if now - max(exit_seen, last_data) > DRAIN_AFTER_EXIT:
                        break
                continue
            count = channel.read_into(view)
            if count == 0:
                break
            if count < 0:
                continue
            for name, data in splitter.feed(view[:count]):
                if tap is not None:
                    tap(name, data)
                sink.write(name, data)
            # After the writes, which block while a reader lags: time spent waiting for the reader is
            # not a quiet stream, and must not count towards giving up on the rest of the output.
            last_data = time.monotonic()
    except (OSError, ValueError):
        pass  # connection reset or closed under us (daemon gone, cleanup): the streams end here
    finally:
        sink.end_stream("stdout")
        sink.end_stream("stderr")
