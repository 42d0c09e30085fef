"""The REPL's input history, kept in a file in the user's data folder.

The file holds one JSON string per line, so multi-line entries survive intact. Every ``add`` merges with
what is on disk first, so two REPLs open at once do not erase each other's entries. A file that cannot be
read or written never breaks the REPL: the history then lives in memory and ``last_error`` says why.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

DEFAULT_LIMIT = 1000


def default_history_path() -> Path:
    """``$XDG_DATA_HOME/execdeck/repl_history``, by default ``~/.local/share/execdeck/repl_history``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "execdeck" / "repl_history"


class History:
    """Deduplicated (the latest use wins), bounded history of REPL inputs, oldest first."""

    def __init__(self, path: str | os.PathLike[str] | None = None, limit: int = DEFAULT_LIMIT) -> None:
        self.path = Path(path) if path is not None else default_history_path()
        self.limit = limit
        self.last_error: str | None = None
        self._entries: list[str] = self._read() or []

    @property
    def entries(self) -> list[str]:
        """All entries, oldest first (a copy)."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry: str) -> None:
        """Record ``entry`` as the newest (blank entries are ignored) and save the file."""
        if not entry.strip():
            return
        # The file already holds what this object saved, plus what other sessions added since.
        on_disk = self._read() if self.path.exists() else None
        base = on_disk if on_disk is not None else self._entries
        self._entries = _dedup([*base, entry])[-self.limit:]
        self._write()

    def search_prefix(self, prefix: str) -> list[str]:
        """Entries starting with ``prefix``, newest first."""
        return [entry for entry in reversed(self._entries) if entry.startswith(prefix)]

    def _read(self) -> list[str] | None:
        """The entries in the file, ``None`` when it cannot be read."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.last_error = f"cannot read {self.path}: {exc.strerror or exc}"
            return None
        entries: list[str] = []
        for line in text.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue  # a damaged line costs that entry only
            if isinstance(value, str):
                entries.append(value)
        return _dedup(entries)[-self.limit:]

    def _write(self) -> None:
        data = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in self._entries)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Written aside then renamed: a crash mid-write never leaves half a history.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".repl_history.")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(data)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as exc:
            self.last_error = f"cannot save {self.path}: {exc.strerror or exc}"
        else:
            self.last_error = None


def _dedup(entries: list[str]) -> list[str]:
    """Drop earlier copies of repeated entries, keeping the order of their latest use."""
    seen: set[str] = set()
    kept: list[str] = []
    for entry in reversed(entries):
        if entry not in seen:
            seen.add(entry)
            kept.append(entry)
    kept.reverse()
    return kept
