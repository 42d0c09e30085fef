"""Files and folders private to the user who runs execdeck: files 0600, folders 0700, whatever the umask.

What execdeck writes (run records hold the output of every run, which may hold secrets; settings) must not
be readable by the other users of a shared machine. A umask only removes bits, and a permissive one
(0022, the usual default) leaves files 0644: so modes are set explicitly after creation.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> None:
    """Make ``path`` and its missing parents, each 0700. Folders that exist are left as they are (they
    may be shared on purpose, such as ``/tmp``). Raises ``OSError``."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists. Raises ``OSError``."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, mode 0600: a temporary file renamed over it,
    so a crash never leaves half a file. Raises ``OSError``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def tighten(path: Path, mode: int) -> int | None:
    """Take away from ``path`` every permission bit beyond ``mode``. Returns the old mode when it had to
    change, else ``None`` (also when ``path`` does not exist). Raises ``OSError`` (not the owner)."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    if current & ~mode == 0:
        return None
    os.chmod(path, current & mode)
    return current
