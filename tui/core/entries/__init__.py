"""Entry files: find, parse with line marks, validate into frozen objects."""

from tui.core.entries.loader import find_entry_files, load_entries
from tui.core.entries.models import Entry, ExecutorSpec, LoadResult, Location, Problem

__all__ = [
    "Entry",
    "ExecutorSpec",
    "LoadResult",
    "Location",
    "Problem",
    "find_entry_files",
    "load_entries",
]
