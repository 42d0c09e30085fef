"""Entries as loaded from YAML: frozen, typed, and carrying where they came from.

The loader (``tui.core.entries.loader``) produces a :class:`LoadResult`; nothing downstream looks at
YAML again. Every :class:`Problem` names file, line, entry id and field, so that ``execdeck check``,
the console's Problems view and the tests all speak of the same place.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

from tui.core.structs import field, record

if TYPE_CHECKING:
    from tui.core.policy.model import Policy


def frozen_map(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only view of a copy of ``data`` (entries are shared between threads)."""
    return MappingProxyType(dict(data or {}))


@record(frozen=True)
class Location:
    """Where something was declared: a file and a 1-based line (0 when unknown)."""

    path: Path
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


@record(frozen=True)
class Problem:
    """One thing wrong in an entry file.

    ``entry_id`` and ``field`` are empty when the problem concerns the whole file (bad YAML, no
    namespace). ``hint`` holds advice such as ``did you mean 'memory_limit'?``. ``severity`` is
    ``"error"`` when the entry (or file) was not loaded, ``"warning"`` when it was loaded anyway
    (unknown fields).
    """

    location: Location
    message: str
    entry_id: str = ""
    field: str = ""
    hint: str = ""
    severity: str = "error"

    def format(self) -> str:
        """``file:line: id.field: message (hint)``: the line ``execdeck check`` prints."""
        where = self.entry_id
        if self.field:
            where = f"{where}.{self.field}" if where else self.field
        text = f"{self.location}: "
        if where:
            text += f"{where}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


@record(frozen=True, kw_only=True)
class ExecutorSpec:
    """The fields every kind of executor has; each kind's spec class (declared in the kind's module) adds
    its own. ``command_whitelist`` is checked for every kind in one place (``Executor.exec``);
    ``default_work_dir`` and ``default_env`` are applied by each kind's backend."""

    default_work_dir: str = ""
    default_env: Mapping[str, str] = field(default_factory=frozen_map)
    command_whitelist: tuple[str, ...] = ()


@record(frozen=True)
class Entry:
    """One entry of an entry file.

    ``spec`` is ``None`` for a kind that no executor kind of the registry claims ("not an executor").
    ``source`` is the entry's own YAML text (for the console's details view), ``location`` the line
    of its ``name``/first key.
    """

    id: str
    namespace: str
    name: str
    kind: str
    location: Location
    meta: Mapping[str, Any] = field(default_factory=frozen_map)
    spec: ExecutorSpec | None = None
    source: str = ""

    @property
    def is_executor(self) -> bool:
        return self.spec is not None

    @property
    def whitelist(self) -> tuple[str, ...]:
        return self.spec.command_whitelist if self.spec is not None else ()


@record(frozen=True)
class LoadResult:
    """Everything that loaded, and every problem found, across all files at once."""

    entries: tuple[Entry, ...] = ()
    problems: tuple[Problem, ...] = ()
    files: tuple[Path, ...] = ()
    #: The ``security.policy`` entries in force (those without errors), in file order.
    policies: tuple[Policy, ...] = ()

    @property
    def executors(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.spec is not None)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    def get(self, entry_id: str) -> Entry | None:
        """The entry ``entry_id`` (the first, should two have it), or ``None``."""
        return self._by_id.get(entry_id)

    @cached_property
    def _by_id(self) -> dict[str, Entry]:
        # Made at the first look-up: a console looks entries up by id for every line it draws.
        found: dict[str, Entry] = {}
        for entry in self.entries:
            found.setdefault(entry.id, entry)
        return found


#: What one entry file loads into: its entries, its problems (by line) and its policies.
FileResult: TypeAlias = "tuple[list[Entry], list[Problem], list[Policy]]"
