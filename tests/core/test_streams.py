"""Streams: independent readers, bounded memory with backpressure, nothing lost."""

from __future__ import annotations

import threading

import pytest

from tui.core.errors import ExecError
from tui.core.streams import MAX_READ, Cancelled, StreamBuffer


def fill(buffer: StreamBuffer, *chunks: bytes) -> None:
    for i, chunk in enumerate(chunks):
        buffer.append(chunk, i)


def test_each_reader_keeps_its_own_position() -> None:
    buffer = StreamBuffer("stdout", cap=1024)
    first, second = buffer.open_reader(), buffer.open_reader()
    fill(buffer, b"hello ", b"world")
    assert first.read(3) == b"hel"
    assert second.read() == b"hello world"
    assert first.read() == b"lo world"
    buffer.close()
    assert first.read() is None and second.read() is None


def test_a_read_returns_at_most_64_kib_and_defaults_to_32_kib() -> None:
    buffer = StreamBuffer("stdout", cap=1 << 20)
    reader = buffer.open_reader()
    fill(buffer, b"x" * 200_000)
    assert len(reader.read(1 << 20) or b"") == MAX_READ
    assert len(reader.read() or b"") == 32768
    assert len(reader.read(0) or b"") == 32768


def test_a_read_spans_several_small_chunks() -> None:
    buffer = StreamBuffer("stdout")
    reader = buffer.open_reader()
    fill(buffer, b"a", b"b", b"c")
    assert reader.read(10) == b"abc"


def test_a_read_waits_for_data_then_returns_at_least_one_byte() -> None:
    buffer = StreamBuffer("stdout")
    reader = buffer.open_reader()
    got: list[bytes | None] = []
    thread = threading.Thread(target=lambda: got.append(reader.read()))
    thread.start()
    fill(buffer, b"z")
    thread.join(5)
    assert got == [b"z"]


def test_a_read_with_a_timeout_returns_empty_bytes_when_nothing_came() -> None:
    reader = StreamBuffer("stdout").open_reader()
    assert reader.read(timeout=0.01) == b""


def test_a_cancelled_read_raises_cancelled() -> None:
    reader = StreamBuffer("stdout").open_reader()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        reader.read(cancel=cancel)


def test_a_lagging_reader_holds_the_writer_back_instead_of_losing_data() -> None:
    buffer = StreamBuffer("stdout", cap=10)
    reader = buffer.open_reader()
    fill(buffer, b"0123456789")
    blocked = threading.Event()
    released = threading.Event()

    def writer() -> None:
        blocked.set()
        buffer.wait_for_space()
        buffer.append(b"ABC", 99)
        released.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert blocked.wait(5)
    assert not released.wait(0.2)  # still blocked: the reader is a whole cap behind
    assert reader.read(4) == b"0123"
    assert released.wait(5)
    thread.join(5)
    assert reader.read() == b"456789ABC"
    assert buffer.dropped == 0


def test_without_pull_readers_the_buffer_keeps_the_latest_cap_bytes() -> None:
    buffer = StreamBuffer("stdout", cap=8)
    for i in range(10):
        buffer.wait_for_space()  # never blocks: nobody to wait for
        buffer.append(b"%d%d%d%d" % (i, i, i, i), i)
    buffer.close()
    late = buffer.open_reader()
    assert late.read() == b"88889999"
    assert buffer.dropped == 32


def test_closing_a_reader_releases_the_writer() -> None:
    buffer = StreamBuffer("stdout", cap=4)
    reader = buffer.open_reader()
    fill(buffer, b"1234")
    reader.close()
    buffer.wait_for_space()  # returns: no reader left to wait for


def test_a_second_close_and_a_read_after_close_are_errors() -> None:
    reader = StreamBuffer("stdout").open_reader()
    reader.close()
    with pytest.raises(ExecError, match="stream is closed"):
        reader.close()
    with pytest.raises(ExecError, match="stream is closed"):
        reader.read()


def test_a_reader_opened_late_starts_at_the_oldest_retained_byte() -> None:
    buffer = StreamBuffer("stdout", cap=100)
    early = buffer.open_reader()
    fill(buffer, b"abc", b"def")
    assert early.read(4) == b"abcd"
    late = buffer.open_reader()
    assert late.read() == b"def"  # the first chunk was consumed by every reader and let go
