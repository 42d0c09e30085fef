"""A visitor's console, as the server starts it: the argv, the environment, the access.

:func:`launch` gives the argv of the visitor's process (a keeper around the console, :mod:`tui.serve.keeper`),
a **clean environment** (only what a console needs: ``PATH``, a UTF-8 locale, a private home and
config/data folders made for this visitor, the run records file the presenter's console reads, and
``DOCKER_HOST``/``XDG_RUNTIME_DIR`` when the server has them; never the rest of the server's environment)
and the visitor's access: actor ``visitor:<session>``, the visitor scope, strict. The console is told its
instance id, which labels the containers it makes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.core.entries.models import Entry
from tui.core.policy import EXEC_GET, Access, Actor, Gate
from tui.core.records import RECORDS_ENV
from tui.serve.keeper import BOOT, PACKAGE_ROOT


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
    argv = [sys.executable, "-I", "-c", BOOT, PACKAGE_ROOT, "--session", session, "--scope", scope,
            "--instance", instance_id, "--server-pid", str(os.getpid())]
    for path in entries:
        argv += ["--entries", str(Path(path).resolve())]
    env = clean_environment(home, records, os.environ if server_env is None else server_env)
    return Launch(argv, env, cwd or os.getcwd(), home, instance_id)
