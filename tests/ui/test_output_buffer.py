"""OutputBuffer: how raw output becomes the rows an operator reads."""

from __future__ import annotations

import pytest

from tui.ui.output_buffer import OutputBuffer, SearchError, expand_context


def rows(buffer: OutputBuffer) -> list[tuple[str, str, bool]]:
    return [(line.stream, line.text, line.partial) for line in map(buffer.line, range(len(buffer)))]


def test_a_line_split_across_chunks_is_one_line() -> None:
    buffer = OutputBuffer()
    for chunk in (b"hel", b"lo wo", b"rld\nsecond", b" line\n"):
        buffer.feed("stdout", chunk)
    assert rows(buffer) == [("stdout", "hello world", False), ("stdout", "second line", False)]
    assert buffer.lines_by_stream == {"stdout": 2, "stderr": 0}


def test_partial_lines_of_stdout_and_stderr_are_never_spliced() -> None:
    buffer = OutputBuffer()
    buffer.feed("stdout", b"out-a")
    buffer.feed("stderr", b"err-a")
    buffer.feed("stdout", b"out-b\n")
    assert rows(buffer) == [("stdout", "out-aout-b", False), ("stderr", "err-a", True)]
    buffer.feed("stderr", b"err-b\n")
    assert rows(buffer) == [("stdout", "out-aout-b", False), ("stderr", "err-aerr-b", False)]


def test_lines_appear_in_the_order_they_are_completed() -> None:
    buffer = OutputBuffer()
    buffer.feed("stdout", b"slow")
    buffer.feed("stderr", b"fast\n")
    buffer.feed("stdout", b"\n")
    assert [line.text for line in map(buffer.line, range(2))] == ["fast", "slow"]


def test_a_multibyte_character_split_across_chunks_decodes_whole() -> None:
    buffer = OutputBuffer()
    buffer.feed("stdout", "€uro\n".encode()[:2])
    buffer.feed("stdout", "€uro\n".encode()[2:])
    assert buffer.line(0).text == "€uro"


def test_carriage_return_progress_bar_shows_its_latest_state() -> None:
    buffer = OutputBuffer()
    for percent in range(0, 101):
        buffer.feed("stdout", f"\rprogress {percent:3d}%".encode())
    assert rows(buffer) == [("stdout", "progress 100%", True)]
    buffer.feed("stdout", b"\rdone\n")
    assert rows(buffer) == [("stdout", "doneress 100%", False)]


def test_crlf_line_endings_are_plain_newlines() -> None:
    buffer = OutputBuffer()
    buffer.feed("stdout", b"one\r\ntwo\r")
    buffer.feed("stdout", b"\n")
    assert [buffer.line(i).text for i in range(len(buffer))] == ["one", "two"]


def test_cursor_moves_clears_and_osc_are_stripped_and_colours_kept() -> None:
    buffer = OutputBuffer()
    buffer.feed(
        "stdout", b"\x1b[2J\x1b[H\x1b[31mred\x1b[0m \x1b[10;5Hmoved\x1b[K \x1b]0;title\x07end\x1b[?25l\n"
    )
    line = buffer.line(0)
    assert line.text == "\x1b[31mred\x1b[0m moved end"
    assert line.plain == "red moved end"


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        # Colours alone: every line as it came.
        ([b"\x1b[32mok\x1b[0m one\nplain two\n"], ["\x1b[32mok\x1b[0m one", "plain two"]),
        # A line with a bell, or with a cursor move, among coloured ones: that line cleaned, colours kept.
        ([b"\x1b[1mbold\x1b[0m\nring\x07\n"], ["\x1b[1mbold\x1b[0m", "ring\u2407"]),
        ([b"\x1b[1mbold\x1b[0m\n\x1b[2Kerased\n"], ["\x1b[1mbold\x1b[0m", "erased"]),
        # The control byte came in an earlier chunk, in the partial line.
        ([b"tab\x08", b"bed\n\x1b[31mred\x1b[0m\n"], ["tab\u2408bed", "\x1b[31mred\x1b[0m"]),
        # A colour split across chunks stays one colour.
        ([b"a\n\x1b[3", b"1mred\x1b[0m\n"], ["a", "\x1b[31mred\x1b[0m"]),
    ],
)
def test_coloured_chunks_keep_their_colours_and_anything_else_is_cleaned_per_line(
    chunks: list[bytes], expected: list[str],
) -> None:
    buffer = OutputBuffer()
    for chunk in chunks:
        buffer.feed("stdout", chunk)
    assert [buffer.line(i).text for i in range(len(buffer))] == expected


