"""The entries cache: what an entry file loaded into, kept so that the next start on the same bytes reads it
back without PyYAML or validation (importing PyYAML alone costs ``execdeck run`` more than half of what a
Python script that only runs ``true`` takes, and parsing thousands of entries more than that).

A file's result is kept under its resolved path, with a copy of the bytes it was made from and the stamp
of the code that made it (size and time of every source of the loader, the policies and the kinds). It
is used only when all three are the same again, so it never answers for a file or a rule that changed.
While a kind that is not the package's own is registered (a test's, a plug-in's) the cache is not used:
its code is not in the stamp. A result holding what cannot be kept (a ``meta`` date) is not cached.

The cache lives in ``$XDG_CACHE_HOME/execdeck/entries`` (else ``~/.cache/execdeck/entries``), private to
the user (it copies the entry files, which may hold secrets in ``default_env``), and is used only while
that folder is the user's own and closed to others. ``EXECDECK_CACHE=off`` turns it off. Nothing here
raises: a cache that cannot be read or written is a miss.
"""

from __future__ import annotations

import contextlib
import importlib
import marshal
import os
import stat
import sys
import zlib
from pathlib import Path
from typing import Any

from tui.core import structs
from tui.core.entries.models import Entry, FileResult, Location, Problem, frozen_map

CACHE_ENV = "EXECDECK_CACHE"
#: Bumped whenever the layout below changes.
FORMAT = 2
#: Files kept at most; the least recently written go first (entry files that moved or were deleted).
MAX_FILES = 200

_stamp: tuple[Any, ...] | None = None


def folder() -> Path | None:
    """Where the cache lives, or ``None`` when ``EXECDECK_CACHE=off``."""
    if os.environ.get(CACHE_ENV, "").strip().lower() == "off":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "execdeck" / "entries"


def lookup(path: Path, data: bytes) -> FileResult | None:
    """The cached result for the file ``path`` whose bytes are ``data``, or ``None``."""
    try:
        place = _place(path, create=False)
        if place is None:
            return None
        with open(place[0], "rb") as handle:
            if not _private(os.fstat(handle.fileno())):
                return None
            kept = marshal.loads(handle.read())
        if kept[:4] != (FORMAT, _code_stamp(), place[1], data):
            return None
        return _decode(path, kept[4])
    except Exception:  # noqa: BLE001 - a damaged, foreign or stale file is only a miss
        return None


def store(path: Path, data: bytes, result: FileResult) -> None:
    """Keep ``result`` for the file ``path`` whose bytes are ``data`` (quietly not, when it cannot)."""
    with contextlib.suppress(Exception):  # a cache that cannot be written is only slower
        place = _place(path, create=True)
        if place is None:
            return
        blob = marshal.dumps((FORMAT, _code_stamp(), place[1], data, _encode(result)))
        from tui.core.private import write_private

        write_private(place[0], blob)
        _trim(place[0].parent)


def _place(path: Path, *, create: bool) -> tuple[Path, str] | None:
    """The cache file of ``path`` and the resolved path it is kept under; ``None`` while unused."""
    from tui.core.executors import registry

    where = folder()
    if where is None or not registry.builtin_only():
        return None
    if create:
        from tui.core.private import private_folder

        private_folder(where)
    if not _private(os.stat(where)):
        return None
    resolved = str(path.resolve())
    return where / f"{path.name}-{zlib.crc32(resolved.encode('utf-8', 'surrogateescape')):08x}", resolved


def _private(info: os.stat_result) -> bool:
    """Ours, and closed to the group and the others: a cache others could write would answer for them."""
    return info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077 == 0


