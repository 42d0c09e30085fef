"""The table of executor kinds: which kinds exist, by entry kind name. The one place that knows.

A kind is one module that builds a :class:`~tui.core.executors.base.Kind` (see ``native.py`` and
``docker.py``); :func:`register` adds it to the table, and from then on entries of that kind load, run
and show in the console and on the command line, which only ever ask this table. The built-in kinds are
registered when this module is first imported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tui.core.entries.models import Entry
from tui.core.executors import docker, native
from tui.core.executors.base import Kind, Upkeep

U = TypeVar("U", bound=Upkeep[Any])

_lock = threading.Lock()
_kinds: dict[str, Kind[Any]] = {}


def register(kind: Kind[Any]) -> Callable[[], None]:
    """Add ``kind`` to the table; returns a function that takes it out again (tests use it).

    Entries loaded before the call are not looked at again: load them after registering.

    Raises:
        ValueError: another kind already has this name or label.
    """
    with _lock:
        for other in _kinds.values():
            if other.name == kind.name or other.label == kind.label:
                raise ValueError(f"a kind named {other.name} ({other.label}) is already registered")
        _kinds[kind.name] = kind

    def unregister() -> None:
        with _lock:
            if _kinds.get(kind.name) is kind:
                del _kinds[kind.name]

    return unregister


def find(name: str) -> Kind[Any] | None:
    """The kind whose entries say ``kind: <name>``, or ``None`` (such entries are not executors)."""
    return _kinds.get(name)


def kinds() -> tuple[Kind[Any], ...]:
    """Every registered kind, in the order of registration."""
    with _lock:
        return tuple(_kinds.values())


def places(entries: Iterable[Entry], capability: Callable[[Kind[Any]], U | None]) -> list[tuple[U, str]]:
    """Where each kind's ``capability`` (``lambda kind: kind.prune``, or ``.orphans``) looks for
    ``entries``: pairs of the capability and one place, kind by kind.

    Every kind that has the capability is asked, also one with no entry here (its default place, such as
    the local Docker daemon, may still hold what earlier runs left). The command line and the console
    both list the places this way.
    """
    chosen = list(entries)
    found: list[tuple[U, str]] = []
    for kind in kinds():
        upkeep = capability(kind)
        if upkeep is not None:
            specs = [e.spec for e in chosen if e.kind == kind.name and e.spec is not None]
            found += [(upkeep, place) for place in upkeep.places(specs)]
    return found


def builtin_only() -> bool:
    """True while the table holds exactly the package's own kinds (no test's or plug-in's): what the
    entries cache needs to know, since it can stamp only the package's code."""
    with _lock:
        return tuple(_kinds.values()) == _BUILTIN


_BUILTIN: tuple[Kind[Any], ...] = (native.KIND, docker.KIND)
for _kind in _BUILTIN:
    register(_kind)
