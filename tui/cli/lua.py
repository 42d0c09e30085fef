"""``execdeck lua FILE [ARG ...]``: run a Lua script with the ``exec`` module.

Exit codes: 0 when the script ends normally; 1 when it raises (Lua's message and traceback on stderr,
never a Python traceback) or the file cannot be read; ``128+n`` when signal ``n`` (ctrl+c, SIGTERM,
SIGHUP) cancelled it; 141 when the reader of our stdout went away (as a shell pipeline's writer ends).
At the end, whatever way it ends, executors are released and every process the script started is ended
(SIGTERM, then SIGKILL after a grace), containers included.

A signal always ends the script within about half a second, even while it is stuck inside a C function
(a backtracking pattern on a long string), where no cancel reaches it: the first signal cancels it, and
a script that has not stopped by the deadline is abandoned (:class:`tui.lua.host.LocalLua`): its
processes are ended and this process exits, which is what ends the stuck Lua for good.
"""

from __future__ import annotations

import argparse
import os

from tui.cli.common import SignalFlag, engine_session, error, load
from tui.cli.output import EXIT_STDOUT_CLOSED, STDERR, STDOUT
from tui.lua.exec_service import ExecService
from tui.lua.host import LocalLua, WorkerStopped
from tui.lua.runtime import DEFAULT_MAX_MEMORY


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the Lua script")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script (arg[1], ...)")


def _print(lines: list[str]) -> None:
    """``print`` lines to our stdout, byte-exact: the sandbox decoded them with surrogateescape, so
    encoding back gives the script's exact bytes. A reader that went away cancels the script."""
    STDOUT.write("".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape"))


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
    interrupted = SignalFlag()
    options = {"max_memory": DEFAULT_MAX_MEMORY, "print_errors": "surrogateescape"}
    outcome: tuple[object, ...] = ("ok",)
    with engine_session(result, on_signal=interrupted, source="lua", every_signal=True, long_lived=True) as engine:
        service = ExecService(engine)
        lua = LocalLua(service, options, _print)
        try:
            outcome = lua.command(
                "run_file", os.fspath(args.file), script_args, ["execdeck", "lua"],
                cancel_if=lambda: interrupted.is_set() or STDOUT.gone,
            )
        except WorkerStopped as stopped:
            outcome = ("stopped", str(stopped))
        finally:
            lua.kill()
            service.close()
    if interrupted.is_set():
        error("cancelled")
        return 128 + interrupted.signum
    if STDOUT.gone:
        return EXIT_STDOUT_CLOSED
    if outcome[0] == "ok":
        return 0
    if outcome[0] == "cancelled":
        error("cancelled")
        return 130
    if outcome[0] == "stopped":
        error(str(outcome[1]))
        return 1
    _report(str(outcome[1]), str(outcome[2]))
    return 1


def _report(message: str, traceback: str) -> None:
    """The message and Lua traceback, as the standalone ``lua`` writes them."""
    text = traceback or message
    if not text.startswith(message):
        text = f"{message}\n{text}"
    STDERR.line(f"execdeck lua: {text}")
