"""Run records: every run kept in an embedded SQLite file, searchable and replayable (issue 6).

* :func:`attach_recorder` (engine side): record every process of an engine; never raises.
* :class:`RecordStore` (read side): list, get, resolve a prefix, read output, prune;
  :func:`open_store` opens one without raising (for the console's Runs view).
* :class:`RunRecord`: one run's fields.

No UI import here: the command line and the console both build on this. The store (and with it
SQLite) loads on first use: ``execdeck run`` opens it on the recorder's writer thread (see
:mod:`tui.core.records.recorder`).
"""

from typing import TYPE_CHECKING

from tui.core.records.models import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_OUTPUT_CAP,
    RECORDS_ENV,
    STATUSES,
    RecordsError,
    RunRecord,
    Status,
    default_records_path,
    format_duration,
    resolve_records_path,
)
from tui.core.records.recorder import Recorder, attach_recorder

if TYPE_CHECKING:
    from tui.core.records.store import RecordStore, open_store


def __getattr__(name: str) -> object:
    if name in ("RecordStore", "open_store"):
        from tui.core.records import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_OUTPUT_CAP",
    "RECORDS_ENV",
    "STATUSES",
    "RecordStore",
    "Recorder",
    "RecordsError",
    "RunRecord",
    "Status",
    "attach_recorder",
    "default_records_path",
    "format_duration",
    "open_store",
    "resolve_records_path",
]
