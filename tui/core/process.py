"""Processes: the states every executor kind shares (created, started, closed) and their output.

A :class:`Process` is made by an executor (``Executor.exec``) around a :class:`ProcessBackend`, the
small interface each kind implements (a host process, a container). The process is the handle the
console, the command line and Lua hold: it owns the readers, the time limit and the exit status. What
the backend writes output into is another object, an :class:`OutputSink` (the process's two stream
buffers and its subscribers), which the backend gets at launch and nobody else does: no reader can
write into a process's output. The backend only launches, pumps output into the sink, signals and
reports how the thing ended. A new backend kind needs no change here.

Threads: the backend's pump threads call :meth:`OutputSink.write`; one waiter thread per started
process calls :meth:`ProcessBackend.wait_exit`. Every public method is safe to call from any thread.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import signal as _signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from enum import StrEnum

from tui.core.errors import ExecError, internal, invalid
from tui.core.streams import (
    DEFAULT_CAP,
    NEWLINE,
    Cancelled,
    DirectSource,
    Puller,
    StreamBuffer,
    StreamName,
    StreamReader,
)
from tui.core.structs import field, record

#: Seconds between SIGTERM and SIGKILL when a time limit passes or a script ends.
KILL_GRACE = 2.0

Subscriber = Callable[[StreamName, bytes], None]
#: Gets the chunks of one stream in a list, several at once where a backend handed over a batch, and
#: whether any of them may hold a newline (``False`` only when the backend knows that none does).
#: Returning True says that it needs no more bytes, only counts (see :meth:`Process.subscribe_batches`).
BatchSubscriber = Callable[[StreamName, list[bytes], bool], "bool | None"]
#: ``tally(stream, size, newlines, ends_with_newline)``: what a subscriber that needs no more bytes is
#: told instead of them, for one or more chunks of one stream, in arrival order (``size`` > 0).
TallySubscriber = Callable[[StreamName, int, int, bool], None]


class ProcessState(StrEnum):
    CREATED = "created"
    STARTED = "started"
    CLOSED = "closed"


@record(frozen=True)
class ExitInfo:
    """How the backend saw the end: what :meth:`ProcessBackend.wait_exit` returns.

    ``code`` is the exit status as the backend reports it (a container's status code is already
    ``128+n`` after a signal); ``signal`` is set when a host process died of a signal.
    ``error`` is set when the backend lost track of the process (daemon gone): the run still ends.
    """

    code: int | None
    signal: int | None = None
    oom_killed: bool = False
    error: str | None = None


@record(frozen=True)
class ExitStatus:
    """The end of a run, as every consumer (Lua, command line, console, records) sees it."""

    code: int | None
    signal: int | None = None
    timed_out: bool = False
    timeout: float | None = None
    oom_killed: bool = False
    error: str | None = None

    @property
    def lua_code(self) -> int:
        """What ``proc:wait()`` returns in Lua: ``-1`` for a signal death, as in the reference runtime
        (scripts test for it)."""
        if self.signal is not None or self.code is None:
            return -1
        return self.code

    @property
    def shell_code(self) -> int:
        """The exit code for ``execdeck run``: 124 on time limit, ``128+n`` for a signal."""
        if self.timed_out:
            return 124
        if self.signal is not None:
            return 128 + self.signal
        if self.code is None:
            return 1
        return self.code

    @property
    def ok(self) -> bool:
        return self.code == 0 and self.signal is None and not self.timed_out and self.error is None

    def describe(self) -> str:
        """A short human phrase: ``exited 0``, ``killed by SIGTERM``, ``timed out after 5s``..."""
        if self.error:
            return self.error
        if self.timed_out:
            return f"timed out after {self.timeout:g}s"
        if self.oom_killed:
            return "killed: out of memory"
        if self.signal is not None:
            return f"killed by {signal_name(self.signal)}"
        return f"exited {self.code}"


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15; ``signal 99`` for numbers this OS does not name."""
    try:
        return _signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class OutputSink(ABC):
    """Where a backend's pump puts output.

    ``write`` may block while a reader lags (backpressure). A backend that must not block (one I/O
    thread for many runs) asks ``has_space`` first and ``when_space`` to be told when to go on, and
    may offer ``set_puller`` so that a waiting reader reads its source itself.
    """

    #: True while anyone is subscribed. Set under the backend's source locks when it becomes true, so a
    #: backend holding its lock may skip ``deliver_direct`` while it is false (a fast stream's hot path).
    subscribed: bool = False

    @abstractmethod
    def write(self, stream: StreamName, data: bytes) -> None: ...

    def deliver_direct(self, stream: StreamName, chunks: list[bytes],  # noqa: B027 - optional hook
                       newline: bool = True) -> None:
        """Direct reads handed ``chunks`` to the only reader: tell the subscribers, buffer nothing.
        ``newline`` is False when the backend knows that no chunk holds a newline.

        Called by the backend while it still holds its source lock, so the order of chunks holds."""

    def deliver_tally(self, stream: StreamName, size: int, newlines: int,  # noqa: B027 - optional hook
                      ends_with_newline: bool) -> None:
        """Direct reads handed ``size`` bytes to the only reader while every subscriber wanted counts
        only (``tally`` set on the source): tell them those counts. Called holding the source lock."""

    @abstractmethod
    def has_space(self, stream: StreamName) -> bool: ...

    @abstractmethod
    def when_space(self, stream: StreamName, callback: Callable[[], None]) -> None: ...

    @abstractmethod
    def set_puller(self, stream: StreamName, puller: Puller | None, lock: threading.Lock | None = None,
                   direct: DirectSource | None = None) -> None:
        """Offer ``puller`` to waiting readers and ``direct`` to a sole reader (``None`` withdraws
        both); ``lock`` is held by the backend whenever it reads."""

    @abstractmethod
    def end_stream(self, stream: StreamName) -> None:
        """No more output will come on ``stream`` (the pipe or the attach stream ended)."""


