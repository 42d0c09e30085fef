"""``execdeck run ID COMMAND``: one command through one executor, output streamed live.

Exits with the command's exit code, ``128+n`` after a signal, 124 when its time limit ended it.
The first ctrl+c (or SIGTERM, SIGHUP) is passed on to the command; a second one kills it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from typing import BinaryIO

from tui.cli.common import SignalFlag, engine_session, error, load
from tui.core.command import join_words
from tui.core.errors import ExecError
from tui.core.streams import StreamName

#: After the command exited, how long its output may still drain (a grandchild may hold the pipe).
DRAIN_AFTER_EXIT = 2.0


class _Writer:
    """Writes a stream's chunks to our own stdout/stderr; a closed pipe stops only that stream."""

    def __init__(self) -> None:
        self.targets: dict[StreamName, BinaryIO | None] = {
            "stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer,
        }

    def __call__(self, stream: StreamName, data: bytes) -> None:
        target = self.targets[stream]
        if target is None:
            return
        try:
            target.write(data)
            target.flush()
        except (BrokenPipeError, OSError):
            self.targets[stream] = None


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
        process.subscribe(_Writer())
        process.start()
        forwarded = False
        while not process.wait_exited(0.1):
            if interrupted.is_set() and not forwarded:
                forwarded = True
                with contextlib.suppress(ExecError):
                    process.signal(signal.SIGINT)
        process.wait_done(DRAIN_AFTER_EXIT)
        status = process.wait()
        if not status.ok and (status.timed_out or status.signal is not None or status.oom_killed):
            error(f"{args.id}: {command}: {status.describe()}")
        return status.shell_code