def test_binary_bytes_become_visible_and_never_raise() -> None:
    buffer = OutputBuffer()
    # Every byte but the two that end or rewind a line (newline, carriage return).
    buffer.feed("stdout", bytes(b for b in range(256) if b not in (10, 13)) + b"\n")
    assert len(buffer) == 1
    text = buffer.line(0).text
    assert "\ufffd" in text and "␇" in text and "␀" in text
    assert not any(ord(c) < 0x20 and c != "\x1b" for c in text)
    assert "\x1b" not in text  # the ESC byte there started no kept sequence


def test_a_megabyte_line_without_newline_is_kept_as_bounded_rows() -> None:
    buffer = OutputBuffer(max_line_chars=8192)
    for _ in range(256):
        buffer.feed("stdout", b"x" * 4096)
    assert all(len(buffer.line(i).text) <= 8192 for i in range(len(buffer)))
    assert len(buffer) == 128
    assert buffer.line(len(buffer) - 1).partial
    buffer.feed("stdout", b"\n")
    assert len(buffer.text()) == 1024 * 1024
    assert buffer.line(0).continued and not buffer.line(len(buffer) - 1).continued


def test_scrollback_is_bounded_and_counts_what_it_dropped() -> None:
    buffer = OutputBuffer(max_lines=100)
    buffer.feed("stdout", b"".join(b"line %d\n" % i for i in range(10_250)))
    assert len(buffer) == 100
    assert buffer.dropped_lines == 10_150
    assert buffer.line(0).text == "line 10150"
    assert buffer.lines_by_stream["stdout"] == 10_250


def test_counters_of_bytes_lines_and_version() -> None:
    buffer = OutputBuffer()
    version = buffer.version
    buffer.feed("stdout", b"a\nb\n")
    buffer.feed("stderr", b"oops\n")
    assert buffer.bytes_by_stream == {"stdout": 4, "stderr": 5}
    assert buffer.lines_by_stream == {"stdout": 2, "stderr": 1}
    assert buffer.version > version


def test_find_returns_every_match_with_offsets_in_plain_text() -> None:
    buffer = OutputBuffer()
    buffer.feed("stdout", b"an error\n\x1b[31mERROR\x1b[0m again error\nfine\n")
    assert buffer.find("error") == [(0, 3, 8), (1, 0, 5), (1, 12, 17)]
    assert buffer.find("error", case=True) == [(0, 3, 8), (1, 12, 17)]
    assert buffer.find(r"e\w+r$", regex=True) == [(0, 3, 8), (1, 12, 17)]


def test_an_invalid_regex_is_a_clear_search_error() -> None:
    buffer = OutputBuffer()
    with pytest.raises(SearchError, match="invalid regular expression"):
        buffer.find("(unclosed", regex=True)
    assert buffer.find("(unclosed") == []  # literal search: parentheses are plain characters


def test_filter_keeps_matching_lines_and_their_context() -> None:
    buffer = OutputBuffer()
    buffer.feed("stdout", b"".join(b"%d\n" % i for i in range(20)))
    assert buffer.filter("^1[05]$", context=0, regex=True) == [10, 15]
    assert buffer.filter("^1[05]$", context=2, regex=True) == [8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    assert expand_context([0, 19], 3, 20) == [0, 1, 2, 3, 16, 17, 18, 19]


def test_text_gives_plain_lines_of_both_streams() -> None:
    buffer = OutputBuffer()
    buffer.feed("stdout", b"\x1b[1mbold\x1b[0m\n")
    buffer.feed("stderr", b"warning\n")
    buffer.feed("stdout", b"partial")
    assert buffer.text() == "bold\nwarning\npartial"
    assert buffer.text([1]) == "warning"


def test_skipped_output_is_counted_and_marked_and_ends_the_partial_lines() -> None:
    buffer = OutputBuffer(max_lines=100)
    buffer.feed("stdout", b"first\npart")
    buffer.skip({"stdout": (500, 5000), "stderr": (3, 30)})
    buffer.feed("stdout", b"ial? no: next\n")
    texts = [buffer.plain(i) for i in range(len(buffer))]
    assert texts[:2] == ["first", "part"]
    assert "503 lines skipped" in texts[2]
    assert texts[3] == "ial? no: next"
    assert buffer.lines_by_stream == {"stdout": 502, "stderr": 3}
    assert (buffer.skipped_lines, buffer.dropped_lines) == (503, 0)