class ProcessBackend(ABC):
    """One running thing of one executor kind: the contract the process model relies on.

    * ``launch`` starts it and its pumps, or raises :class:`ExecError` (internal, with the OS or
      daemon message) having started nothing. Called at most once.
    * ``monitor(on_exit)`` arranges for ``on_exit(ExitInfo)`` to be called once when it ended; the
      default runs ``wait_exit`` (which blocks until the end and must return even if the daemon goes
      away) on a thread of its own. Called once, after a successful launch.
    * ``write_stdin``, ``close_stdin``, ``send_signal`` raise :class:`ExecError` on failure;
      ``write_stdin`` blocks until all bytes are written or ``cancel`` is set.
    * ``terminate`` and ``signal_all`` are best effort and never raise: SIGTERM, or SIGKILL with
      ``force``, or any signal, to the whole tree (process group, container).
    * ``cleanup`` releases what is left (pipes, a kept container's attach socket) after the end;
      it never raises.
    """

    #: The pid or container id once launched, for headers and records.
    handle: str = ""

    @abstractmethod
    def launch(self, sink: OutputSink) -> None: ...

    @abstractmethod
    def wait_exit(self) -> ExitInfo: ...

    @abstractmethod
    def write_stdin(self, data: bytes, cancel: threading.Event | None = None) -> None: ...

    @abstractmethod
    def close_stdin(self) -> None: ...

    @abstractmethod
    def send_signal(self, signum: int) -> None: ...

    @abstractmethod
    def terminate(self, force: bool) -> None: ...

    def signal_all(self, signum: int) -> None:
        """Best effort, never raises: ``signum`` to the whole tree (a process group, a container), as a
        shell's pipe or job control reaches every process of a job. Default: :meth:`send_signal`."""
        with contextlib.suppress(ExecError):
            self.send_signal(signum)

    def monitor(self, on_exit: Callable[[ExitInfo], None]) -> None:
        """Call ``on_exit`` once when the run ended (default: ``wait_exit`` on a thread)."""

        def waiter() -> None:
            try:
                info = self.wait_exit()
            except ExecError as err:
                info = ExitInfo(code=None, error=err.message)
            except Exception as err:  # noqa: BLE001 - the run must end whatever the backend did
                info = ExitInfo(code=None, error=f"lost the process: {err}")
            on_exit(info)

        threading.Thread(target=waiter, name=f"wait-{self.handle}", daemon=True).start()

    def cleanup(self) -> None:  # noqa: B027 - optional hook
        """Release resources after the end (default: nothing). Must be quick."""


