"""Is a pid still the process it was? Shared by run records (their writer) and Docker ownership (a
console instance): a pid can be reused, so a pid alone cannot tell a live owner from a dead one."""

from __future__ import annotations

import os
from pathlib import Path


def process_start_time(pid: int) -> str:
    """A token that differs between two processes that had the same pid: the start time in clock
    ticks from ``/proc/<pid>/stat`` (field 22); ``""`` where there is no /proc, or the pid is gone."""
    fields = _stat_fields(pid)
    return fields[19] if fields is not None and len(fields) > 19 else ""


def process_alive(pid: int, start: str) -> bool:
    """Whether the process ``(pid, start)`` still runs (a reused pid has another start time).

    A zombie counts as gone (it will never act again); where there is no /proc, the pid alone decides.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    if not start:
        return True
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc here: the signal test above is all there is
    if fields and fields[0] in ("Z", "X"):
        return False  # killed, not yet reaped by its parent
    return len(fields) > 19 and fields[19] == start


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 onwards), or ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count after its closing one.
    return stat[stat.rfind(")") + 2:].split()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` now (zombies included), from ``/proc``; ``[]`` without one."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields is not None and len(fields) > 1 and fields[1] == str(pid):
                found.append(int(name))
    return found
