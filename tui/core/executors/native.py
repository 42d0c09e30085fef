"""The ``exec.native`` kind: host processes with a clean environment. Its :data:`KIND` is registered
by :mod:`tui.core.executors.registry`.

* No shell: argv comes from the tokenizer, with the rule that keeps empty quoted arguments. The program
  is resolved on the **console's own** PATH when the process is created (as the reference does;
  Python's ``subprocess`` would search the child's PATH, which a per-run env could point anywhere), and
  a miss is reported by ``start()``.
* The environment is exactly ``default_env`` overlaid by the per-call env: nothing is inherited.
* Each child starts in its own session (process group), so ``close(true)`` ends children and
  grandchildren alike.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import stat
import threading
from collections.abc import Callable

from tui.core.command import split_keeping_empty
from tui.core.entries.fields import Field, env_map, string_field, string_list
from tui.core.entries.models import ExecutorSpec
from tui.core.errors import internal
from tui.core.executors import reactor
from tui.core.executors.base import ExecutorStatus, Kind, Scope
from tui.core.executors.spawn import Child, spawn
from tui.core.heap import keep_heap
from tui.core.process import ExitInfo, OutputSink, ProcessBackend, RunSpec
from tui.core.streams import DIRECT_BATCH, StreamName
from tui.core.structs import record

# Larger pipes mean fewer wake-ups for fast writers (Linux only; harmless elsewhere).
_PIPE_SIZE = 1024 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_READ_SIZE = 256 * 1024  # a 1 MiB read allocates a fresh mmap each time: measured 2.5x slower
# Bytes a stream must carry before its pipe is grown to _PIPE_SIZE.
_GROW_AFTER = 1024 * 1024


@record(frozen=True, kw_only=True)
class NativeSpec(ExecutorSpec):
    """An ``exec.native`` entry has the common fields only."""


FIELDS = (
    Field("default_work_dir", string_field, "string", "the console's cwd", "used when a run gives no work dir"),
    Field("default_env", env_map, "map string→string", "none",
          "the child's whole environment, overlaid by the per-run env; nothing is inherited"),
    Field("command_whitelist", string_list, "list of strings", "none: all allowed",
          "a command must equal one item exactly"),
)


def _backend(spec: NativeSpec, run: RunSpec, scope: Scope) -> ProcessBackend:
    env = dict(spec.default_env)
    env.update(run.env)
    raw_dir = run.work_dir or spec.default_work_dir
    work_dir = os.path.normpath(raw_dir) if raw_dir else ""
    run.work_dir = work_dir
    return NativeBackend(list(run.argv), env, work_dir)


def _probe(spec: NativeSpec, scope: Scope, timeout: float) -> ExecutorStatus:
    work_dir = spec.default_work_dir
    if work_dir and not os.path.isdir(work_dir):
        return ExecutorStatus(False, f"work dir {work_dir} does not exist")
    return ExecutorStatus(True, "ready")


KIND = Kind(
    name="exec.native", label="native", fields=FIELDS, spec_class=NativeSpec, tokenize=split_keeping_empty,
    handle_label="pid", backend=_backend, probe=_probe,
)


def resolve_program(name: str, work_dir: str) -> str | None:
    """Where ``name`` is, looked up as the reference does; ``None`` when it is not found.

    A name without ``/`` is searched on the console's own PATH; a relative path with ``/`` is taken
    against the work dir.
    """
    if "/" in name:
        return name if os.path.isabs(name) else os.path.join(work_dir or os.getcwd(), name)
    search = os.environ.get("PATH", os.defpath)
    key = (name, search)
    found = _found.get(key)
    # A PATH scan costs a stat per folder; a hit is re-checked with one stat so a removed or
    # replaced program is never run from a stale answer.
    if found is not None and _executable_file(found):
        return found
    found = _which(name, search)
    if found is not None:
        if len(_found) > 512:
            _found.clear()
        _found[key] = found
    return found


_found: dict[tuple[str, str], str] = {}


def _which(name: str, search: str) -> str | None:
    """``shutil.which(name, path=search)`` for a name without ``/``, on POSIX, written out: importing
    shutil loads its archive modules (bz2, lzma), and a command line pays for every module it loads."""
    seen: set[str] = set()
    for folder in search.split(os.pathsep) if search else ():
        if folder in seen:
            continue
        seen.add(folder)
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate) and os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def _executable_file(path: str) -> bool:
    """A regular file with an execute bit (what ``shutil.which`` accepts, in one system call)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and bool(mode & 0o111)


