"""An in-memory kind of executor, for tests: runs that no process, container or thread carries.

It sits beside the real kinds as a fake transport sits beside real ones, and is registered by whoever
wants it (never by default, never in the samples) through the registry's one public call::

    kind = MemoryKind()
    unregister = registry.register(kind)     # entries may now say `kind: exec.memory`

Nothing happens on its own. Each process of the kind has a :class:`MemoryRun` as its backend
(``process.backend``, also listed in ``kind.runs``), and the test steps it: output chunks on either
stream, the end of the output, an exit code, a death by signal. What reaches the run is recorded:
its argv, env and work dir, the bytes written to its stdin and whether stdin was closed, the signals
sent. A signal has the effect the test chose for it: by default it kills the run, as the default action
does for a host process (exit by that signal); :meth:`MemoryRun.ignore` makes the run ignore some
(never SIGKILL), :meth:`MemoryRun.on_signal` gives one an effect of the test's own.

Every step happens on the thread that calls it, before the call returns: output reaches subscribers,
readers and the console's queue at once, and the end of a run is reported to the process (its exit
callbacks run) on that thread. A signal sent from another thread (a console worker, a time limit, the
engine's shutdown) has its effect on that thread.
"""

from __future__ import annotations

import signal as _signal
import threading
import time
from collections.abc import Callable

from tui.core.command import split_keeping_empty
from tui.core.entries.fields import Field, env_map, string_field, string_list
from tui.core.entries.models import ExecutorSpec
from tui.core.errors import internal
from tui.core.executors.base import Build, ExecutorStatus, Kind, OrphanSweep, Prune, Pull, Scope, StatusWatch
from tui.core.process import ExitInfo, OutputSink, ProcessBackend, RunSpec
from tui.core.streams import Cancelled, StreamName
from tui.core.structs import record


@record(frozen=True, kw_only=True)
class MemorySpec(ExecutorSpec):
    """An ``exec.memory`` entry has the common fields only."""


FIELDS = (
    Field("default_work_dir", string_field, "string", "none", "recorded as the run's work dir when it names none"),
    Field("default_env", env_map, "map string→string", "none", "the run's environment, overlaid by the per-run env"),
    Field("command_whitelist", string_list, "list of strings", "none: all allowed",
          "a command must equal one item exactly"),
)

SignalEffect = Callable[["MemoryRun", int], None]


class MemoryRun(ProcessBackend):
    """One run of the in-memory kind: the backend of one process, stepped by the test.

    What it was asked: :attr:`run` (the process's spec), :attr:`argv`, :attr:`env`, :attr:`work_dir`.
    What reached it: :attr:`stdin`, :attr:`stdin_closed`, :attr:`signals`. Steps: :meth:`out`,
    :meth:`err`, :meth:`end_output`, :meth:`exit`, :meth:`kill`. A step after the end raises
    ``RuntimeError`` (a mistake in the test, never something the product does).
    """

    def __init__(self, run: RunSpec, spec: MemorySpec, serial: int, on_launch: Callable[[MemoryRun], None]) -> None:
        self.run = run
        self.argv = list(run.argv)
        self.env = {**spec.default_env, **run.env}
        self.work_dir = run.work_dir
        self.stdin = b""
        self.stdin_closed = False
        self.signals: list[int] = []
        #: Set once the process started this run (its ``start()`` succeeded).
        self.launched = threading.Event()
        #: Set once the run ended (its exit is reported).
        self.ended = threading.Event()
        self._serial = serial
        self._on_launch = on_launch
        self._launch_error = ""
        self._lock = threading.Lock()
        self._sink: OutputSink | None = None
        self._open: set[StreamName] = {"stdout", "stderr"}
        self._report: Callable[[ExitInfo], None] | None = None
        self._exit: ExitInfo | None = None
        self._effects: dict[int, SignalEffect] = {}

    # -- what the test does before the start -------------------------------------------------------

    def fail_launch(self, message: str) -> None:
        """Make ``start()`` fail with ``message`` (an internal error, as a spawn error is)."""
        self._launch_error = message

    def ignore(self, *signums: int) -> None:
        """Signals the run ignores from now on (recorded all the same). SIGKILL cannot be ignored."""
        for signum in signums:
            if signum == _signal.SIGKILL:
                raise ValueError("SIGKILL cannot be ignored")
            self._effects[signum] = lambda run, n: None

    def on_signal(self, signum: int, effect: SignalEffect) -> None:
        """Call ``effect(run, signum)`` when ``signum`` arrives instead of dying of it (a handler: it may
        write output, exit...)."""
        self._effects[signum] = effect

    # -- steps -------------------------------------------------------------------------------------

    def out(self, data: bytes | str) -> None:
        """Write ``data`` to stdout. Blocks, like a pipe, while a reader lags a whole buffer behind."""
        self._write("stdout", data)

    def err(self, data: bytes | str) -> None:
        """Write ``data`` to stderr."""
        self._write("stderr", data)

    def end_output(self) -> None:
        """Both streams reach their end (the run closed its stdout and stderr); it may still run."""
        sink = self._started_sink()
        with self._lock:
            closing, self._open = self._open, set()
        for name in sorted(closing):
            sink.end_stream(name)

    def exit(self, code: int = 0, *, end_output: bool = True) -> None:
        """The run exits with ``code``; its output ends first unless ``end_output`` is False (the
        streams then stay open until :meth:`end_output`, as a grandchild holding the pipes keeps them)."""
        if not self._finish(ExitInfo(code=code), end_output):
            raise RuntimeError("the run has already ended")

    def kill(self, signum: int, *, end_output: bool = True) -> None:
        """The run dies of signal ``signum`` (as the default action would have it)."""
        if not self._finish(ExitInfo(code=None, signal=signum), end_output):
            raise RuntimeError("the run has already ended")

    # -- ProcessBackend ----------------------------------------------------------------------------

    def launch(self, sink: OutputSink) -> None:
        if self._launch_error:
            raise internal(self._launch_error, command=self.run.command)
        self._sink = sink
        self.handle = str(self._serial)
        self.launched.set()
        self._on_launch(self)

    def monitor(self, on_exit: Callable[[ExitInfo], None]) -> None:
        with self._lock:
            self._report, finished = on_exit, self._exit
        if finished is not None:
            on_exit(finished)  # it ended during the launch (``on_launch`` stepped it that far)

    def wait_exit(self) -> ExitInfo:
        self.ended.wait()
        assert self._exit is not None
        return self._exit

    def write_stdin(self, data: bytes, cancel: threading.Event | None = None) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        with self._lock:
            if self.stdin_closed:
                raise internal("write to stdin: stdin is closed")
            if self._exit is not None:
                raise internal("write to stdin: the process closed its input")
            self.stdin += data

    def close_stdin(self) -> None:
        self.stdin_closed = True

    def send_signal(self, signum: int) -> None:
        if self._exit is not None:
            raise internal("os: process already finished")
        self._signalled(signum)

    def terminate(self, force: bool) -> None:
        if self._exit is None:
            self._signalled(_signal.SIGKILL if force else _signal.SIGTERM)

    # -- internals ---------------------------------------------------------------------------------

    def _signalled(self, signum: int) -> None:
        self.signals.append(signum)
        effect = None if signum == _signal.SIGKILL else self._effects.get(signum)
        if effect is not None:
            effect(self, signum)
        else:
            self._finish(ExitInfo(code=None, signal=signum), True)  # False: it ended meanwhile

    def _started_sink(self) -> OutputSink:
        if self._sink is None:
            raise RuntimeError("the run has not started")
        return self._sink

    def _write(self, stream: StreamName, data: bytes | str) -> None:
        sink = self._started_sink()
        if stream not in self._open:
            raise RuntimeError(f"{stream} has ended")
        sink.write(stream, data.encode() if isinstance(data, str) else data)

    def _finish(self, info: ExitInfo, end_output: bool) -> bool:
        """End the run as ``info`` says; False when it had already ended."""
        self._started_sink()
        with self._lock:
            if self._exit is not None:
                return False
            self._exit = info
            report = self._report
        if end_output:
            self.end_output()
        self.ended.set()
        if report is not None:
            report(info)
        return True


