"""Where the entry files are: one rule for the console and every subcommand, in one place.

Order: ``--entries`` paths, else ``$EXECDECK_ENTRIES``, else ``./sample_entries`` when it exists,
else the samples shipped inside the package (so a fresh install opens on something that works).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

ENTRIES_ENV = "EXECDECK_ENTRIES"
LOCAL_SAMPLES = Path("sample_entries")


def packaged_samples() -> Path:
    """The folder of sample entry files shipped in the package (``tui/samples``)."""
    # tui/core/entries/paths.py -> tui/samples; a plain path works for source trees and wheels alike
    # (the package is never imported from a zip).
    return Path(__file__).resolve().parents[2] / "samples"


def resolve_entry_paths(cli_paths: Sequence[str]) -> list[Path]:
    """The entry paths to load, following the order above.

    Empty strings are ignored everywhere (``EXECDECK_ENTRIES=a::b`` or a trailing ``:``), and ``~``
    is expanded (the shell does not expand it inside a variable). The result is never empty; whether
    the paths exist is :func:`~tui.core.entries.loader.find_entry_files`'s business, which reports a
    missing one as a problem.
    """
    given = [Path(p).expanduser() for p in cli_paths if p]
    if given:
        return given
    from_env = [Path(p).expanduser() for p in os.environ.get(ENTRIES_ENV, "").split(":") if p]
    if from_env:
        return from_env
    if LOCAL_SAMPLES.is_dir():
        return [LOCAL_SAMPLES]
    return [packaged_samples()]
