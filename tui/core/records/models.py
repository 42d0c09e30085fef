"""What a run record is (:class:`RunRecord`), where the database lives, and writer identity."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tui.core.process import signal_name
from tui.core.structs import asdict, record

if TYPE_CHECKING:
    import sqlite3

Status = Literal["running", "ok", "failed", "interrupted"]
STATUSES: tuple[Status, ...] = ("running", "ok", "failed", "interrupted")

#: Per run, at most this much output is stored; the rest is only counted (the truncation mark).
DEFAULT_OUTPUT_CAP = 8 * 1024 * 1024
#: How long a writer waits for another one's lock before recording is given up as "locked".
DEFAULT_BUSY_TIMEOUT = 3.0
#: ``EXECDECK_RECORDS``: another file, or ``off`` to record nothing.
RECORDS_ENV = "EXECDECK_RECORDS"


class RecordsError(Exception):
    """A problem with the records database, as one line for a person (``str(err)``)."""


@record(frozen=True)
class RunRecord:
    """One recorded run. Times are seconds since the epoch; ``env_names`` never carries values."""

    run_id: str
    executor_id: str
    kind: str
    command: str
    argv: tuple[str, ...]
    work_dir: str
    env_names: tuple[str, ...]
    user: str
    source: str
    handle: str
    status: Status
    started_at: float
    ended_at: float | None
    duration: float | None
    exit_code: int | None
    signal: int | None
    timed_out: bool
    oom_killed: bool
    error: str | None
    stdout_bytes: int
    stderr_bytes: int
    stdout_lines: int
    stderr_lines: int
    output_kept: int
    output_dropped: int
    #: Who acted (``--actor``, a visitor of a served console); empty when nobody was named.
    actor: str = ""

    @property
    def truncated(self) -> bool:
        """Output went over the cap: ``output_dropped`` bytes were counted but not stored."""
        return self.output_dropped > 0

    @property
    def result_text(self) -> str:
        """``exited 0``, ``killed by SIGTERM``, ``timed out``, ``interrupted``, ``running``..."""
        if self.status in ("running", "interrupted"):
            return self.status
        if self.error:
            return f"error: {self.error}"
        if self.timed_out:
            return "timed out"
        if self.oom_killed:
            return "out of memory"
        if self.signal is not None:
            return f"killed by {signal_name(self.signal)}"
        return f"exited {self.exit_code}"

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON values (lists for tuples)."""
        data = asdict(self)
        data["argv"] = list(self.argv)
        data["env_names"] = list(self.env_names)
        return data

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | sqlite3.Row, status: Status | None = None) -> RunRecord:
        import json  # here: a run that is only recorded (execdeck run) never reads a row back

        return cls(
            run_id=row["run_id"], executor_id=row["executor_id"], kind=row["kind"], command=row["command"],
            argv=tuple(json.loads(row["argv"])), work_dir=row["work_dir"],
            env_names=tuple(json.loads(row["env_names"])), user=row["user"], source=row["source"],
            handle=row["handle"], status=status or row["status"], started_at=row["started_at"],
            ended_at=row["ended_at"], duration=row["duration"], exit_code=row["exit_code"], signal=row["signal"],
            timed_out=bool(row["timed_out"]), oom_killed=bool(row["oom_killed"]), error=row["error"],
            stdout_bytes=row["stdout_bytes"], stderr_bytes=row["stderr_bytes"],
            stdout_lines=row["stdout_lines"], stderr_lines=row["stderr_lines"],
            output_kept=row["output_kept"], output_dropped=row["output_dropped"], actor=row["actor"],
        )


def default_records_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/execdeck/runs.sqlite3``, else ``~/.local/share/execdeck/runs.sqlite3``."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "execdeck" / "runs.sqlite3"


def resolve_records_path(
    flag: str | None = None, *, disabled: bool = False, env: Mapping[str, str] | None = None
) -> Path | None:
    """The records file chosen by ``--records``/``--no-record``, ``EXECDECK_RECORDS``, or the default.

    ``None`` means recording is off (``--no-record`` or ``EXECDECK_RECORDS=off``).
    """
    env = os.environ if env is None else env
    if disabled:
        return None
    if flag:
        return Path(flag).expanduser()
    chosen = env.get(RECORDS_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    return default_records_path(env)


def os_user() -> str:
    """Who runs this process: the login name, else the numeric uid (containers without passwd)."""
    # getpass.getuser() written out: importing getpass loads its terminal support, for nothing here.
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if os.environ.get(name):
            return os.environ[name]
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, OSError):
        return str(os.getuid())


def format_duration(seconds: float | None, *, millis: bool = True) -> str:
    """``"-"``, ``"0.004s"``, ``"4.2s"``, ``"3m07s"``, ``"2h05m"``: short, for tables. Without
    ``millis``, under a second too shows tenths (``"0.4s"``: a header's ticking clock)."""
    if seconds is None:
        return "-"
    if millis and seconds < 1:
        return f"{seconds:.3f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def json_strings(values: Iterable[str]) -> str:
    """``json.dumps(list(values))``, the same text, for the strings of a run's row (argv, names).

    Strings of printable ASCII without quotes or backslashes, what commands nearly always are, are written
    here; anything else goes through :mod:`json`, whose import (with its C accelerator) is a measurable part
    of a short ``execdeck run``.
    """
    items = list(values)
    if all(text.isascii() and text.isprintable() and '"' not in text and "\\" not in text for text in items):
        return "[" + ", ".join(f'"{text}"' for text in items) + "]"
    import json

    return json.dumps(items)
