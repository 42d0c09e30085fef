"""A visitor's console: what it is started with, and the process that makes sure it leaves nothing behind.

The server side calls :func:`launch`: the argv, a **clean environment** (only what a console needs:
``PATH``, a UTF-8 locale, a private home and config/data folders made for this visitor, the run records
file the presenter's console reads, and ``DOCKER_HOST``/``XDG_RUNTIME_DIR`` when the server has them;
never the rest of the server's environment) and the visitor's access: actor ``visitor:<session>``, the
visitor scope, strict. The console is told its instance id, which labels the containers it makes.

The process started is :func:`main`, a **keeper** around the console. It makes itself a child subreaper,
forks the console, and waits. Whatever the console started that outlives it (a native run whose console
was killed, a grandchild that left its group) is re-parented to the keeper, which kills it, reaps it, and
exits only when nothing is left; a console that did not end cleanly also gets its containers killed (the
kinds' orphan sweep, for this instance only). SIGTERM, SIGHUP and SIGINT to the keeper go on to the
console as SIGTERM (it ends its runs and exits), then SIGKILL after :data:`TERM_GRACE` seconds. The keeper
dies with the server (``PR_SET_PDEATHSIG``), and the console with the keeper.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.core.entries.models import Entry
from tui.core.policy import EXEC_GET, Access, Actor, Gate
from tui.core.records import RECORDS_ENV

TERM_GRACE = 8.0
"""Seconds the console has after SIGTERM to end its runs (SIGTERM, then SIGKILL after 2 s each; containers
killed) before it is killed itself."""

LEFTOVER_DEADLINE = 10.0
"""Seconds the keeper spends killing and reaping what the console left before it gives up and exits."""

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

# The interpreter's isolated mode (no user site, no PYTHON* variables, not the current folder on the path),
# finding this package where the server found it.
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from tui.serve.visitor import main; sys.exit(main(sys.argv[2:]))"

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_ENDING = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
_WATCHED = {signal.SIGCHLD, *_ENDING}


def visitor_actor(session: str) -> str:
    """The actor id of a visitor session, as runs record it."""
    return f"visitor:{session}"


def visitor_access(session: str, scope: str) -> Access:
    """What a visitor's console acts as: strict, so that nothing is allowed without a policy that allows it."""
    return Access(actor=Actor(visitor_actor(session)), scope=(scope,), strict=True)


def gettable(gate: Gate, executors: Iterable[Entry]) -> list[str]:
    """The ids of the executors that ``gate``'s actor may get."""
    return [entry.id for entry in executors if gate.decide(EXEC_GET, entry.id, entry.meta).allowed]


def repl_offered(gate: Gate, executors: Iterable[Entry]) -> bool:
    """Whether a visitor gets the Lua REPL: only when the policies let them get at least one executor
    (a REPL whose every ``exec.get`` fails is a door with nothing behind it)."""
    return bool(gettable(gate, executors))


@dataclass(frozen=True)
class Launch:
    """How to start one visitor's console: ``argv``, its whole ``env``, the ``cwd``; ``home`` is the private
    folder made for it (the caller removes it once the console has ended)."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    home: Path
    instance_id: str


def clean_environment(home: Path, records: Path | None, server_env: Mapping[str, str]) -> dict[str, str]:
    """The visitor console's environment, built from nothing (see the module docstring)."""
    env = {
        "PATH": server_env.get("PATH") or "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(home),
        # Settings, themes, the REPL's history: the visitor's own, gone with the session.
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        RECORDS_ENV: str(records) if records is not None else "off",
    }
    # Where entries without `host` find their daemon, and where live consoles are recorded (so the
    # presenter's console never takes a visitor's containers for a crashed console's).
    for name in ("DOCKER_HOST", "XDG_RUNTIME_DIR"):
        if server_env.get(name):
            env[name] = server_env[name]
    return env


def launch(session: str, scope: str, entries: Sequence[Path], records: Path | None, home: Path,
           instance_id: str, *, server_env: Mapping[str, str] | None = None, cwd: str | None = None) -> Launch:
    """The :class:`Launch` of a console for visitor ``session`` (see the module docstring)."""
    argv = [sys.executable, "-I", "-c", _BOOT, _PACKAGE_ROOT, "--session", session, "--scope", scope,
            "--instance", instance_id, "--server-pid", str(os.getpid())]
    for path in entries:
        argv += ["--entries", str(Path(path).resolve())]
    env = clean_environment(home, records, os.environ if server_env is None else server_env)
    return Launch(argv, env, cwd or os.getcwd(), home, instance_id)


# -- the visitor's process --------------------------------------------------------------------------------


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