_seq = itertools.count()


def finish_off(processes: list[Process], grace: float = KILL_GRACE) -> None:
    """SIGKILL what is still going ``grace`` seconds after its SIGTERM (the caller sent that).

    The one place for the second half of every clean end (engine shutdown, a script's end, a REPL
    reset). Also kills processes whose leader exited but whose output has not ended: grandchildren in
    the group may still hold the pipes. Blocks at most about ``grace`` seconds.
    """
    deadline = time.monotonic() + grace
    for process in processes:
        process.wait_exited(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if not process.wait_done(0):
            process.backend.terminate(True)


def new_run_id() -> str:
    """A short unique run id (also the label of a run's container): 12 random hex digits."""
    return os.urandom(6).hex()


@record
class RunSpec:
    """What a process was asked to run: recorded, shown in headers, never changed after create."""

    executor_id: str
    kind: str
    command: str
    argv: tuple[str, ...]
    work_dir: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    source: str = "api"
    run_id: str = field(default_factory=new_run_id)


_LATCH_STEP = 0.5


class _Latch:
    """A one-way event: ``threading.Event`` without the Condition (two per run, and their making and
    waking showed in the time of many short runs). A lock held from birth; ``set`` releases it and a
    waiter passes it on."""

    __slots__ = ("_gate", "_lock", "_open")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._open = False
        self._gate = [True]  # popped by the one ``set`` that opens the latch (atomic under the GIL)

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        try:
            self._gate.pop()
        except IndexError:
            return  # already set
        self._open = True
        self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """True once set; False when ``timeout`` passed first."""
        if self._open:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._open:
            # Bounded steps: a waiter that a signal handler's exception took out between taking the
            # lock and passing it on must not leave the others blocked for good.
            step = _LATCH_STEP if deadline is None else min(_LATCH_STEP, deadline - time.monotonic())
            if step <= 0:
                return False
            if self._lock.acquire(timeout=step):
                self._lock.release()  # pass it on to the next waiter
                return True
        return True


class _Subscription:
    """One subscriber of one process: a callback of chunks, or of lists of chunks (``batches``); one
    of lists may have said that it needs only counts from now on (``counting``, ``tally``)."""

    __slots__ = ("batches", "callback", "counting", "tally")

    def __init__(self, callback: Callable[..., object], batches: bool, tally: TallySubscriber | None) -> None:
        self.callback = callback
        self.batches = batches
        self.tally = tally
        self.counting = False

    def chunks(self, stream: StreamName, chunks: list[bytes], newline: bool) -> bool:
        """Hand ``chunks`` over as bytes or, once counting, as counts. True when this started counting."""
        if self.counting:
            assert self.tally is not None
            size = sum(map(len, chunks))
            if size:
                self.tally(stream, size, count_newlines(chunks, newline), _ends_with_newline(chunks))
            return False
        if self.callback(stream, chunks, newline) is True and self.tally is not None:
            self.counting = True
            return True
        return False


# Per chunk through map(): C all the way (a subscriber of a fast stream counted every call).
_count_newlines = operator.methodcaller("count", b"\n")
_has_newline = operator.methodcaller("__contains__", NEWLINE)  # an int: see tui.core.streams.NEWLINE


def count_newlines(chunks: list[bytes], newline: bool = True) -> int:
    """The newlines in ``chunks``; ``newline`` False says that the backend knows there is none.

    ``in`` is a memchr: binary and newline-free output pays almost nothing, and nothing at all when
    the backend already looked; ``count`` costs forty times more per byte, so it runs only where needed."""
    return sum(map(_count_newlines, chunks)) if newline and any(map(_has_newline, chunks)) else 0


def _ends_with_newline(chunks: list[bytes]) -> bool:
    last = next((chunk for chunk in reversed(chunks) if chunk), b"")
    return last[-1:] == b"\n"


class _Output(OutputSink):
    """The :class:`OutputSink` of one process: its two stream buffers and its subscribers.

    What a backend writes into; kept apart from :class:`Process`, the handle that the console, the
    command line and Lua hold, so that no reader of a process can write into its output. ``on_end`` is
    called once both streams have ended.
    """

    def __init__(self, buffer_cap: int, on_end: Callable[[], None]) -> None:
        self.buffers: dict[StreamName, StreamBuffer] = {
            "stdout": StreamBuffer("stdout", buffer_cap),
            "stderr": StreamBuffer("stderr", buffer_cap),
        }
        self._order = threading.Lock()  # keeps subscribers' view in arrival order across streams
        self._subscribers: list[_Subscription] = []
        # Whether every subscriber needs only counts: the direct sources then count instead of handing
        # over chunks (``DirectSource.tally``).
        self._tally = False
        self._on_end = on_end
        #: Set once both streams ended.
        self.done = _Latch()

    def subscribe(self, callback: Callable[..., object], batches: bool, replay: bool,
                  tally: TallySubscriber | None = None) -> Callable[[], None]:
        """See :meth:`Process.subscribe`; ``batches`` says whether ``callback`` takes lists of chunks,
        ``tally`` (with ``batches``) what it is told once it returned True (it needs only counts)."""
        entry = _Subscription(callback, batches, tally if batches else None)
        # Hold the sources still while registering: no chunk may be in flight past a new subscriber.
        locks = [lock for b in self.buffers.values() if (lock := b.puller_lock) is not None]
        for lock in locks:
            lock.acquire()
        try:
            with self._order:
                if replay:
                    chunks: list[tuple[int, StreamName, bytes]] = [
                        (seq, "stdout", data) for seq, data in self.buffers["stdout"].retained()]
                    chunks += [(seq, "stderr", data) for seq, data in self.buffers["stderr"].retained()]
                    for _, name, data in sorted(chunks, key=lambda c: c[0]):
                        if batches:
                            entry.chunks(name, [data], True)
                        else:
                            callback(name, data)
                self._subscribers.append(entry)
                self.subscribed = True
                self._set_tally()
                for buffer in self.buffers.values():
                    if buffer.direct is not None:
                        buffer.direct.watching = True  # a direct read must tell the new subscriber
        finally:
            for lock in locks:
                lock.release()

        def unsubscribe() -> None:
            with self._order:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)
                    self.subscribed = bool(self._subscribers)
                    self._set_tally()

        return unsubscribe

    def _set_tally(self) -> None:
        """Tell the direct sources whether every subscriber needs only counts (holding ``_order``).

        A source reads the flag under its own lock, read by read, and hands over what it held in the
        other form first (see ``DirectSource.tally``), so a change between two reads loses nothing."""
        subscribers = self._subscribers
        tally = bool(subscribers) and all(entry.counting for entry in subscribers)
        if tally != self._tally:
            self._tally = tally
            for buffer in self.buffers.values():
                if buffer.direct is not None:
                    buffer.direct.tally = tally

    def end_all(self) -> None:
        """Both streams end now, without ``on_end`` (a start that failed)."""
        for buffer in self.buffers.values():
            buffer.close()
        self.done.set()

    # -- OutputSink ---------------------------------------------------------------------------------

    def write(self, stream: StreamName, data: bytes) -> None:
        buffer = self.buffers[stream]
        buffer.wait_for_space()
        with self._order:
            seq = next(_seq)
            self._deliver(stream, [data], True)
            buffer.append(data, seq)

    def deliver_direct(self, stream: StreamName, chunks: list[bytes], newline: bool = True) -> None:
        with self._order:
            self._deliver(stream, chunks, newline)

    def _deliver(self, stream: StreamName, chunks: list[bytes], newline: bool) -> None:
        """Hand ``chunks`` to every subscriber (holding ``_order``)."""
        joined: bytes | None = None
        switched = False
        for entry in self._subscribers:
            # A broken subscriber must not stop the output for the others.
            with contextlib.suppress(Exception):
                if entry.batches:
                    switched = entry.chunks(stream, chunks, newline) or switched
                else:
                    if joined is None:
                        joined = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                    entry.callback(stream, joined)
        if switched:
            self._set_tally()

    def deliver_tally(self, stream: StreamName, size: int, newlines: int, ends_with_newline: bool) -> None:
        with self._order:
            for entry in self._subscribers:
                if entry.counting:
                    assert entry.tally is not None
                    with contextlib.suppress(Exception):
                        entry.tally(stream, size, newlines, ends_with_newline)

    def has_space(self, stream: StreamName) -> bool:
        return self.buffers[stream].has_space()

    def when_space(self, stream: StreamName, callback: Callable[[], None]) -> None:
        self.buffers[stream].when_space(callback)

    def set_puller(self, stream: StreamName, puller: Puller | None, lock: threading.Lock | None = None,
                   direct: DirectSource | None = None) -> None:
        buffer = self.buffers[stream]
        buffer.puller = puller
        buffer.direct = direct
        if direct is not None:
            direct.tally = self._tally
        if lock is not None:
            buffer.puller_lock = lock

    def end_stream(self, stream: StreamName) -> None:
        buffers = self.buffers
        buffers[stream].close()
        if buffers["stdout"].eof and buffers["stderr"].eof:
            self.done.set()
            self._on_end()


