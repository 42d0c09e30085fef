"""Notice edits of the entry files: a cheap poll of their modification times (no inotify dependency)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from tui.core.entries.loader import find_entry_files

Snapshot = tuple[tuple[str, int, int], ...]


def snapshot(paths: Sequence[Path]) -> Snapshot:
    """Name, mtime and size of every entry file and named folder (a new or removed file shows too)."""
    found: list[tuple[str, int, int]] = []
    files, _ = find_entry_files(paths)
    for path in [*paths, *files]:
        with contextlib.suppress(OSError):
            info = os.stat(path)
            found.append((str(path), info.st_mtime_ns, info.st_size if path.is_file() else 0))
    return tuple(found)


class EntryWatch:
    """``changed()`` is True once after the files under ``paths`` changed since the last call."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self._last = snapshot(self.paths)

    def changed(self) -> bool:
        now = snapshot(self.paths)
        if now == self._last:
            return False
        self._last = now
        return True
