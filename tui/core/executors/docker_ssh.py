"""``ssh://`` daemons: the Docker Engine API through the system's ``ssh`` command, as the Docker CLI does it.

Every connection is one ``ssh -T -o BatchMode=yes [-l user] [-p port] -- machine docker [--host
unix://PATH] system dial-stdio`` process: the far end's docker command line joins its stdin and stdout
to the engine's socket (the ``DOCKER_HOST`` of that session, or the URL's path), so whatever works with
``docker -H ssh://...`` works here, with the user's own ssh configuration, keys, agent and known hosts.

Its stdin and stdout are one end of a socket pair, and this side holds the other end: a real socket, so
every timeout, ``select`` and half-close of the other transports holds here unchanged (the attach stream,
end of input, the streamed wait). ``BatchMode`` and a session of its own keep ssh from ever prompting on
the operator's terminal; its stderr is kept (the last lines) to say what failed when it ends early.

Why not the Docker SDK's own ssh support: its paramiko mode needs paramiko and three compiled
dependencies and reads only a part of ``~/.ssh/config``; its shell-out mode still imports paramiko, talks
through pipes no timeout bounds, lets ssh write over the console, leaves its ssh processes unreaped and
keeps no reason for a failure.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import threading
import urllib.parse

# ssh's own failures exit with 255; anything else is the far end's command.
_SSH_FAILED = 255
# Enough of ssh's stderr to explain a failure (a banner may come first).
_KEEP_LINES = 20


def ssh_command(url: str) -> list[str]:
    """The command that reaches the engine of ``url`` (``ssh://[user@]machine[:port][/socket/path]``).

    Raises:
        ValueError: not an ``ssh://`` URL with a machine.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise ValueError(f"not an ssh:// URL with a machine: {url}")
    command = ["ssh", "-T", "-o", "BatchMode=yes"]
    if parts.username:
        command += ["-l", urllib.parse.unquote(parts.username)]
    if parts.port:
        command += ["-p", str(parts.port)]
    remote = ["docker"]
    if parts.path not in ("", "/"):
        # The Docker CLI's meaning of a path in an ssh URL. The far end's shell reads this line.
        remote += ["--host", shlex.quote(f"unix://{urllib.parse.unquote(parts.path)}")]
    return [*command, "--", parts.hostname, " ".join([*remote, "system", "dial-stdio"])]


class SSHLink:
    """One ``ssh`` process and the socket that talks through it. Its stderr is read (and the process
    reaped) by a thread of its own, so an ended ssh never stays a zombie."""

    def __init__(self, command: list[str]) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                command, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.socket = ours
        self._stderr: collections.deque[str] = collections.deque(maxlen=_KEEP_LINES)
        self._ended = threading.Event()
        threading.Thread(target=self._watch, name=f"ssh-{self.process.pid}", daemon=True).start()

    def _watch(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                text = line.decode(errors="replace").strip()
                if text:
                    self._stderr.append(text)
        self.process.wait()
        self._ended.set()

    def failure(self, wait: float) -> str:
        """What failed, for people, once ssh ended (waiting at most ``wait`` seconds); "" while it runs."""
        if not self._ended.wait(wait):
            return ""
        return explain(self.process.returncode, list(self._stderr))

    def close(self) -> None:
        """Close the socket and end ssh (SIGTERM). Idempotent, never raises; the watcher reaps it."""
        with contextlib.suppress(OSError):
            self.socket.close()
        with contextlib.suppress(OSError):
            if self.process.poll() is None:
                self.process.terminate()


def explain(code: int, stderr: list[str]) -> str:
    """Why an ssh connection to an engine ended, from ssh's exit code and the last lines of its stderr."""
    said = stderr[-1] if stderr else ""
    text = "\n".join(stderr)
    if code == _SSH_FAILED:
        if "Permission denied" in text:
            return f"ssh: the machine refused the key ({said})"
        if "Host key verification failed" in text or "host key" in text.lower():
            return f"ssh: the machine's host key is unknown or has changed ({said})"
        return f"ssh: could not reach the machine ({said or 'ssh exited with 255'})"
    if code == 127 or "command not found" in text:
        return f"no docker command at the far end ({said or 'exit 127'})"
    if code == 0:
        return "the far end closed the connection"
    return f"no Docker engine answers at the far end ({said or f'docker exited with {code}'})"


def open_link(command: list[str]) -> SSHLink:
    """Start one ssh process for ``command`` (:func:`ssh_command`). Raises ``OSError`` (a transport
    error) when there is no ssh to run."""
    program = shutil.which(command[0])
    if program is None:
        raise FileNotFoundError(f"no ssh command on this machine (PATH={os.environ.get('PATH', '')})")
    return SSHLink([program, *command[1:]])
