"""Native pipes as only a real process shows them: a sole reader reads the pipe itself (no copy, no
thread hand-off), and subscribers or a second reader joining meanwhile miss nothing."""

from __future__ import annotations

import threading

from tests.core.support import read_all, seq_output
from tests.dockertools import poll_until
from tui.core.engine import Engine


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
