"""Output streams: one bounded buffer per stream, many readers, each with its own position.

A process has two :class:`StreamBuffer` objects (stdout, stderr), filled by the backend's pump and
read by any number of :class:`StreamReader` objects (a Lua stream, the command line...). Each reader
keeps its own cursor, so reading from Lua never takes output away from the console's pane.

Memory stays bounded by ``cap`` bytes per stream:

* while pull readers exist, data older than the slowest reader is dropped, and when the slowest
  reader is ``cap`` bytes behind, :meth:`StreamBuffer.wait_for_space` blocks the pump: the child then
  blocks on a full pipe, exactly as with a plain pipe (backpressure, never loss);
* with no pull reader, the buffer keeps the most recent ``cap`` bytes (a ring) so that a process
  nobody reads can never hang its own ``wait()``, and a reader opened later (even after ``wait()``)
  still sees what is retained. ``dropped`` counts what the ring let go.

Push subscribers (the console pane, run records) get every chunk as it arrives through
:class:`tui.core.process.Process.subscribe`; they never hold data here.

The only reader of a stream, with nothing buffered, reads the backend's source itself (a
:class:`DirectSource`, a native pipe): no copy into the buffer and no thread hand-off. A second reader
or a subscriber turns that off for as long as it is there, and neither misses a byte from then on.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Literal, Protocol

from tui.core.errors import ErrorKind, ExecError, invalid

StreamName = Literal["stdout", "stderr"]

#: ``puller(timeout, size)``: move up to about ``size`` bytes from the source into the buffer, waiting at
#: most ``timeout`` for them. Returns False at once when it cannot pull now (another thread is pulling,
#: or no room), so the caller waits on the buffer instead; True when it pulled or waited. Never raises.
#: (A sole reader reads a :class:`DirectSource` itself, with no buffering: see ``StreamReader.read``.)
Puller = Callable[[float, int], bool]


class DirectSource(Protocol):
    """A backend's non-blocking file descriptor that a sole reader may read itself, with no buffering
    and no thread hand-off: the fast path of :meth:`StreamReader.read`. Every call and lock on that path
    showed when a gigabyte was streamed through a reader (a reader a fraction of a microsecond slower per
    read than its writer falls behind, and then both contend for the pipe), so the reader does the read
    inline and the source is plain attributes plus two methods."""

    #: Held by whoever reads ``fd`` (the backend's pump too); the reader holds it for one read.
    lock: threading.Lock
    #: The descriptor, non-blocking; -1 once the source ended (set holding ``lock``).
    fd: int
    #: Counted up by every direct read and wait, so the backend can tell that a reader is active
    #: (a read that adds to ``tally_size`` instead tells it there).
    pulls: int
    #: While true (and ``batch`` is ``None``), ``took`` hears of every direct read.
    watching: bool
    #: While not ``None``, a direct read adds what it read here instead of calling ``took``, and calls
    #: ``took(None)`` once it holds ``DIRECT_BATCH`` reads (the source hands the batch on at its own pace).
    batch: list[bytes] | None
    #: Whether a chunk of the batch being filled may hold a newline. A direct read that adds a chunk looks
    #: for one while the chunk is still in the processor's cache, until one is found: a subscriber that
    #: counts lines then skips a batch without any (binary output), which, looked at later, out of the
    #: cache, cost a recorded fast stream a sixth of its throughput.
    newline: bool
    #: Set by the sink while every subscriber needs only counts (``OutputSink.deliver_tally``). A direct
    #: read then holds no bytes: ``took`` counts it, or, while ``watching`` and ``batch`` say that ``took``
    #: need not hear of it, the read adds itself to the counts below, which the source hands over at its
    #: own pace. A read of a fast writer takes a few microseconds, and each operation added to it cost a
    #: recorded stream a few per cent of its throughput. Read by the source under ``lock``, read by read;
    #: what it held in the other form goes first.
    tally: bool
    #: Bytes and newlines counted so far (they only grow), and ``tally_size`` just after the last read
    #: that ended on a newline: the output ends on one while the two are equal.
    tally_size: int
    tally_lines: int
    tally_newline_at: int

    def took(self, data: bytes | None) -> None:
        """A direct read took ``data``, or filled ``batch`` (``None``). Called holding ``lock``."""
        ...

    def wait(self, timeout: float) -> None:
        """Block until ``fd`` may have bytes, at most ``timeout`` seconds. Called without ``lock``, so
        the pump, new readers and subscribers are never held up by a waiting reader. Never raises."""
        ...


#: Upper bound of one ``read``: the reference runtime's, so that scripts written for it read alike.
MAX_READ = 65536
#: Default size of one ``read`` when the caller gives none (the reference runtime's).
DEFAULT_READ = 32768
#: Default bound of buffered, unread bytes per stream.
DEFAULT_CAP = 4 * 1024 * 1024

# Bound once: the fast path reads through it on every call.
_read_fd = os.read
#: A newline as an int: ``NEWLINE in data`` (or ``10 in data``) is one memchr, while ``b"\n" in data``
#: first tries its needle as an int, and the failed try raises and clears an exception: six times the
#: look itself on a 10 KB read, and a tenth of a recorded fast stream's throughput.
NEWLINE = 10
# Reads a direct reader adds to its source's batch before handing it over (see ``DirectSource``).
DIRECT_BATCH = 32

# A reader's blocking wait wakes this often to look at its cancel event.
_POLL = 0.1


class Cancelled(ExecError):
    """A blocking call ended because its caller was cancelled (a Lua chunk, ``ctrl+c``)."""

    def __init__(self) -> None:
        super().__init__(ErrorKind.INTERNAL, "cancelled")


class StreamBuffer:
    """The retained output of one stream of one process. Thread-safe.

    Positions are absolute byte offsets since the start of the stream. Chunks are kept whole, in a
    deque numbered by a global chunk index, so a reader finds its place in O(1) near either end.
    """

    def __init__(self, name: StreamName, cap: int = DEFAULT_CAP) -> None:
        self.name: StreamName = name
        self.cap = max(1, cap)
        self._cond = threading.Condition()
        # Each chunk: (start offset, arrival sequence number, data).
        self._chunks: deque[tuple[int, int, bytes]] = deque()
        self._first_index = 0  # global index of self._chunks[0]
        self._start = 0  # offset of the first retained byte
        self._end = 0  # offset one past the last byte written
        self._eof = False
        # Weak references, so a reader dropped without close() stops holding data. A plain list: a
        # WeakSet's iteration guard cost more than the rest of a read (measured on a streamed gigabyte).
        self._readers: list[weakref.ref[StreamReader]] = []
        self._space_callbacks: list[Callable[[], None]] = []
        self._waiting = 0  # threads blocked in a wait on _cond (readers or a writer)
        #: Set by a backend whose source a waiting reader may read itself (see :data:`Puller`):
        #: a reader then takes output straight from the pipe, with no thread hand-off.
        self.puller: Puller | None = None
        #: Held by the backend while it reads its source; taken by a subscriber while it registers,
        #: so that no chunk is in flight when a consumer appears.
        self.puller_lock: threading.Lock | None = None
        #: Set by a backend whose source a sole reader may read with no buffering at all.
        self.direct: DirectSource | None = None
        self.dropped = 0

    # -- writer side -------------------------------------------------------------------------

    @property
    def total(self) -> int:
        """Bytes written to this stream so far."""
        return self._end

    @property
    def eof(self) -> bool:
        return self._eof

    def wait_for_space(self, stop: threading.Event | None = None) -> None:
        """Block while the slowest pull reader is ``cap`` bytes behind (backpressure).

        Returns at once when there is room, when no pull reader exists, or when ``stop`` is set.
        """
        with self._cond:
            while not (stop is not None and stop.is_set()):
                if self._room():
                    return
                self._waiting += 1
                try:
                    self._cond.wait(_POLL)
                finally:
                    self._waiting -= 1

    def has_space(self) -> bool:
        """True when a write would not have to wait for a lagging reader."""
        if not self._readers:
            return True  # no pull reader, nothing to wait for (a reader opening now costs one chunk of slack)
        with self._cond:
            return self._room()

    def _room(self) -> bool:
        """No pull reader is ``cap`` bytes behind (called under the lock)."""
        floor = self._reader_floor()
        return floor is None or self._end - floor < self.cap

    def when_space(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once there is room again (at once if there is). It runs on the thread
        that made room (a reader) and must be quick."""
        with self._cond:
            if not self._room():
                self._space_callbacks.append(callback)
                return
        callback()

    def _space_freed(self) -> list[Callable[[], None]]:
        """The callbacks to run now that a reader moved or left (called under the lock)."""
        if not self._space_callbacks or not self._room():
            return []
        callbacks, self._space_callbacks = self._space_callbacks, []
        return callbacks

    def append(self, data: bytes, seq: int) -> None:
        """Add a chunk (called by the pump after :meth:`wait_for_space`)."""
        if not data:
            return
        with self._cond:
            self._chunks.append((self._end, seq, data))
            self._end += len(data)
            self._evict()
            if self._waiting:
                self._cond.notify_all()

    def close(self) -> None:
        """Mark the end of the stream: readers get ``None`` once they have read everything."""
        with self._cond:
            self._eof = True
            if self._waiting:
                self._cond.notify_all()

    def retained(self) -> list[tuple[int, bytes]]:
        """The retained chunks as ``(sequence number, data)``, for a subscriber's replay."""
        with self._cond:
            return [(seq, data) for _, seq, data in self._chunks]

    # -- reader side -------------------------------------------------------------------------

    def open_reader(self) -> StreamReader:
        """A new reader positioned at the oldest retained byte."""
        # Under the source lock (held only for single reads), so no direct read is in flight: the
        # reader that had the source to itself stops reading it directly before this one exists.
        lock = self.puller_lock
        if lock is not None:
            lock.acquire()
        try:
            with self._cond:
                reader = StreamReader(self, self._first_index, 0, self._start)
                self._readers.append(weakref.ref(reader, self._forget_reader))
                self._mark_sole(self._readers)
                return reader
        finally:
            if lock is not None:
                lock.release()

    def _reader_floor(self) -> int | None:
        floor: int | None = None
        for ref in self._readers:
            reader = ref()
            if reader is not None and not reader.closed and (floor is None or reader.position < floor):
                floor = reader.position
        return floor

    def _evict(self, mover: StreamReader | None = None) -> None:
        if mover is not None and self._chunks:
            start, _, data = self._chunks[0]
            if start + len(data) > mover.position:
                return  # the floor is at most this reader's position: nothing can go yet
        floor = self._reader_floor()
        limit = self._end - self.cap if floor is None else floor
        while self._chunks:
            start, _, data = self._chunks[0]
            if start + len(data) > limit:
                break
            self._chunks.popleft()
            self._first_index += 1
            self._start = start + len(data)
            if floor is None:
                self.dropped += len(data)

    def _read(self, reader: StreamReader, size: int, timeout: float | None,
              cancel: threading.Event | None) -> bytes | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._cond.acquire()
        try:
            while True:
                if reader.closed:
                    raise invalid("stream is closed")
                if reader.position <= self._start:
                    # At the first retained byte (direct reads leave index and offset alone), or
                    # behind it (the ring let its data go).
                    reader.index, reader.offset, reader.position = self._first_index, 0, self._start
                if reader.position < self._end and (data := self._take(reader, size)):
                    self._evict(reader)
                    callbacks = self._space_freed()
                    if self._waiting:
                        self._cond.notify_all()  # a writer may be waiting for room
                    break
                if self._eof:
                    return None
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                step = _POLL
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return b""
                    step = min(step, left)
                puller = self.puller
                if puller is not None:
                    # Read the source ourselves rather than wait for a pump thread to hand it over.
                    self._cond.release()
                    try:
                        pulled = puller(step, size)
                    finally:
                        self._cond.acquire()
                    if pulled:
                        continue
                self._waiting += 1
                try:
                    self._cond.wait(step)
                finally:
                    self._waiting -= 1
        finally:
            self._cond.release()
        for callback in callbacks:
            callback()
        return data

    def _forget_reader(self, ref: weakref.ref[StreamReader]) -> None:
        # A reader was garbage-collected: it holds nothing back any more. (Runs on whatever thread
        # dropped it; list replacement is atomic under the GIL.)
        self._readers = readers = [r for r in self._readers if r is not ref]
        self._mark_sole(readers)

    @staticmethod
    def _mark_sole(readers: list[weakref.ref[StreamReader]]) -> None:
        """Tell the readers whether one of them is alone (the fast path of ``StreamReader.read``)."""
        sole = len(readers) == 1
        for ref in readers:
            reader = ref()
            if reader is not None:
                reader.sole = sole

    def _take(self, reader: StreamReader, size: int) -> bytes:
        if reader.index < self._first_index:
            # The ring let this reader's data go (no pull reader held it): jump to what is left.
            reader.index, reader.offset, reader.position = self._first_index, 0, self._start
        i = reader.index - self._first_index
        if i >= len(self._chunks):
            return b""  # a direct read moved the end while this reader was opened: nothing to take
        data = self._chunks[i][2]
        offset = reader.offset
        if offset + size < len(data):
            # The common case for a hot reader: one piece of one large chunk.
            out = data[offset:offset + size]
            reader.offset = offset + size
            reader.position += size
            return out
        parts: list[bytes] = []
        want = size
        while want > 0:
            i = reader.index - self._first_index
            if i >= len(self._chunks):
                break
            data = self._chunks[i][2]
            piece = data[reader.offset:reader.offset + want] if (reader.offset or want < len(data)) else data
            parts.append(piece)
            want -= len(piece)
            reader.offset += len(piece)
            if reader.offset >= len(data):
                reader.index += 1
                reader.offset = 0
        out = parts[0] if len(parts) == 1 else b"".join(parts)
        reader.position += len(out)
        return out

    def _release(self, reader: StreamReader) -> None:
        with self._cond:
            self._readers = readers = [ref for ref in self._readers if ref() is not reader]
            reader.sole = False
            self._mark_sole(readers)
            callbacks = self._space_freed()
            self._cond.notify_all()
        for callback in callbacks:
            callback()


