"""What the header of a run shows: a plain snapshot the app fills from the engine (no engine import)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core.records.models import format_duration


@dataclass(frozen=True)
class RunInfo:
    """A snapshot of one run. The app builds a new one (``dataclasses.replace``) when something changes."""

    executor_id: str
    """Id of the executor the run goes through."""
    command: str
    """The command as the operator chose or typed it."""
    argv: tuple[str, ...] = field(default_factory=tuple)
    """The exact argv after tokenizing."""
    state: str = "starting"
    """Free text from the engine: starting, running, exited, killed, failed..."""
    handle: str = ""
    """The handle as the run's kind names it (``pid 4242``, ``container 0123456789ab``); empty until known."""
    started_at: float | None = None
    """``time.monotonic()`` when the run started, or None before."""
    ended_at: float | None = None
    """``time.monotonic()`` when it ended, or None while it runs."""
    exit_text: str = ""
    """"exit 0", "exit 2", "SIGKILL", "out of memory"...; empty while running."""
    ok: bool | None = None
    """True for a successful end, False for a failed one, None while running."""
    stdout_bytes: int = 0
    """Bytes received on stdout."""
    stderr_bytes: int = 0
    """Bytes received on stderr."""
    lines: int = 0
    """Lines received, both streams."""

    def elapsed(self, now: float) -> float | None:
        """Seconds since the start (until the end once ended), or None before the start."""
        if self.started_at is None:
            return None
        return (self.ended_at if self.ended_at is not None else now) - self.started_at


def format_elapsed(seconds: float | None) -> str:
    """``"-"``, ``"4.2s"``, ``"3m07s"`` or ``"2h05m"``: short enough for a header."""
    return format_duration(seconds, millis=False)


def format_bytes(count: int) -> str:
    """``"512 B"``, ``"3.4 KiB"``, ``"12.0 MiB"``..."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
