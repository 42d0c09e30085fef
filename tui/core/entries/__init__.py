"""Entry files: find, parse with line marks, validate into frozen objects.

The loader (and with it PyYAML and the validation rules) is imported when first used: the models alone
are what most importers need, and ``execdeck run`` pays for every module it loads.
"""

from typing import TYPE_CHECKING, Any

from tui.core.entries.models import Entry, ExecutorSpec, LoadResult, Location, Problem

if TYPE_CHECKING:
    from tui.core.entries.loader import find_entry_files, load_entries

__all__ = [
    "Entry",
    "ExecutorSpec",
    "LoadResult",
    "Location",
    "Problem",
    "find_entry_files",
    "load_entries",
]


def __getattr__(name: str) -> Any:
    if name in ("find_entry_files", "load_entries"):
        from tui.core.entries import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
