"""The command line's own outputs (tui/cli/output.py) on real pipes: what every subcommand relies on when
the reader of its output is slow or goes away."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import pytest

from tui.cli.output import Output


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_a_write_into_a_pipe_without_reader_reports_the_reader_gone_once_and_for_all(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    output = Output(write_end)
    heard: list[str] = []
    output.when_gone(lambda: heard.append("gone"))
    assert output.write(b"taken\n") and not output.gone
    os.close(read_end)
    assert output.write(b"lost\n") is False
    assert output.gone and heard == ["gone"]
    assert output.write(b"again\n") is False and heard == ["gone"]
    # The descriptor now leads nowhere: a later plain write (a print, the interpreter's last flush) succeeds.
    assert os.write(write_end, b"x") == 1
    late: list[str] = []
    output.when_gone(lambda: late.append("late"))
    assert late == ["late"], "a callback registered after the fact runs at once"


def test_a_cancelled_callback_is_not_called(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    output = Output(write_end)
    heard: list[str] = []
    cancel = output.when_gone(lambda: heard.append("gone"))
    cancel()
    os.close(read_end)
    assert output.write(b"lost\n") is False
    assert heard == []


def test_check_gone_asks_the_descriptor_and_leaves_a_live_pipe_alone(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    output = Output(write_end)
    assert output.check_gone() is False
    os.close(read_end)
    assert output.check_gone() is True and output.gone


def test_a_slow_reader_of_a_non_blocking_descriptor_still_gets_every_byte(pipe: tuple[int, int]) -> None:
    # A descriptor shared with a program that made it non-blocking: the write waits rather than fails.
    read_end, write_end = pipe
    os.set_blocking(write_end, False)
    data = os.urandom(1024 * 1024)  # far more than the pipe holds
    received = bytearray()

    def read_slowly() -> None:
        while len(received) < len(data):
            chunk = os.read(read_end, 4096)
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read_slowly, daemon=True)
    reader.start()
    assert Output(write_end).write(data)
    reader.join(30)
    assert not reader.is_alive(), "the reader did not get everything within 30s"
    assert bytes(received) == data