class Process:
    """One run of one command: states created -> started -> closed.

    Every method returns a value or raises :class:`ExecError`; the Lua layer maps those to
    ``value, nil`` / ``nil, err``. Output is buffered per stream (see :mod:`tui.core.streams`) and
    stays readable after :meth:`wait`.
    """

    def __init__(self, spec: RunSpec, backend: ProcessBackend, *, buffer_cap: int = DEFAULT_CAP,
                 describe_handle: Callable[[str], str] = str) -> None:
        """``describe_handle`` is the kind's way of naming a handle for people (``pid 4242``)."""
        self.spec = spec
        self.backend = backend
        self._describe_handle = describe_handle
        self._lock = threading.RLock()
        self._state = ProcessState.CREATED
        self._start_failed: ExecError | None = None
        self._output = _Output(buffer_cap, self._maybe_run_callbacks)
        self._buffers = self._output.buffers
        self._streams: dict[StreamName, StreamReader] = {}
        self._exit_callbacks: list[Callable[[Process], None]] = []
        self._discard_callbacks: list[Callable[[Process], None]] = []
        self._exited = _Latch()
        self._streams_done = self._output.done
        self._exit: ExitStatus | None = None
        self._timed_out = False
        self._cleaned = False
        self.started_at: float | None = None
        self.ended_at: float | None = None

    # -- identity ----------------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def state(self) -> ProcessState:
        return self._state

    @property
    def handle(self) -> str:
        """The pid or container id once launched, for records and signals; empty before."""
        return self.backend.handle

    @property
    def handle_text(self) -> str:
        """The handle as its kind names it for people (``pid 4242``, ``container 0123456789ab``); empty
        before the launch."""
        handle = self.backend.handle
        return self._describe_handle(handle) if handle else ""

    @property
    def running(self) -> bool:
        """Launched and not yet ended."""
        return self.started_at is not None and self._exit is None

    @property
    def exit_status(self) -> ExitStatus | None:
        return self._exit

    @property
    def start_error(self) -> ExecError | None:
        return self._start_failed

    def buffer(self, stream: StreamName) -> StreamBuffer:
        return self._buffers[stream]

    # -- the operations a script has (start, wait, signal, stdin, streams, close) ---------------

    def start(self) -> None:
        """Launch. Raises invalid when closed or already started (even after a failed start)."""
        with self._lock:
            if self._state is ProcessState.CLOSED:
                raise invalid("process is closed")
            if self._state is ProcessState.STARTED:
                raise invalid("process already started")
            self._state = ProcessState.STARTED
            try:
                self.backend.launch(self._output)
            except ExecError as err:
                self._start_failed = err
                self._output.end_all()
                self._finish(ExitStatus(code=None, error=err.message), run_callbacks=True)
                raise
            except BaseException:
                # Cut short from outside: a signal handler of the command line raises in this thread,
                # possibly after the launch got as far as starting something. Nobody would ever see
                # or end that run (it has no start time), so it is ended here and the start fails.
                interrupted = internal("interrupted while starting")
                self._start_failed = interrupted
                with contextlib.suppress(Exception):
                    self.backend.terminate(True)
                self._output.end_all()
                self._finish(ExitStatus(code=None, error=interrupted.message), run_callbacks=True)
                raise
            self.started_at = time.time()
        self.backend.monitor(self._on_exit)
        if self.spec.timeout is not None and self.spec.timeout > 0:
            threading.Thread(target=self._time_limit, name=f"timeout-{self.run_id}", daemon=True).start()

    def wait(self, cancel: threading.Event | None = None) -> ExitStatus:
        """Mark the process closed at once, then block until it ended.

        Any exit status is a value. Raises invalid when closed or not started, internal ``process
        is not running`` after a failed start, internal with the backend's message when the backend
        lost the process, :class:`Cancelled` when ``cancel`` is set while waiting.
        """
        with self._lock:
            self._check_usable()
            self._state = ProcessState.CLOSED
            if self._start_failed is not None:
                raise internal("process is not running")
        while not self._wait_exit(0.1):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
        if cancel is not None and cancel.is_set():
            # Cancelled as it ended (a script being stopped, whose processes are being ended): the
            # caller must not go on as if its wait had simply returned.
            raise Cancelled()
        status = self._exit
        assert status is not None
        if status.error is not None:
            raise internal(status.error, command=self.spec.command)
        return status

    def signal(self, signum: int) -> None:
        """Send signal ``signum``. Invalid when closed or not started."""
        with self._lock:
            self._check_usable()
            if self._start_failed is not None:
                raise internal("process is not running")
        self.backend.send_signal(signum)

    def signal_all(self, signum: int) -> None:
        """Best effort, never raises: ``signum`` to everything the run started (its process group, its
        container), once started: a native group outlives its leader while grandchildren run. A reader
        of the output that went away ends a run so, with SIGPIPE."""
        if self.started_at is not None:
            self.backend.signal_all(signum)

    def write_stdin(self, data: bytes, cancel: threading.Event | None = None) -> None:
        """Write all of ``data``; ``b""`` closes stdin (end of input: ``sort`` and ``cat`` can end, where
        the reference runtime's stdin never closes)."""
        with self._lock:
            self._check_usable()
            if self._start_failed is not None:
                raise internal("process is not running")
        if data:
            self.backend.write_stdin(data, cancel)
        else:
            self.backend.close_stdin()

    def stream(self, name: StreamName) -> StreamReader:
        """The process's own reader of ``name`` (Lua's ``stdout_stream()``): the same one each call."""
        with self._lock:
            if self._state is ProcessState.CLOSED:
                raise invalid("process is closed")
            reader = self._streams.get(name)
            if reader is None or reader.closed:
                reader = self._streams[name] = self._buffers[name].open_reader()
            return reader

    def open_reader(self, name: StreamName) -> StreamReader:
        """A new, independent reader (the command line, a test): works in every state."""
        return self._buffers[name].open_reader()

    def close(self, force: bool = False) -> None:
        """Always succeeds: SIGTERM (SIGKILL with ``force``) to a running process, then closed.

        A process closed before it ever started is discarded: its discard callbacks run (the engine
        forgets it), and it never gets an exit status.
        """
        with self._lock:
            was_running = self.running
            never_started = self._state is ProcessState.CREATED
            self._state = ProcessState.CLOSED
            discarded, self._discard_callbacks = (self._discard_callbacks, []) if never_started else ([], [])
        if was_running:
            self.backend.terminate(force)
        for callback in discarded:
            with contextlib.suppress(Exception):
                callback(self)

    def add_discard_callback(self, callback: Callable[[Process], None]) -> None:
        """Call ``callback(process)`` if the process is closed without ever being started."""
        with self._lock:
            self._discard_callbacks.append(callback)

    def _check_usable(self) -> None:
        if self._state is ProcessState.CLOSED:
            raise invalid("process is closed")
        if self._state is ProcessState.CREATED:
            raise invalid("process not started: call start() first")

    # -- observation -------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber, *, replay: bool = True) -> Callable[[], None]:
        """Call ``callback(stream, data)`` for every chunk, in arrival order across both streams.

        With ``replay`` the retained output is delivered first, so a late subscriber misses nothing
        still held. Callbacks run on pump threads and must be quick; they must not call back into
        this process. Returns a function that unsubscribes.
        """
        return self._output.subscribe(callback, False, replay)

    def subscribe_batches(self, callback: BatchSubscriber, *, replay: bool = True,
                          tally: TallySubscriber | None = None) -> Callable[[], None]:
        """Like :meth:`subscribe`, but ``callback(stream, chunks, newline)`` gets a list: the reads of a
        sole reader come as one batch, which spares a subscriber that only counts a call per read.

        With ``tally``, ``callback`` may return True once it needs no more bytes (a recorder past its
        output cap): from then on ``tally`` hears of every chunk as counts instead, in the same order.
        While every subscriber only counts, a sole reader's direct reads are counted where they are read
        and no chunk is held for the subscribers (holding a batch of a fast stream's reads, out of the
        processor's cache by the time it was handed over, cost a recorded stream a sixth of its speed)."""
        return self._output.subscribe(callback, True, replay, tally)

    def add_exit_callback(self, callback: Callable[[Process], None]) -> None:
        """Call ``callback(process)`` once the process ended and both streams reached their end
        (at once if that already happened). Runs on the waiter thread."""
        with self._lock:
            if not self._streams_done.is_set() or self._exit is None:
                self._exit_callbacks.append(callback)
                return
        callback(self)

    def wait_done(self, timeout: float | None = None) -> bool:
        """Block until ended and both streams closed; True when that happened within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._wait_exit(timeout):
            return False
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._streams_done.wait(left)

    def wait_exited(self, timeout: float | None = None) -> bool:
        """Block until the process ended (streams may still be draining), without closing it."""
        return self._wait_exit(timeout)

    # -- internals ---------------------------------------------------------------------------

    def _on_exit(self, info: ExitInfo) -> None:
        self._finish(ExitStatus(
            code=info.code, signal=info.signal, timed_out=self._timed_out, timeout=self.spec.timeout,
            oom_killed=info.oom_killed, error=info.error,
        ), run_callbacks=True)

    def _finish(self, status: ExitStatus, *, run_callbacks: bool) -> None:
        with self._lock:
            if self._exit is not None:
                return
            self._exit = status
            self.ended_at = time.time()
        if run_callbacks:
            # Before the waiters wake: a thread woken from wait() would only contend for the GIL with
            # this clean-up (measured on many short runs). A callback that waits returns at once, as
            # ``_wait_exit`` looks at the status first.
            self._maybe_run_callbacks()
        self._exited.set()

    def _wait_exit(self, timeout: float | None) -> bool:
        """Block until the process ended (its status is set), at most ``timeout`` seconds."""
        if self._exit is not None:
            return True
        return self._exited.wait(timeout) or self._exit is not None

    def _maybe_run_callbacks(self) -> None:
        with self._lock:
            if self._exit is None or not self._streams_done.is_set() or self._cleaned:
                return
            self._cleaned = True
            callbacks, self._exit_callbacks = self._exit_callbacks, []
        if self._start_failed is None:
            with contextlib.suppress(Exception):
                self.backend.cleanup()
        for callback in callbacks:
            # One observer's bug must not hide the end from the others.
            with contextlib.suppress(Exception):
                callback(self)

    def _time_limit(self) -> None:
        assert self.spec.timeout is not None
        if self._wait_exit(self.spec.timeout):
            return
        self._timed_out = True
        self.backend.terminate(False)
        if not self._wait_exit(KILL_GRACE):
            self.backend.terminate(True)