class MemoryKind(Kind[MemorySpec]):
    """The in-memory kind: ``exec.memory`` (label ``memory``, handles ``run 1``, ``run 2``...).

    :attr:`runs` lists every run made, in order; :attr:`status` is what its status probe answers (the
    console shows it); :attr:`on_launch` is called with each run as it starts, on the starting thread
    (a script: it may step the run at once). The optional capabilities are the test's to give.
    """

    def __init__(self, name: str = "exec.memory", label: str = "memory", *, pull: Pull[MemorySpec] | None = None,
                 prune: Prune[MemorySpec] | None = None, orphans: OrphanSweep[MemorySpec] | None = None,
                 watch: StatusWatch[MemorySpec] | None = None, build: Build[MemorySpec] | None = None) -> None:
        super().__init__(
            name=name, label=label, fields=FIELDS, spec_class=MemorySpec, tokenize=split_keeping_empty,
            handle_label="run", backend=self._backend, probe=self._probe, watch=watch, pull=pull, build=build,
            prune=prune, orphans=orphans,
        )
        self.runs: list[MemoryRun] = []
        self.status = ExecutorStatus(True, "ready")
        self.on_launch: Callable[[MemoryRun], None] | None = None
        self._lock = threading.Lock()
        self._launches = threading.Condition(self._lock)

    def launched(self) -> list[MemoryRun]:
        """The runs started so far, in the order they were made."""
        with self._lock:
            return [run for run in self.runs if run.launched.is_set()]

    def wait_for_launch(self, count: int = 1, timeout: float = 10.0) -> MemoryRun:
        """The ``count``-th run to start (1 for the first), waiting at most ``timeout`` seconds for it.
        Not for a test on the console's event loop, which must keep running: poll :meth:`launched` there.

        Raises:
            AssertionError: the run did not start in time (the message says how many did).
        """
        deadline = time.monotonic() + timeout
        with self._launches:
            while True:
                started = [run for run in self.runs if run.launched.is_set()]
                if len(started) >= count:
                    return started[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"run {count} of {self.name} did not start within {timeout:g}s "
                                         f"({len(started)} started)")
                self._launches.wait(left)

    def _backend(self, spec: MemorySpec, run: RunSpec, scope: Scope) -> ProcessBackend:
        run.work_dir = run.work_dir or spec.default_work_dir
        with self._lock:
            made = MemoryRun(run, spec, len(self.runs) + 1, self._launched)
            self.runs.append(made)
        return made

    def _launched(self, run: MemoryRun) -> None:
        with self._launches:
            self._launches.notify_all()
        if self.on_launch is not None:
            self.on_launch(run)

    def _probe(self, spec: MemorySpec, scope: Scope, timeout: float) -> ExecutorStatus:
        return self.status

