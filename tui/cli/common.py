"""What every subcommand shares: entry paths, the engine's lifetime, signals, one-line errors."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

from tui.cli.access import chosen
from tui.cli.output import STDERR
from tui.core.engine import Engine
from tui.core.entries import LoadResult
from tui.core.entries.loader import load_entries
from tui.core.entries.paths import resolve_entry_paths
from tui.core.records import attach_recorder

if TYPE_CHECKING:
    import argparse  # annotations only: `execdeck run` in its common form never loads argparse


class SignalFlag:
    """A flag a signal handler sets: no lock, unlike ``threading.Event``. A handler runs between any
    two bytecodes of the main thread, its own included: one that takes a lock deadlocks when a second
    signal lands while the first holds it (a quick double ctrl+c hung ``execdeck run`` that way).
    ``signum`` is the first signal that set it.

    ``ending`` is the signal that raised :class:`Interrupted` (0 before). The raise lands wherever the main
    thread is, and Python swallows an exception raised inside a finalizer or a weak reference's callback
    (``Exception ignored in ...``): a second ctrl+c that landed in one left ``execdeck run`` running for
    good, its later signals ignored as part of the way out. A loop of the main thread that is still going
    calls :meth:`raise_lost`."""

    def __init__(self) -> None:
        self._set = False
        self.signum = 0
        self.holding = False
        self.held = 0
        self.ending = 0

    def raise_lost(self) -> None:
        """Raise :class:`Interrupted` again if one was raised and we are still here (it was swallowed)."""
        if self.ending and not self.holding:
            raise Interrupted(self.ending)

    def set(self, signum: int = 0) -> None:
        if not self._set:
            self.signum = signum
        self._set = True

    def is_set(self) -> bool:
        return self._set

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Within the block, a signal that would raise :class:`Interrupted` is held and raised when the
        block ends (unless it ends with an exception of its own). Such an exception can land at any
        bytecode of the main thread: inside a container's start it left the container running, inside
        ``threading.Thread.start`` it broke Python's own bookkeeping of threads. Hold only what ends by
        itself in bounded time."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.held:
            raise Interrupted(self.held)


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived: end the runs, then exit ``128 + signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def add_entries_option(parser: argparse.ArgumentParser, dest: str = "entries") -> None:
    parser.add_argument(
        "--entries", action="append", default=[], metavar="PATH", dest=dest,
        help="an entry file or a folder searched for *.yaml (repeatable); "
        "default: $EXECDECK_ENTRIES, else ./sample_entries, else the packaged samples",
    )


def load(args: argparse.Namespace) -> LoadResult:
    """Load the entries named by ``--entries`` or the fallbacks."""
    return load_entries(resolve_entry_paths(args.entries))


def error(message: str) -> None:
    """One clear line on stderr; never raises (a closed stderr only silences it)."""
    STDERR.line(f"execdeck: {message}")


@contextlib.contextmanager
def engine_session(
    result: LoadResult, on_signal: SignalFlag | None = None, source: str = "cli", *, every_signal: bool = False,
    long_lived: bool = False,
) -> Iterator[Engine]:
    """An engine whose processes (and containers) all end when the block ends, however it ends.

    SIGTERM and SIGHUP are turned into :class:`Interrupted` in the main thread (Python's default
    handling would skip ``finally`` and leave containers behind); so is SIGINT. When ``on_signal``
    is given, the first SIGINT (ctrl+c) only sets it and the caller decides what to do (pass it on to
    the command); a second one, or SIGTERM or SIGHUP, ends everything. With ``every_signal``, SIGTERM and
    SIGHUP only set ``on_signal`` too, and later signals are ignored: the caller ends in its own time.

    Once a signal has arrived, Python's own handlers are not put back: the program is ending, and a late
    signal of a burst must not become a KeyboardInterrupt (exit -2) on the way out.

    ``long_lived``: the engine serves many runs (a Lua script), so docker entries with ``pool`` keep
    containers started ahead; a single run would only pay for them.
    """
    engine = Engine(result, source=source, access=chosen(), long_lived=long_lived)
    # Run records (EXECDECK_RECORDS chooses the file or `off`); a database problem is one notice, never a failed run.
    # Opened on its writer thread, while the first run starts (see tui.core.records.recorder).
    recorder = attach_recorder(engine, source=source, on_problem=error, open_later=True, on_notice=error)
    if recorder.problem:
        error(recorder.problem)
    previous: dict[signal.Signals, object] = {}

    raised: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if raised:
            return  # already on the way out: a burst of signals must not cut the clean-up short
        if on_signal is not None and (every_signal or signum == signal.SIGINT):
            if not on_signal.is_set():
                on_signal.set(signum)
                return
            if every_signal:
                return
        raised.append(signum)
        if on_signal is not None:
            on_signal.ending = signum  # see SignalFlag.raise_lost
            if on_signal.holding:
                on_signal.held = signum  # raised when the held block ends
                return
        raise Interrupted(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread (tests)
            previous[sig] = signal.signal(sig, handler)
    try:
        yield engine
    finally:
        # A second signal during the clean-up must not cut it short.
        for sig in previous:
            with contextlib.suppress(ValueError):
                signal.signal(sig, signal.SIG_IGN)
        engine.shutdown()
        recorder.close()
        if not raised and not (on_signal is not None and on_signal.is_set()):
            # An interrupted session ends the program: restoring Python's ctrl+c there would let the
            # rest of a burst turn the exit code into a KeyboardInterrupt.
            for sig, old in previous.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, old)  # type: ignore[arg-type]
