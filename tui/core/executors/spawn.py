"""Starting a host process as ``subprocess.Popen`` does, for a tenth of its bookkeeping.

A native run's start (``exec("true")``, ``start()``, ``wait()``) spent more time in ``Popen``'s Python
code (its handles, its checks, its file objects) than in our own, which
showed in many short runs. On CPython 3.11 :func:`spawn` calls what ``Popen`` calls in the end,
``_posixsubprocess.fork_exec``, with the same arguments ``Popen`` would pass for the same request (its
own pipes closed, a new session, ``close_fds``, ``vfork`` where the C code allows it), and reads the
child's report of a failed ``exec`` the same way. ``fork_exec`` is not a public function: elsewhere
(another Python) :func:`spawn` is ``Popen`` itself, and both return an object with ``pid``,
``poll()``, ``wait()`` and ``send_signal()``, which is all the native backend uses.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

# The signature this module passes is 3.11's: the arguments that 3.11's Popen._execute_child passes.
FAST = sys.platform == "linux" and sys.version_info[:2] == (3, 11)


class Child(Protocol):
    """What a started process offers (``subprocess.Popen`` offers the same)."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...

    def send_signal(self, sig: int) -> None: ...


def spawn(program: str, argv: Sequence[str], env: Mapping[str, str], cwd: str | None,
          stdin: int, stdout: int, stderr: int) -> Child:
    """Start ``program`` with ``argv`` (``argv[0]`` included), exactly ``env``, in ``cwd``, in a new
    session, with ``stdin``, ``stdout`` and ``stderr`` as its 0, 1 and 2 and no other descriptor.

    Raises:
        OSError: the fork or the exec failed (the errno of the child's ``exec``, as ``Popen`` raises).
        ValueError: a variable name holds ``=``, or a string holds a NUL.
    """
    if not FAST:
        import subprocess

        return subprocess.Popen(list(argv), executable=program, stdin=stdin, stdout=stdout, stderr=stderr,
                                env=dict(env), cwd=cwd, start_new_session=True, close_fds=True)
    import _posixsubprocess

    # Typed loosely: the stubs follow the newest Python's signature, this call 3.11's.
    fork_exec: Any = _posixsubprocess.fork_exec

    env_list = []
    for key, value in env.items():
        name = os.fsencode(key)
        if b"=" in name:
            raise ValueError("illegal environment variable name")
        env_list.append(name + b"=" + os.fsencode(value))
    executable = os.fsencode(program)
    sys.audit("subprocess.Popen", program, list(argv), cwd, env)
    errpipe_read, errpipe_write = os.pipe()
    try:
        try:
            pid = fork_exec(
                list(argv), (executable,), True, (errpipe_write,), cwd, env_list,
                stdin, -1, -1, stdout, -1, stderr, errpipe_read, errpipe_write,
                True, True, -1, None, None, None, -1, None, True,
            )
        finally:
            os.close(errpipe_write)
        report = bytearray()
        while True:  # the child's report of a failed exec; end of file once the exec succeeded
            part = os.read(errpipe_read, 50000)
            report += part
            if not part or len(report) > 50000:
                break
    finally:
        os.close(errpipe_read)
    child = _Child(pid)
    if report:
        child.wait()  # the failed child is gone: reap it, as Popen does
        raise _exec_error(bytes(report), program, cwd)
    return child


def _exec_error(report: bytes, program: str, cwd: str | None) -> OSError:
    """The error the child reported, as ``Popen`` builds it (``OSError:<hex errno>:<where>``)."""
    try:
        _, hex_errno, where = report.split(b":", 2)
        code = int(hex_errno, 16)
    except ValueError:
        return OSError(errno.EINVAL, f"bad exec report from the child: {report[:100]!r}")
    filename = cwd if where == b"noexec:chdir" else program
    return OSError(code, os.strerror(code), filename)


class _Child:
    """A started process: ``Popen``'s ``poll``, ``wait`` and ``send_signal``, for one that is ours alone.

    One ``waitpid`` at a time (a lock, as in ``Popen``): the reactor's ``poll`` and a caller's ``wait``
    may meet, and a pid reaped twice could be another process's by then.
    """

    __slots__ = ("_lock", "pid", "returncode")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        """The exit status if it ended (``-N`` for signal N), else ``None``. Never blocks."""
        if self.returncode is None and self._lock.acquire(blocking=False):
            try:
                if self.returncode is None:
                    self._reap(os.WNOHANG)
            finally:
                self._lock.release()
        return self.returncode

    def wait(self) -> int:
        """Block until it ended; its exit status."""
        while self.returncode is None:
            with self._lock:
                if self.returncode is None:
                    self._reap(0)
        return self.returncode

    def _reap(self, flags: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:
            # Reaped by someone else (SIGCHLD ignored): the status is lost. Popen says 0 too.
            self.returncode = 0
            return
        if pid == self.pid:
            self.returncode = os.waitstatus_to_exitcode(status)

    def send_signal(self, sig: int) -> None:
        """Signal it, unless it already ended (its pid may be another's by then)."""
        self.poll()
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
