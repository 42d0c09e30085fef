"""The process of a visitor's console: a keeper that makes sure the console leaves nothing behind.

:func:`main` makes itself a child subreaper, forks the console, and waits. Whatever the console started
that outlives it (a native run whose console was killed, a grandchild that left its group) is re-parented
to the keeper, which kills it, reaps it, and exits only when nothing is left; a console that did not end
cleanly also gets its containers killed (the kinds' orphan sweep, for this instance only). SIGTERM,
SIGHUP and SIGINT to the keeper go on to the console as SIGTERM (it ends its runs and exits), then SIGKILL
after :data:`TERM_GRACE` seconds. The keeper dies with the server (``PR_SET_PDEATHSIG``), and the console
with the keeper.

The keeper imports nothing of execdeck before the fork (the console does, in the child): it stays the
size of a bare interpreter, and each visitor pays for it once.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import sys
import time
from pathlib import Path

TERM_GRACE = 8.0
"""Seconds the console has after SIGTERM to end its runs (SIGTERM, then SIGKILL after 2 s each; containers
killed) before it is killed itself."""

LEFTOVER_DEADLINE = 10.0
"""Seconds the keeper spends killing and reaping what the console left before it gives up and exits."""

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
"""Where this package is: the keeper finds it there, whatever its own ``sys.path``."""

BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from tui.serve.keeper import main; sys.exit(main(sys.argv[2:]))"
"""The keeper's program for ``python -I -c`` (isolated: no user site, no PYTHON* variables, not the
current folder on the path), with :data:`PACKAGE_ROOT` and the options after it."""

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_ENDING = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
_WATCHED = {signal.SIGCHLD, *_ENDING}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="execdeck-visitor")
    parser.add_argument("--session", required=True)
    parser.add_argument("--scope", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--entries", action="append", default=[], type=Path)
    return parser.parse_args(argv)


def _prctl(option: int, value: int) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(option, value, 0, 0, 0) == 0)


def main(argv: list[str]) -> int:
    """The keeper (see the module docstring); returns the console's exit status."""
    options = _parse(argv)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != options.server_pid:
        return 1  # the server went away before the line above took effect
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    # Blocked before the fork, so that a SIGTERM can never kill the keeper in the gap; the console gets
    # its signals back at once.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    console = os.fork()
    if console == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        os._exit(_console(options))
    # The keeper reads nothing and writes nothing: the console alone speaks to the server.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    status = _keep(console)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        _kill_containers(options.entries, options.instance)
    return code if code >= 0 else 128 - code


def _console(options: argparse.Namespace) -> int:
    """The console itself (in the forked child); returns its exit status, never raises."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # the keeper was killed: end the runs and go
    code = 70
    try:
        from tui.serve.visitor_app import run_visitor

        code = run_visitor(options.entries, options.session, options.scope, options.instance)
    except BaseException as err:  # noqa: BLE001 - one line for the server's log, never a traceback
        with contextlib.suppress(OSError):
            os.write(2, f"execdeck: visitor console failed: {type(err).__name__}: {err}\n".encode())
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
    return code


def _keep(console: int) -> int:
    """Wait for the console, pass on the ending signals, then end and reap whatever it left behind.
    Returns the console's wait status."""
    status: int | None = None
    term_at: float | None = None
    give_up_at: float | None = None
    while True:
        status = _reap(console, status)
        now = time.monotonic()
        if status is not None:
            left = [pid for pid in _children() if pid != console]
            if not left:
                return status
            if give_up_at is None:
                give_up_at = now + LEFTOVER_DEADLINE
            elif now >= give_up_at:
                return status  # something unkillable (a process stuck in the kernel): nothing more to do
            for pid in left:
                _kill_group(pid)
            timeout = 0.2
        elif term_at is not None:
            if now >= term_at + TERM_GRACE:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(console, signal.SIGKILL)
            timeout = max(0.05, term_at + TERM_GRACE - now)
        else:
            timeout = 60.0
        info = signal.sigtimedwait(_WATCHED, timeout)
        if info is not None and info.si_signo in _ENDING and status is None and term_at is None:
            term_at = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                os.kill(console, signal.SIGTERM)


def _reap(console: int, status: int | None) -> int | None:
    """Reap every child that has ended; returns the console's wait status once it has ended."""
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == console:
            status = wait_status


def _children() -> list[int]:
    from tui.core.pids import children

    return children(os.getpid())


def _kill_group(pid: int) -> None:
    # A run is the leader of its own group: the group takes its grandchildren along.
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _kill_containers(entry_paths: list[Path], instance_id: str) -> None:
    """Kill what the kinds' orphan sweeps find of this console instance (containers), quietly: the console
    did not end cleanly, so its own shutdown may not have run."""
    from tui.core.entries.loader import load_entries
    from tui.core.executors import registry
    from tui.core.executors.base import Scope

    scope = Scope(f"keeper-{instance_id}")
    try:
        entries = load_entries(entry_paths).executors
        for sweep, place in registry.places(entries, lambda kind: kind.orphans):
            with contextlib.suppress(Exception):
                mine = [leftover for leftover in sweep.find(place, scope, 2.0) if leftover.owner == instance_id]
                if mine:
                    sweep.kill(place, scope, mine)
    except Exception as err:  # noqa: BLE001 - the keeper's last duty; a failure is one line in the log
        with contextlib.suppress(OSError):
            os.write(2, f"execdeck: cannot sweep the containers of {instance_id}: {err}\n".encode())
    finally:
        scope.close()
