"""``execdeck run ID COMMAND``: one command through one executor, output streamed live.

Exits with the command's exit code, ``128+n`` after a signal, 124 when its time limit ended it.
Our stdin is passed on to the command, and its end too (``echo hi | execdeck run app:free cat`` prints
``hi`` and ends). The first ctrl+c (or SIGTERM, SIGHUP) is passed on to the command; a second one kills it.
When the reader of our stdout goes away (``| head -1``), the command ends as the writer of a shell
pipeline would, by SIGPIPE (its process group, or its container), and we exit 141.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from tui.cli.common import SignalFlag, engine_session, error, load
from tui.cli.output import EXIT_STDOUT_CLOSED, STDERR, STDOUT, Output
from tui.core.command import join_words
from tui.core.errors import ExecError
from tui.core.process import KILL_GRACE, ExitStatus, Process
from tui.core.streams import MAX_READ, StreamName

if TYPE_CHECKING:
    import argparse  # annotations only: `execdeck run` in its common form never loads argparse

#: After the command exited, how long its output may still drain (a grandchild may hold the pipe).
DRAIN_AFTER_EXIT = 2.0
# How often a copy that waits for output looks whether it should stop.
_STEP = 0.1


class _Copy:
    """One stream of the run copied to one of our outputs, by a reader and a thread of its own.

    A slow or stopped reader of our stdout then holds back that stream only: its bounded buffer fills
    and holds back the command, as a pipe would, while stderr keeps flowing and the engine's shared
    threads never wait on our terminal. A copy whose output has gone closes its reader, so what the
    command still writes there is let go rather than held.
    """

    def __init__(self, process: Process, name: StreamName, target: Output) -> None:
        self._reader = process.open_reader(name)
        self._target = target
        self._finishing = False
        self._thread = threading.Thread(target=self._copy, name=f"copy-{name}", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        reader = self._reader
        try:
            while True:
                data = reader.read(MAX_READ, timeout=_STEP)
                if data is None or (not data and self._finishing):
                    return
                if data and not self._target.write(data):
                    return
        except ExecError:
            return  # abandoned: the reader was closed under us
        finally:
            self.abandon()

    def finish(self) -> None:
        """Block until everything the stream still gives is written (it ended, or has nothing more for
        a moment: a grandchild that left the group may hold the pipe). As long as our reader is slow."""
        self._finishing = True
        while self._thread.is_alive():
            self._thread.join(_STEP)  # in steps: signal handlers run in between

    def abandon(self) -> None:
        """Stop now, writing nothing more (a signal ends execdeck)."""
        with contextlib.suppress(ExecError):
            self._reader.close()


def run(args: argparse.Namespace) -> int:
    words = list(args.command)
    if words[:1] == ["--"]:
        words = words[1:]
    if not words:
        error("run: a command is required after the executor id")
        return 2
    command = words[0] if len(words) == 1 else join_words(words)
    env: dict[str, str] = {}
    for pair in args.env:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            error(f"--env {pair!r}: expected NAME=VALUE")
            return 2
        env[name] = value
    result = load(args)
    interrupted = SignalFlag()
    with engine_session(result, on_signal=interrupted) as engine:
        executor = engine.get(args.id)
        try:
            process = executor.exec(command, work_dir=args.work_dir, env=env, timeout=args.timeout)
        except ExecError as err:
            allowed = executor.spec.command_whitelist
            if err.message.startswith("command not allowed") and allowed:
                listing = ", ".join(repr(c) for c in allowed)
                if len(listing) > 240:
                    listing = listing[:240] + "..."
                err = ExecError(err.kind, f"{err.message} ({args.id} allows only: {listing})")
            raise err from None
        copies = [_Copy(process, "stdout", STDOUT), _Copy(process, "stderr", STDERR)]
        # On the copy's thread, at once: the command may be blocked writing, never reaching our loop.
        stop_watching = STDOUT.when_gone(lambda: process.signal_all(signal.SIGPIPE))
        try:
            with interrupted.hold():  # a start is bounded, and must not be cut in the middle
                process.start()
            threading.Thread(target=_forward_stdin, args=(process,), name="stdin", daemon=True).start()
            status = _wait(process, interrupted)
        except BaseException:
            for copy in copies:
                copy.abandon()  # nothing held back may keep the command's pipes from ending
            raise
        finally:
            stop_watching()
    # After the session: what a grandchild wrote until the session ended it is written too.
    for copy in copies:
        copy.finish()
    if STDOUT.gone or status is None:
        return EXIT_STDOUT_CLOSED
    if not status.ok and (status.timed_out or status.signal is not None or status.oom_killed):
        error(f"{args.id}: {command}: {status.describe()}")
    return status.shell_code


def _forward_stdin(process: Process) -> None:
    """Copy our stdin to the command's, then end it, as a shell pipeline and ``docker run -i`` do: a command
    that reads its stdin (``cat``, ``sort``) would otherwise wait forever on a pipe nobody closes. No stdin
    (closed, or not a file) is an empty one. A daemon thread: a terminal that is never typed into holds
    only this thread, which the program's exit ends."""
    try:
        fd = sys.stdin.fileno() if sys.stdin is not None else -1
    except (AttributeError, ValueError, OSError):
        fd = -1
    try:
        while fd >= 0:
            data = os.read(fd, MAX_READ)
            if not data:
                break
            process.write_stdin(data)
    except (OSError, ExecError):
        return  # our stdin cannot be read, or the command no longer reads its own (it ended): nothing to end
    with contextlib.suppress(OSError, ExecError):
        process.write_stdin(b"")


def _wait(process: Process, interrupted: SignalFlag) -> ExitStatus | None:
    """The command's end; ``None`` when the reader of our stdout went away and the command outlived
    the SIGPIPE that this sent it by a grace (it ignores SIGPIPE: the session's end kills it)."""
    forwarded = False
    while not process.wait_exited(0.1):
        interrupted.raise_lost()
        if interrupted.is_set() and not forwarded:
            forwarded = True
            with contextlib.suppress(ExecError):
                process.signal(signal.SIGINT)
        if STDOUT.gone and not process.wait_exited(KILL_GRACE):
            return None
    process.wait_done(DRAIN_AFTER_EXIT)
    return process.wait()
