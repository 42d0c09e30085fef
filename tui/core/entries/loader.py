"""Find entry files and load them into one :class:`LoadResult`.

Contract: nothing here raises for anything on disk. Every failure (a missing path, a file that is too
big, not UTF-8, not YAML, an alias bomb, a bad entry) becomes a :class:`Problem` naming the file and,
where one exists, the line; a bad file or entry never stops the good ones from loading. Loading keeps
no state but the entries cache (``tui.core.entries.cache``), which answers only for the same bytes and
the same code, so it may run in a worker thread, and reloading is calling it again.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.entries import cache
from tui.core.entries.models import Entry, FileResult, LoadResult, Location, Problem

if TYPE_CHECKING:
    from tui.core.policy.model import Policy

YAML_SUFFIXES = (".yaml", ".yml")

MAX_FILE_BYTES = 8 * 1024 * 1024
"""A bigger file is refused unread. 5,000 executors take about half a MiB, so this is room for tens of
thousands in one file; loading holds the file's node graph, about 35 times its size, for a moment."""

def find_entry_files(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    """The entry files named by ``paths``, in a deterministic order, and the problems finding them.

    A file is taken whatever its suffix (it was named on purpose). A folder is searched recursively
    for ``*.yaml``/``*.yml``: names sorted, files of a folder before its subfolders, hidden files
    and folders skipped (editor backups, ``.git``), symlinked folders followed once. A path that does
    not exist is an error, a folder without entry files a warning. A file reached twice (named and
    inside a named folder) is listed once, so its entries are not reported as duplicates of
    themselves.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for given in paths:
        found: list[Path] = []
        if given.is_file():
            found = [given]
        elif given.is_dir():
            found = _walk(given, problems)
            if not found:
                problems.append(
                    Problem(Location(given), "no *.yaml or *.yml files in this folder", severity="warning")
                )
        elif given.exists():
            problems.append(Problem(Location(given), "not a file or a folder"))
        else:
            problems.append(Problem(Location(given), "no such file or folder"))
        for path in found:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                files.append(path)
    return files, problems


def _walk(root: Path, problems: list[Problem]) -> list[Path]:
    found: list[Path] = []
    visited: set[str] = set()

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        problems.append(Problem(Location(where), f"cannot read this folder: {exc.strerror}"))

    for folder, dirs, names in os.walk(root, onerror=unreadable, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:  # a symlink loop, or two links to one folder
            dirs[:] = []
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(folder) / name
            for name in sorted(names)
            if not name.startswith(".") and name.endswith(YAML_SUFFIXES)
        )
    return found


def load_entries(paths: Sequence[Path]) -> LoadResult:
    """Load every entry file under ``paths`` (see :func:`find_entry_files`) into one result.

    Entries keep file order; problems are grouped by file, by line within a file. Two entries with
    one id: the first loads, the second is an error naming both places.
    """
    files, problems = find_entry_files(paths)
    entries: list[Entry] = []
    policies: list[Policy] = []
    by_id: dict[str, Entry] = {}
    for path in files:
        file_entries, file_problems, file_policies = load_file(path)
        problems.extend(file_problems)
        policies.extend(file_policies)
        for entry in file_entries:
            first = by_id.get(entry.id)
            if first is None:
                by_id[entry.id] = entry
                entries.append(entry)
                continue
            problems.append(
                Problem(
                    entry.location,
                    f"duplicate id '{entry.id}': declared at {first.location} and again at {entry.location};"
                    " the second is not loaded",
                    entry.id,
                    "name",
                    "rename one of them, or give the files different namespaces",
                )
            )
    # A policy is in force only when its entry is (the second of two with one id is not).
    kept = tuple(p for p in policies if by_id[p.id].location == p.location)
    return LoadResult(tuple(entries), tuple(problems), tuple(files), kept)


def load_file(path: Path) -> FileResult:
    """The entries of one file, its problems (sorted by line) and its policies; duplicates across files
    are not seen. From the cache when the same bytes were loaded before by the same code."""
    problems: list[Problem] = []
    data = _read_bytes(path, problems)
    if data is None:
        return [], problems, []
    found = cache.lookup(path, data)
    if found is not None:
        return found
    from tui.core.entries.parse import parse_file  # PyYAML and validation, only for what is not cached

    result = parse_file(path, data)
    cache.store(path, data, result)
    return result


def _read_bytes(path: Path, problems: list[Problem]) -> bytes | None:
    where = Location(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read forever
            problems.append(Problem(where, "not a regular file"))
            return None
        if info.st_size > MAX_FILE_BYTES:
            problems.append(Problem(where, _too_big(info.st_size)))
            return None
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        problems.append(Problem(where, f"cannot read the file: {exc.strerror or exc}"))
        return None
    if len(data) > MAX_FILE_BYTES:  # it grew after stat()
        problems.append(Problem(where, _too_big(len(data))))
        return None
    return data


def _too_big(size: int) -> str:
    mib = MAX_FILE_BYTES // (1024 * 1024)
    return f"the file is too big to be an entry file ({size:,} bytes; the limit is {mib} MiB), not read"