class NativeBackend(ProcessBackend):
    """A host process in its own session, with three pipes. Its output and its exit are watched by the
    shared reactor (a thread per pipe where epoll is missing); a sole reader reads its pipe itself."""

    def __init__(self, argv: list[str], env: dict[str, str], work_dir: str) -> None:
        self.argv = argv
        self.env = env
        self.work_dir = work_dir
        # Resolved now, "when the process is created", so a later PATH change cannot matter.
        self.program = resolve_program(argv[0], work_dir) if argv else None
        self._popen: Child | None = None
        self._stdin_lock = threading.Lock()
        self._stdin = -1  # our end of the child's stdin; -1 once closed

    def launch(self, sink: OutputSink) -> None:
        if not self.argv:
            raise internal("exec: no command")
        if self.work_dir and not os.path.isdir(self.work_dir):
            reason = "is not a directory" if os.path.exists(self.work_dir) else "does not exist"
            raise internal(f"work dir {self.work_dir} {reason}", work_dir=self.work_dir)
        if self.program is None:
            raise internal(f'exec: "{self.argv[0]}": executable file not found in $PATH')
        # Our own pipes, handed to Popen as descriptors: its file objects for them cost more than the
        # rest of a short run's bookkeeping (measured on many short runs). Python makes every
        # descriptor close-on-exec; the
        # child gets its three by dup2.
        fds: list[int] = []
        try:
            for _ in range(3):
                fds.extend(os.pipe())
        except OSError as err:
            _close_all(fds)
            raise internal(f"pipe: {err.strerror or err}", command=" ".join(self.argv)) from err
        stdin_read, stdin_write, out_read, out_write, err_read, err_write = fds
        try:
            self._popen = spawn(self.program, [self.program, *self.argv[1:]], self.env, self.work_dir or None,
                                stdin_read, out_write, err_write)
        except OSError as err:
            _close_all([stdin_write, out_read, err_read])  # ours; the finally closes the child's
            raise internal(f"fork/exec {self.program}: {err.strerror or err}", command=" ".join(self.argv)) from err
        finally:
            _close_all([stdin_read, out_write, err_write])  # the child's ends
        self._stdin = stdin_write
        self.handle = str(self._popen.pid)
        self._sink = sink
        for name, fd in (("stdout", out_read), ("stderr", err_read)):
            if reactor.AVAILABLE:
                self._watch(name, fd, sink)  # type: ignore[arg-type]
            else:
                threading.Thread(target=_pump, args=(fd, name, sink), name=f"pump-{name}-{self.handle}",
                                 daemon=True).start()

    # -- output through the shared reactor -------------------------------------------------------

    def _watch(self, name: StreamName, fd: int, sink: OutputSink) -> None:
        os.set_blocking(fd, False)
        pipe = _Pipe(name, fd, sink)
        sink.set_puller(name, lambda timeout, size: self._pull(pipe, timeout, size), pipe.lock, direct=pipe)
        reactor.reactor().add(pipe.fd, lambda: self._on_readable(pipe))

    def _on_readable(self, pipe: _Pipe) -> None:
        """Reactor thread: the pipe has data (or hit its end)."""
        if pipe.reader_active() or not pipe.lock.acquire(blocking=False):
            # A reader is pulling this pipe itself: two threads taking turns on one pipe would only
            # trade the GIL. Hand the pipe back to the reactor once the reader goes quiet.
            pipe.watch_idle()
            return
        try:
            if pipe.sink.has_space(pipe.name):
                pipe.read_once()
            else:
                # A reader lags a whole buffer behind: leave the data in the pipe (the child blocks,
                # as with a plain pipe) until it catches up.
                pipe.sink.when_space(pipe.name, pipe.rearm)
                return
        finally:
            pipe.lock.release()
        pipe.rearm()

    def _pull(self, pipe: _Pipe, timeout: float, size: int) -> bool:
        """Reader thread: read the pipe into the buffer while waiting for output (see ``Puller``). The
        lock is held for one read only; the wait for the pipe happens without it."""
        if not pipe.lock.acquire(blocking=False):
            return False
        try:
            if pipe.closed:
                return False
            pipe.pulls += 1
            if not pipe.sink.has_space(pipe.name):
                return False
            if pipe.read_once():  # large reads win here (measured): fewer system calls
                return True
        except (OSError, ValueError):
            return False
        finally:
            pipe.lock.release()
        pipe.wait(timeout)
        return True

    def monitor(self, on_exit: Callable[[ExitInfo], None]) -> None:
        if not reactor.AVAILABLE:
            super().monitor(on_exit)
            return
        assert self._popen is not None
        try:
            pidfd = os.pidfd_open(self._popen.pid)
        except OSError:
            super().monitor(on_exit)
            return

        popen = self._popen

        def exited() -> None:
            code = popen.poll()
            if code is None:
                # A spurious event (see ``Reactor.remove``): the child still runs.
                reactor.reactor().arm(pidfd)
                return
            reactor.reactor().remove(pidfd, close=True)
            on_exit(self._exit_info(code))

        reactor.reactor().add(pidfd, exited)

    def wait_exit(self) -> ExitInfo:
        assert self._popen is not None
        return self._exit_info(self._popen.wait())

    def _exit_info(self, code: int) -> ExitInfo:
        if code < 0:
            return ExitInfo(code=None, signal=-code)
        return ExitInfo(code=code)

    def write_stdin(self, data: bytes, cancel: threading.Event | None = None) -> None:
        with self._stdin_lock:
            fd = self._stdin
            if fd < 0:
                raise internal("write to stdin: stdin is closed")
            view = memoryview(data)
            os.set_blocking(fd, False)
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            try:
                while view:
                    if cancel is not None and cancel.is_set():
                        from tui.core.streams import Cancelled
                        raise Cancelled()
                    if not poller.poll(100):
                        continue
                    try:
                        written = os.write(fd, view)
                    except BlockingIOError:
                        continue
                    except OSError as err:
                        if err.errno == errno.EPIPE:
                            raise internal("write to stdin: the process closed its input") from err
                        raise internal(f"write to stdin: {err.strerror}") from err
                    view = view[written:]
            finally:
                with contextlib.suppress(OSError):
                    os.set_blocking(fd, True)

    def close_stdin(self) -> None:
        with self._stdin_lock:
            fd, self._stdin = self._stdin, -1
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def send_signal(self, signum: int) -> None:
        assert self._popen is not None
        if self._popen.poll() is not None:
            raise internal("os: process already finished")
        try:
            self._popen.send_signal(signum)
        except (OSError, ValueError) as err:
            raise internal(f"signal {signum}: {err}") from err

    def terminate(self, force: bool) -> None:
        self.signal_all(signal.SIGKILL if force else signal.SIGTERM)

    def signal_all(self, signum: int) -> None:
        if self._popen is None:
            return
        # The child leads its own session: the group id is its pid, and the group outlives it
        # while grandchildren run, so signal the group even after the leader exited.
        with contextlib.suppress(OSError):
            os.killpg(self._popen.pid, signum)

    def cleanup(self) -> None:
        self.close_stdin()


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