class StreamReader:
    """One reader of one stream, with its own position (what ``proc:stdout_stream()`` returns).

    ``read`` follows the reference: up to ``min(size, 65536)`` bytes as soon as at least one byte is
    there, ``None`` at end of output. Unread output stays readable after the process exited.
    """

    def __init__(self, buffer: StreamBuffer, index: int, offset: int, position: int) -> None:
        self._buffer = buffer
        self.index = index
        self.offset = offset
        self.position = position
        self.closed = False
        #: Set by the buffer while this is its only reader (open and alive).
        self.sole = False

    @property
    def name(self) -> StreamName:
        return self._buffer.name

    def read(self, size: int = DEFAULT_READ, *, timeout: float | None = None,
             cancel: threading.Event | None = None) -> bytes | None:
        """Block until data, end of stream, ``timeout`` or ``cancel``.

        Returns:
            bytes (at least one), ``None`` at end of output, or ``b""`` when ``timeout`` passed first.

        Raises:
            ExecError: invalid ``stream is closed`` after :meth:`close`; :class:`Cancelled` when
            ``cancel`` was set while waiting.
        """
        if size > MAX_READ:
            size = MAX_READ
        elif size <= 0:
            size = DEFAULT_READ
        buffer = self._buffer
        source = buffer.direct
        deadline: float | None = None
        if source is not None and self.sole:
            # The fast path, inline (a fast writer's reader goes through it thousands of times a second,
            # and every call and lock showed): the only reader, nothing buffered, so up to ``size`` bytes straight
            # from the source. Checked under the source lock: no append can race it (the pump holds
            # the same lock), and no reader or subscriber can join (``open_reader`` and
            # ``Process.subscribe`` take it too).
            lock = source.lock
            while lock.acquire(False):
                try:
                    end = buffer._end
                    if self.position != end or buffer._chunks or not self.sole:
                        break
                    try:
                        data = _read_fd(source.fd, size)
                    except BlockingIOError:
                        data = None
                    except OSError:
                        break  # ended (fd -1) or failed: the general path ends the stream or reports
                    if data:
                        batch = source.batch
                        if batch is not None:
                            source.pulls += 1
                            batch.append(data)
                            if not source.newline and 10 in data:  # NEWLINE, inline
                                source.newline = True
                            if len(batch) >= DIRECT_BATCH:
                                source.took(None)
                        elif source.watching:
                            source.pulls += 1
                            source.took(data)
                        elif source.tally:
                            # The subscribers need only counts (``took`` counts alike), and the count
                            # tells that the reader is active: every operation here showed.
                            source.tally_size += len(data)
                            if 10 in data:  # a memchr (see NEWLINE); counting costs forty times more per byte
                                source.tally_lines += data.count(b"\n")
                                if data[-1] == 10:
                                    source.tally_newline_at = source.tally_size
                        else:
                            source.pulls += 1
                        # Without the condition's lock: only this path and the pump, both holding
                        # the source lock, move the end. ``_read`` sets index and offset for a
                        # reader at the start.
                        end += len(data)
                        buffer._start = end
                        buffer._end = end
                        self.position = end
                        return data
                    if data is not None:
                        break  # the end of the pipe: the general path ends the stream
                finally:
                    lock.release()
                # Nothing there yet: a reader that caught up with its writer waits on the source
                # itself (through the general path each wait cost ~20 us). A cancel goes to the
                # general path, which raises it.
                if cancel is not None and cancel.is_set():
                    break
                step = _POLL
                if timeout is not None:
                    if deadline is None:
                        deadline = time.monotonic() + timeout
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return b""
                    step = min(step, left)
                source.wait(step)
        if deadline is not None:
            timeout = max(0.0, deadline - time.monotonic())
        return buffer._read(self, size, timeout, cancel)

    def close(self) -> None:
        """Close this reader; the buffer no longer holds data for it.

        Raises:
            ExecError: invalid ``stream is closed`` on a second close (Lua turns it into ``false, err``).
        """
        if self.closed:
            raise invalid("stream is closed")
        self.closed = True
        self._buffer._release(self)
