"""``execdeck lua FILE [ARG ...]``: run a Lua script with the ``exec`` module (lua.md).

Exit codes: 0 when the script ends normally; 1 when it raises (Lua's message and traceback on stderr,
never a Python traceback) or the file cannot be read; ``128+n`` when signal ``n`` (ctrl+c, SIGTERM,
SIGHUP) cancelled it. At the end, whatever way it ends, executors are released and every process the
script started is ended (SIGTERM, then SIGKILL after a grace), containers included.

The script runs on a worker thread so that the main thread is free to take signals: the first one
cancels the script (its blocking ``exec`` calls return at once, its processes are ended), a second one
stops waiting for a script stuck in a long C call (a pathological pattern) and exits anyway.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from types import FrameType

from tui.cli.common import Interrupted, engine_session, error, load
from tui.lua.exec_module import install_exec
from tui.lua.runtime import LuaCancelled, LuaSandbox, LuaScriptError

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the Lua script")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script (arg[1], ...)")


class _Stdout:
    """``print`` lines to our stdout, byte-exact; a closed pipe silences the rest."""

    def __init__(self) -> None:
        self.broken = False

    def __call__(self, line: str) -> None:
        if self.broken:
            return
        try:
            # The sandbox decoded with surrogateescape: encoding back gives the script's exact bytes.
            sys.stdout.buffer.write(line.encode("utf-8", "surrogateescape") + b"\n")
            sys.stdout.buffer.flush()
        except (BrokenPipeError, OSError):
            self.broken = True


def _readable(path: str) -> str | None:
    """``None`` when ``path`` is a readable file, else the reason (one line)."""
    try:
        with open(path, "rb"):
            pass
    except IsADirectoryError:
        return f"cannot open {path}: it is a directory"
    except OSError as exc:
        return f"cannot open {path}: {exc.strerror or exc}"
    if os.path.isdir(path):
        return f"cannot open {path}: it is a directory"
    return None


def run(args: argparse.Namespace) -> int:
    problem = _readable(args.file)
    if problem is not None:
        error(problem)
        return 1
    script_args = list(args.args)
    if script_args[:1] == ["--"]:
        script_args = script_args[1:]
    result = load(args)
    sandbox = LuaSandbox(_Stdout(), print_errors="surrogateescape")
    received: list[int] = []
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            sandbox.run_file(args.file, script_args)
        except LuaScriptError as exc:
            outcome.append(exc)

    with engine_session(result, source="lua") as engine:
        binding = install_exec(sandbox, engine)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if len(received) > 1:
                return  # already on the way out: a burst of signals must not cut the clean-up short
            if received:
                received.append(signum)
                raise Interrupted(received[0])  # a second signal: do not wait for the script any longer
            received.append(signum)
            sandbox.cancel()

        # Installed inside the session: its exit restores what was there before it.
        for sig in _SIGNALS:
            with contextlib.suppress(ValueError):  # not the main thread (tests calling run())
                signal.signal(sig, on_signal)
        worker = threading.Thread(target=work, name="lua-script", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.1)
                if received:
                    # Again each time: a signal that came before the run began found nothing to cancel.
                    sandbox.cancel()
        finally:
            # A second signal may have cut the first one's cancel short (it lands inside it): the
            # script must be stopped before its processes are ended, or its wait() would just return.
            sandbox.cancel()
            binding.close()
    if received:
        error("cancelled")
        return 128 + received[0]
    if outcome:
        failure = outcome[0]
        assert isinstance(failure, LuaScriptError)
        if isinstance(failure, LuaCancelled):
            error("cancelled")
            return 130
        _report(failure)
        return 1
    return 0


def _report(failure: LuaScriptError) -> None:
    """The message and Lua traceback, as the standalone ``lua`` writes them."""
    text = failure.traceback or failure.message
    if not text.startswith(failure.message):
        text = f"{failure.message}\n{text}"
    with contextlib.suppress(OSError):
        sys.stderr.write(f"execdeck lua: {text}\n")
        sys.stderr.flush()