class _Pipe:
    """One output pipe of one native process: what the reactor, a pulling reader and a direct read
    (:class:`tui.core.streams.DirectSource`) share. Reads happen holding ``lock``."""

    __slots__ = (
        "backlog",
        "batch",
        "closed",
        "fd",
        "idle_check",
        "lock",
        "name",
        "newline",
        "pulls",
        "rearm",
        "resized",
        "seen_pulls",
        "seen_tally",
        "sink",
        "tally",
        "tally_lines",
        "tally_newline_at",
        "tally_sent",
        "tally_sent_lines",
        "tally_size",
        "ticking",
        "volume",
        "watching",
    )

    def __init__(self, name: StreamName, fd: int, sink: OutputSink) -> None:
        self.name: StreamName = name
        self.fd = fd
        self.sink = sink
        self.lock = threading.Lock()
        self.closed = False
        self.volume = 0
        self.resized = False
        # Pulls by a reader, and how many the reactor saw when it last looked: a count rather than a
        # clock, as reading the clock showed in a fast stream's hot path.
        self.pulls = 0
        self.seen_pulls = 0
        self.watching = True
        self.ticking = False
        # What a sole reader read that the subscribers have yet to hear of (see ``took``).
        self.backlog: list[bytes] = []
        self.batch: list[bytes] | None = None
        self.newline = False  # whether the backlog may hold a newline (see ``DirectSource.newline``)
        # Set by the sink while every subscriber needs only counts: what a sole reader read that they
        # have yet to hear of is then counts, and never bytes (see ``DirectSource.tally``). The counts
        # only grow; ``flush`` hands over what they grew by since it last did (``tally_sent...``).
        self.tally = False
        self.tally_size = 0
        self.tally_lines = 0
        self.tally_newline_at = -1
        self.tally_sent = 0
        self.tally_sent_lines = 0
        self.seen_tally = 0
        # Bound once: the reactor keeps them in sets and compares them.
        self.idle_check: Callable[[], None] = self._idle_check
        self.rearm: Callable[[], None] = self._rearm

    def took(self, data: bytes | None) -> None:
        """A sole reader read ``data`` straight from the pipe, or filled ``batch`` (``None``); see
        ``DirectSource``.

        Subscribers hear of those reads in batches: up to ``DIRECT_BATCH`` reads, handed over together
        within a reactor tick (``_idle_check``), at the end of the pipe, and before any output that
        goes through the buffer. A call per read cost a recorded fast stream a third of its throughput,
        so once the pipe is grown the reader adds to ``batch`` itself. While every subscriber needs only
        counts (``tally``), every read comes here and is counted, and nothing is held: a held batch is
        out of the processor's cache by the time the reader's next reads need the memory."""
        if data is None:
            self.flush()
            return
        if not self.resized:
            self._count(len(data))
        if self.sink.subscribed:
            if self.tally:
                if self.backlog:
                    self.flush()  # bytes read before the subscribers turned to counting go first
                self.watch_idle()  # the tick that hands the counts over
                # The reader's fast path does the same, inline, once the pipe is grown.
                self.tally_size += len(data)
                if 10 in data:  # a memchr (see tui.core.streams.NEWLINE); counting costs forty times more
                    self.tally_lines += data.count(b"\n")
                    if data[-1] == 10:
                        self.tally_newline_at = self.tally_size
                # Grown, the reader counts its reads itself until the tick stops (``_idle_check``).
                self.watching = not self.resized
                return
            if self.tally_size != self.tally_sent:
                self.flush()  # counts of reads before a subscriber wanted bytes again go first
            if not self.backlog:
                self.watch_idle()  # the tick that hands the backlog over
            self.backlog.append(data)
            if not self.newline and 10 in data:  # see tui.core.streams.NEWLINE
                self.newline = True
            if len(self.backlog) >= DIRECT_BATCH:
                self.flush()
            elif self.resized:
                self.batch = self.backlog
        # Once grown, only subscribers need to hear (``Process.subscribe`` sets this again, holding the
        # lock, so a reader that counts inline never misses a subscriber that wants bytes).
        self.watching = not self.resized or self.sink.subscribed

    def flush(self) -> None:
        """Hand the backlog to the subscribers (called holding ``lock``)."""
        backlog = self.backlog
        if backlog:
            self.backlog = []
            newline, self.newline = self.newline, False
            self.sink.deliver_direct(self.name, backlog, newline)
        size = self.tally_size - self.tally_sent
        if size:
            lines = self.tally_lines - self.tally_sent_lines
            self.tally_sent = self.tally_size
            self.tally_sent_lines = self.tally_lines
            self.sink.deliver_tally(self.name, size, lines, self.tally_newline_at == self.tally_size)
        self.batch = None  # the next read goes through ``took``, which opens the next batch

    def wait(self, timeout: float) -> None:
        """A direct reader waits for the pipe (see ``DirectSource``), counted as a pull so that the
        reactor leaves the pipe to it."""
        self.pulls += 1
        # Without the lock, so the pipe may end and its fd go meanwhile: a failed or spurious wait
        # only sends the reader round once more, where ``closed`` stops it.
        # A poll object per wait: one object may not be polled by two threads at once (a direct
        # reader and another reader's pull).
        poller = select.poll()
        with contextlib.suppress(OSError, ValueError):
            poller.register(self.fd, select.POLLIN)
            poller.poll(max(0, int(timeout * 1000)))

    def read_once(self) -> bool:
        """Move one read's worth into the sink, or end the stream. False when nothing was there yet."""
        self.flush()
        data = self._read(_READ_SIZE)
        if data:
            self.sink.write(self.name, data)
        return data is not None

    def _read(self, size: int) -> bytes | None:
        """One read of at most ``size`` bytes: the bytes, ``None`` when the pipe had nothing yet, ``b""``
        at its end (the stream is then ended)."""
        if self.closed:
            return b""
        try:
            data = os.read(self.fd, size)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if data:
            if not self.resized:
                self._count(len(data))
        else:
            self._end()
        return data

    def _count(self, size: int) -> None:
        self.volume += size
        if self.volume >= _GROW_AFTER:
            # A fast writer: a larger pipe means fuller reads and fewer wake-ups (a gigabyte of output
            # went from ~23 KiB to ~64 KiB per read). Short runs never pay for the larger pipe.
            self.resized = True
            with contextlib.suppress(OSError):
                fcntl.fcntl(self.fd, _F_SETPIPE_SZ, _PIPE_SIZE)
            keep_heap()  # batches of its reads are freed together: see tui.core.heap

    def _end(self) -> None:
        self.flush()
        fd = self.fd
        self.closed = True
        self.fd = -1  # a direct read now fails at once, and never reads a descriptor reused since
        if self.ticking:
            reactor.reactor().off_tick(self.idle_check)
        reactor.reactor().remove(fd, close=True)
        self.sink.set_puller(self.name, None)
        self.sink.end_stream(self.name)

    def reader_active(self) -> bool:
        """Whether a reader pulled since the reactor last asked (it asks at least once a tick)."""
        active = self.pulls != self.seen_pulls or self.tally_size != self.seen_tally
        self.seen_pulls = self.pulls
        self.seen_tally = self.tally_size
        return active

    def _idle_check(self) -> None:
        """Reactor tick: hand a direct reader's backlog to the subscribers; once the reader went quiet,
        the reactor watches the pipe again. Under the lock, so a read cannot slip in between."""
        if not self.lock.acquire(blocking=False):
            return  # a reader is reading this moment: look again next tick
        try:
            self.flush()
            if self.reader_active() and not self.closed:
                return
            self.ticking = False
            # No tick to hand a batch or counts over now: the next read goes through ``took`` again, which
            # starts it. (A reader counting inline would otherwise go on without a tick: the reactor,
            # armed again below, may take what is in the pipe meanwhile and never see the reader active.)
            self.batch = None
            self.watching = True
            reactor.reactor().off_tick(self.idle_check)
        finally:
            self.lock.release()
        self._rearm()

    def watch_idle(self) -> None:
        """Look at the reader on every reactor tick until it goes quiet (see ``_idle_check``)."""
        if not self.ticking:
            self.ticking = True
            reactor.reactor().on_tick(self.idle_check)

    def _rearm(self) -> None:
        if not self.closed:
            with contextlib.suppress(OSError, ValueError):
                reactor.reactor().arm(self.fd)


def _pump(fd: int, name: StreamName, sink: OutputSink) -> None:
    """Move a pipe's bytes into the sink until end of file (runs on its own thread)."""
    try:
        while True:
            try:
                data = os.read(fd, _READ_SIZE)
            except OSError:
                break
            if not data:
                break
            sink.write(name, data)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
        sink.end_stream(name)