def _trim(where: Path) -> None:
    files = sorted(where.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    for stale in files[: max(0, len(files) - MAX_FILES)]:
        stale.unlink(missing_ok=True)


def _code_stamp() -> tuple[Any, ...]:
    """Size and modification time of every source that decides what a file loads into, and the
    interpreter's version (marshal's format and the objects it gives back follow it)."""
    global _stamp
    if _stamp is None:
        core = Path(__file__).resolve().parent.parent
        found: list[tuple[str, int, int]] = []
        for part in ("entries", "policy", "executors"):
            with os.scandir(core / part) as listing:
                for item in listing:
                    if item.name.endswith(".py"):
                        info = item.stat()
                        found.append((f"{part}/{item.name}", info.st_size, info.st_mtime_ns))
        _stamp = (sys.hexversion, str(core), *sorted(found))
    return _stamp


# ---- the layout: plain values that marshal keeps -----------------------------------------------------


def _encode(result: FileResult) -> tuple[Any, ...]:
    entries, problems, policies = result
    return (
        tuple((e.id, e.namespace, e.name, e.kind, e.location.line, dict(e.meta), _spec(e), e.source)
              for e in entries),
        tuple((p.location.line, p.message, p.entry_id, p.field, p.hint, p.severity) for p in problems),
        tuple((p.id, p.location.line, p.effect, p.actions, p.resources, p.groups,
               tuple((c.field, c.operator, c.value, c.value_from, c.pattern is not None) for c in p.conditions))
              for p in policies),
    )


def _spec(entry: Entry) -> dict[str, Any] | None:
    if entry.spec is None:
        return None
    from tui.core.executors import registry

    kind = registry.find(entry.kind)
    assert kind is not None
    return {f.name: _keep(getattr(entry.spec, f.name)) for f in kind.fields}


#: The key that marks a kept record (a field's value such as a build recipe) among plain dicts.
_RECORD = "\0record"


def _keep(value: Any) -> Any:
    """``value`` as marshal keeps it: the checkers give maps as frozen maps (read-only views), kept as dicts,
    and some fields a frozen record of the package (a build recipe), kept as its class and fields."""
    if isinstance(value, type(frozen_map())):
        return dict(value)
    if structs.is_record(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith("tui."):
            raise TypeError(f"cannot keep a {cls.__qualname__}")  # caught by store(): not cached
        fields = {f.name: _keep(getattr(value, f.name)) for f in structs.fields(value)}
        return {_RECORD: f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    return value


def _restore(value: Any) -> Any:
    """What :func:`_keep` kept, as the checkers gave it."""
    if not isinstance(value, dict):
        return value
    if _RECORD in value:
        module, _, name = value[_RECORD].partition(":")
        if not module.startswith("tui."):
            raise LookupError(module)  # a miss: only the package's own classes are made from a cache file
        cls = getattr(importlib.import_module(module), name)
        return cls(**{k: _restore(v) for k, v in value["fields"].items()})
    return frozen_map(value)


def _decode(path: Path, payload: tuple[Any, ...]) -> FileResult:
    from tui.core.executors import registry

    entries_kept, problems_kept, policies_kept = payload
    entries: list[Entry] = []
    for entry_id, namespace, name, kind_name, line, meta, values, source in entries_kept:
        spec = None
        if values is not None:
            kind = registry.find(kind_name)
            if kind is None:
                raise LookupError(kind_name)
            spec = kind.spec_class(**{k: _restore(v) for k, v in values.items()})
        entries.append(Entry(id=entry_id, namespace=namespace, name=name, kind=kind_name,
                             location=Location(path, line), meta=frozen_map(meta), spec=spec, source=source))
    problems = [Problem(Location(path, line), message, entry_id, field, hint, severity)
                for line, message, entry_id, field, hint, severity in problems_kept]
    policies = []
    if policies_kept:
        from tui.core.policy.match import compile_pattern
        from tui.core.policy.model import Condition, Policy

        for policy_id, line, effect, actions, resources, groups, conditions in policies_kept:
            made = tuple(Condition(field, operator, value, value_from, compile_pattern(value) if compiled else None)
                         for field, operator, value, value_from, compiled in conditions)
            policies.append(Policy(policy_id, Location(path, line), effect, actions, resources, made, groups))
    return entries, problems, policies
