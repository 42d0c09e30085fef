"""Entry files: find, parse with line marks, validate into frozen objects (spec section 1)."""

from tui.core.entries.loader import find_entry_files, load_entries
from tui.core.entries.models import (
    DOCKER_KIND,
    NATIVE_KIND,
    DockerSpec,
    Entry,
    ExecutorSpec,
    LoadResult,
    Location,
    NativeSpec,
    Problem,
)

__all__ = [
    "DOCKER_KIND",
    "NATIVE_KIND",
    "DockerSpec",
    "Entry",
    "ExecutorSpec",
    "LoadResult",
    "Location",
    "NativeSpec",
    "Problem",
    "find_entry_files",
    "load_entries",
]
