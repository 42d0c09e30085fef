"""Native pipes as only a real process shows them: a sole reader reads the pipe itself (no copy, no
thread hand-off), and subscribers or a second reader joining meanwhile miss nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.core.support import read_all, seq_output
from tests.dockertools import poll_until
from tui.core.engine import Engine
from tui.core.process import Process
from tui.core.streams import DIRECT_BATCH, MAX_READ, StreamName


def test_a_lone_reader_and_a_subscriber_both_get_every_byte_in_order(engine: Engine) -> None:
    process = engine.get("t:native").exec("seq 1 200000")
    reader = process.stream("stdout")
    seen: list[bytes] = []
    process.subscribe(lambda stream, data: seen.append(data) if stream == "stdout" else None)
    process.start()
    expected = seq_output(1, 200000)
    assert read_all(reader) == expected  # the reader reads the pipe directly: nothing buffered for it
    process.wait()
    assert process.wait_done(10)
    assert b"".join(seen) == expected
    assert process.buffer("stdout").total == len(expected)


class _TwoParts:
    """A writer that pauses after its first part (more than the 1 MiB after which the pipe grows and
    stops reporting direct reads unless someone subscribed) until :meth:`flood` says go, and then
    floods; its lone reader reads the pipe directly on a thread of its own."""

    def __init__(self, engine: Engine) -> None:
        self.process = engine.get("t:native").exec("sh -c 'seq 1 200000; read go; seq 200001 3000000'")
        reader = self.process.stream("stdout")
        self.process.start()
        self.got: list[bytes] = []
        self.thread = threading.Thread(target=lambda: self.got.append(read_all(reader, deadline=60)))
        self.thread.start()
        self.first_part = len(seq_output(1, 200000))
        self.expected = seq_output(1, 3000000)
        self._wait_for(self.first_part, "the first part")

    def flood(self) -> None:
        """Let the writer go on, and return once it is well into the flood."""
        self.process.write_stdin(b"go\n")
        self._wait_for(4 * self.first_part, "the flood")

    def _wait_for(self, total: int, what: str) -> None:
        buffer = self.process.buffer("stdout")
        poll_until(lambda: buffer.total >= total, 30, what, interval=0.001)


def test_subscribers_joining_while_the_lone_reader_reads_the_pipe_get_every_later_byte(engine: Engine) -> None:
    run = _TwoParts(engine)
    quiet: list[bytes] = []  # joins while the writer waits: nothing is in flight
    run.process.subscribe(lambda stream, data: quiet.append(data) if stream == "stdout" else None)
    run.flood()
    busy: list[bytes] = []  # joins while direct reads are in flight
    run.process.subscribe(lambda stream, data: busy.append(data) if stream == "stdout" else None)
    run.thread.join(60)
    assert run.process.wait_done(10)
    assert run.got == [run.expected]
    assert b"".join(quiet) == run.expected[run.first_part:]
    assert busy and run.expected.endswith(b"".join(busy))  # a gap-free tail: nothing lost, nothing twice


def test_a_reader_opened_while_another_reads_the_pipe_directly_gets_a_gap_free_tail(engine: Engine) -> None:
    run = _TwoParts(engine)
    run.flood()
    tail = read_all(run.process.open_reader("stdout"), deadline=60)
    run.thread.join(60)
    run.process.wait()
    assert run.got == [run.expected]
    assert tail and run.expected.endswith(tail)


def test_a_subscriber_sees_what_the_lone_reader_took_while_the_process_still_runs(engine: Engine) -> None:
    # The reader's direct reads reach subscribers in batches; a batch must not wait for the end.
    process = engine.get("t:native").exec("sh -c 'echo hello; read go; echo bye'")
    reader = process.stream("stdout")
    seen: list[bytes] = []
    process.subscribe(lambda stream, data: seen.append(data) if stream == "stdout" else None)
    batches: list[list[bytes]] = []
    process.subscribe_batches(lambda stream, chunks, _: batches.append(chunks) if stream == "stdout" else None)
    process.start()
    got = b""
    while got != b"hello\n":
        chunk = reader.read(timeout=10)
        assert chunk, "no output"
        got += chunk
    # The reader stops reading; the process waits for its input meanwhile.
    poll_until(lambda: b"".join(seen) == b"hello\n", 10, "the subscriber to see hello", interval=0.005)
    assert b"".join(b"".join(chunks) for chunks in batches) == b"hello\n"
    assert process.running
    process.write_stdin(b"go\n")
    assert read_all(reader) == b"bye\n"
    process.wait()
    assert process.wait_done(10)
    assert b"".join(seen) == b"hello\nbye\n"
    assert b"".join(b"".join(chunks) for chunks in batches) == b"hello\nbye\n"


def test_a_second_reader_turns_direct_reads_off_and_misses_nothing_after_it_came(engine: Engine) -> None:
    process = engine.get("t:native").exec("sh -c 'seq 1 1000; read line; seq 1001 2000'")
    first = process.stream("stdout")
    process.start()
    got = b""
    while not got.endswith(b"1000\n"):
        chunk = first.read(timeout=10)
        assert chunk, "no output"
        got += chunk
    second = process.open_reader("stdout")
    process.write_stdin(b"go\n")
    rest = seq_output(1001, 2000)
    assert read_all(second) == rest
    assert read_all(first) == rest
    process.wait()


class _Counter:
    """A subscriber that wants the first ``keep`` bytes of stdout and only counts after them, as a
    recorder past its output cap does (``subscribe_batches`` with ``tally``)."""

    def __init__(self, keep: int = 0) -> None:
        self.keep = keep
        self.kept = b""
        self.counted = 0  # bytes told as counts
        self.newlines = 0  # newlines told as counts
        self.ends_with_newline: bool | None = None
        self.lock = threading.Lock()

    def subscribe(self, process: Process) -> None:
        process.subscribe_batches(self._chunks, tally=self._tally)

    def _chunks(self, stream: StreamName, chunks: list[bytes], _newline: bool) -> bool:
        if stream != "stdout":
            return False
        with self.lock:
            self.kept += b"".join(chunks)
            return len(self.kept) >= self.keep

    def _tally(self, stream: StreamName, size: int, newlines: int, ends_with_newline: bool) -> None:
        assert size > 0
        if stream == "stdout":
            with self.lock:
                self.counted += size
                self.newlines += newlines
                self.ends_with_newline = ends_with_newline

    def check(self, expected: bytes) -> None:
        """What it kept and what it was told add up to ``expected``, exactly."""
        with self.lock:
            assert expected.startswith(self.kept)
            assert len(self.kept) + self.counted == len(expected)
            assert self.kept.count(b"\n") + self.newlines == expected.count(b"\n")
            if self.counted:
                assert self.ends_with_newline == expected.endswith(b"\n")


@pytest.mark.parametrize(("script", "expected"), [
    ("head -c 6000000 /dev/zero", bytes(6000000)),  # binary: no newline at all
    ("head -c 3000000 /dev/zero; printf 'a\\nb\\n'; head -c 3000000 /dev/zero",
     bytes(3000000) + b"a\nb\n" + bytes(3000000)),
    ("head -c 6000000 /dev/zero; printf 'a\\n'", bytes(6000000) + b"a\n"),  # ends on its only newline
    ("seq 1 700000", seq_output(1, 700000)),
], ids=["zeros", "newlines inside", "newline at the end", "lines"])
@pytest.mark.parametrize("reader", [True, False], ids=["sole reader", "no reader"])
def test_a_subscriber_that_only_counts_is_told_exact_counts(
    engine: Engine, script: str, expected: bytes, reader: bool,
) -> None:
    # Past its first 100,000 bytes the subscriber wants counts: a sole reader then counts its reads where
    # it reads them (held nowhere), and without a reader the pipe's reads are counted as they are written.
    counter = _Counter(keep=100_000)
    process = engine.get("t:native").exec(f'sh -c "{script}"')
    stream = process.open_reader("stdout") if reader else None
    counter.subscribe(process)
    process.start()
    if stream is not None:
        assert read_all(stream, deadline=60) == expected
    assert process.wait_done(60)
    counter.check(expected)
    # Told as counts, not as bytes, from the hand-over after its first 100,000 bytes on (a hand-over holds
    # at most a batch of reads).
    assert counter.counted >= len(expected) - 100_000 - DIRECT_BATCH * MAX_READ


def test_counts_and_bytes_alternate_without_a_gap_when_a_subscriber_wants_bytes_for_a_while(
    engine: Engine, tmp_path: Path,
) -> None:
    # One subscriber only counts what the lone reader reads straight from the pipe. While the writer
    # pauses (the reader waiting, counting where it reads), another subscriber joins for bytes and gets
    # every one of the next part; it leaves, and the reader counts again: the counts add up exactly.
    expected = seq_output(1, 1_200_000)
    third = len(expected) // 3
    parts = [expected[:third], expected[third:2 * third], expected[2 * third:]]
    for i, part in enumerate(parts):
        (tmp_path / f"part{i}").write_bytes(part)
    counter = _Counter()
    process = engine.get("t:native").exec(
        f"sh -c 'cat {tmp_path}/part0; read a; cat {tmp_path}/part1; read b; cat {tmp_path}/part2'")
    reader = process.stream("stdout")
    counter.subscribe(process)
    process.start()
    got: list[bytes] = []
    thread = threading.Thread(target=lambda: got.append(read_all(reader, deadline=60)))
    thread.start()
    buffer = process.buffer("stdout")
    poll_until(lambda: buffer.total >= third, 30, "the first part", interval=0.001)
    busy: list[bytes] = []
    leave = process.subscribe(lambda stream, data: busy.append(data) if stream == "stdout" else None)
    process.write_stdin(b"a\n")
    poll_until(lambda: sum(map(len, busy)) >= len(parts[1]), 30, "the second part as bytes", interval=0.001)
    leave()
    process.write_stdin(b"b\n")
    thread.join(60)
    assert process.wait_done(10)
    assert got == [expected]
    assert b"".join(busy) == parts[1]
    counter.check(expected)
    assert counter.counted > len(parts[0]) // 2 + len(parts[2]) // 2  # before and after: as counts


def test_counts_reach_the_subscriber_while_the_run_goes_on_also_after_the_reader_paused(
    engine: Engine, tmp_path: Path,
) -> None:
    # Counts are handed over on the pipe's ticks while its reader reads. A reader that stops reading for a
    # while stops the ticks; when it reads on, its reads start them again, and the counts keep coming
    # before the run ends (a recorder shows a running run's counts from them).
    parts = [seq_output(1, 400_000), seq_output(400_001, 800_000)]
    for i, part in enumerate(parts):
        (tmp_path / f"part{i}").write_bytes(part)
    counter = _Counter()
    process = engine.get("t:native").exec(f"sh -c 'cat {tmp_path}/part0; cat {tmp_path}/part1; read a'")
    reader = process.stream("stdout")
    counter.subscribe(process)
    process.start()

    def read_exactly(size: int) -> bytes:
        out = b""
        while len(out) < size:
            chunk = reader.read(min(65536, size - len(out)), timeout=30)
            assert chunk, "no output"
            out += chunk
        return out

    def told() -> int:
        with counter.lock:
            return len(counter.kept) + counter.counted

    assert read_exactly(len(parts[0])) == parts[0]
    poll_until(lambda: told() == len(parts[0]), 30, "the counts of the first part", interval=0.001)
    pipe = process.buffer("stdout").direct
    assert pipe is not None
    poll_until(lambda: not pipe.ticking, 30, "the pipe to see its reader pause", interval=0.001)
    assert read_exactly(len(parts[1])) == parts[1]
    poll_until(lambda: told() == len(parts[0]) + len(parts[1]), 30, "the counts of the second part",
               interval=0.001)
    assert process.running  # told before the end, not at it
    process.write_stdin(b"a\n")
    assert read_all(reader) == b""
    assert process.wait_done(10)
    counter.check(parts[0] + parts[1])
