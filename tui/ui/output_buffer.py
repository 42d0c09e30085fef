"""The bounded line store behind an output pane: raw chunks in, clean display lines out.

Pure Python (no Textual, no Rich), so it is unit-tested on its own and usable by any reader of a process.

Contract of :class:`OutputBuffer`:

- ``feed(stream, data)`` takes raw bytes of stdout or stderr in arrival order. Each stream has its own
  partial line and its own incremental UTF-8 decoder, so interleaved chunks never splice a stdout line
  with a stderr line, and a multi-byte character split across chunks decodes whole. Invalid UTF-8 becomes
  U+FFFD; control bytes become visible pictures (see :mod:`tui.ui.line_text`).
- Lines appear in the order they are completed (their newline arrived). A partial line of each stream is
  shown after all complete lines, flagged ``partial``, in the order its first byte arrived.
- Very long lines: a line is stored as display rows of at most ``max_line_chars`` characters (default
  8,192). Every row but the last of such a line is flagged ``continued``; :meth:`text` joins them back
  without a newline, so copy and save give the line whole. A 1 MB line without a newline is therefore 128
  rows, cut while it streams, never a 1 MB string re-scanned on every chunk. Search and filter work per row:
  a match that spans a cut is not found. A ``\\r`` after a cut overwrites only the current row.
- Scrollback is bounded: at most ``max_lines`` complete rows are kept (default: the scrollback setting); older rows are
  dropped and counted in ``dropped_lines``. Row indices (``line(i)``, search results) count from the oldest
  row kept; ``dropped_lines + i`` is a row's number since the start, stable across drops.
- ``version`` increases on every change, so a widget can tell whether to redraw.
- Rows keep their ANSI SGR sequences raw; parsing them into styles is left to the renderer, lazily.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tui.ui.line_text import (
    ESCAPE_NOT_SGR,
    NEEDS_CLEANING_BEYOND_SGR,
    NOT_CONTROL_BYTES,
    clean_line,
    split_rows,
    strip_sgr,
)
from tui.ui.settings import DEFAULT_SCROLLBACK

Stream = Literal["stdout", "stderr"]
STREAMS: tuple[Stream, Stream] = ("stdout", "stderr")

_STDERR = 1
_CONTINUED = 2


class SearchError(ValueError):
    """A search or filter pattern that cannot be used; ``str(err)`` is a message for the operator."""


@dataclass(frozen=True, slots=True)
class Line:
    """One display row of the buffer."""

    stream: Stream
    """Where it came from."""
    text: str
    """Cleaned text; may hold ANSI SGR sequences, nothing else that a terminal interprets."""
    continued: bool = False
    """The line goes on in the next row (it was longer than ``max_line_chars``)."""
    partial: bool = False
    """No newline yet: the row may still change."""

    @property
    def plain(self) -> str:
        """The text as the operator reads it, SGR sequences removed."""
        return strip_sgr(self.text)


class OutputBuffer:
    """Bounded, line-split, cleaned output of one run. Not thread-safe: feed it from one thread."""

    def __init__(self, max_lines: int = DEFAULT_SCROLLBACK, max_line_chars: int = 8_192) -> None:
        if max_lines < 1 or max_line_chars < 64:
            raise ValueError("max_lines must be >= 1 and max_line_chars >= 64")
        self.max_lines = max_lines
        """How many complete rows are kept before the oldest are dropped."""
        self.max_line_chars = max_line_chars
        """Longest display row; longer lines are cut into ``continued`` rows."""
        self.dropped_lines = 0
        """Rows dropped from the start to respect ``max_lines``."""
        self.skipped_lines = 0
        """Lines let go before they reached the buffer (see :meth:`skip`); not rows of it."""
        self.version = 0
        """Increases on every change of the content."""
        self.max_width = 0
        """Length in characters of the longest row seen (an upper bound of its cell width)."""
        self.bytes_by_stream: dict[Stream, int] = dict.fromkeys(STREAMS, 0)
        """Raw bytes received per stream."""
        self.lines_by_stream: dict[Stream, int] = dict.fromkeys(STREAMS, 0)
        """Newline-terminated lines received per stream (dropped ones included)."""
        # Complete rows live in two parallel lists from index ``_start``; dropping advances ``_start``
        # and the lists are compacted now and then, so a drop costs O(1) amortised.
        self._texts: list[str] = []
        self._flags: list[int] = []
        self._start = 0
        self._partial: dict[Stream, str] = dict.fromkeys(STREAMS, "")
        self._partial_order: list[Stream] = []
        self._decoders = {s: codecs.getincrementaldecoder("utf-8")(errors="replace") for s in STREAMS}

    # -- feeding -----------------------------------------------------------------------------------

    def feed(self, stream: Stream, data: bytes) -> None:
        """Add a raw chunk of ``stream``. Never raises on any content."""
        if not data:
            return
        self.bytes_by_stream[stream] += len(data)
        text = self._decoders[stream].decode(data)
        if text:
            self._add_text(stream, text, controls=bool(data.translate(None, NOT_CONTROL_BYTES)))

    def skip(self, skipped: dict[Stream, tuple[int, int]]) -> None:
        """Account for output let go before it reached this buffer (``{stream: (lines, bytes)}``).

        The counters still count it, a marker row says how many lines are missing here, and the
        partial lines are ended: the output that completed them is gone.
        """
        total = 0
        for stream, (lines, size) in skipped.items():
            self.bytes_by_stream[stream] += size
            self.lines_by_stream[stream] += lines
            total += lines
        for stream in list(self._partial_order):
            pending = self._partial[stream]
            self._partial[stream] = ""
            if pending:
                self._append_rows(_STDERR if stream == "stderr" else 0, clean_line(pending), ends_line=True)
        self._partial_order.clear()
        self._append_rows(0, f"\x1b[2m⋯ {total:,} lines skipped: output came faster than the pane could show it\x1b[0m",
                          ends_line=True)
        self.skipped_lines += total
        self.version += 1
        self._trim()

    def close(self) -> None:
        """End of both streams: flush the decoders; partial lines stay partial."""
        for stream in STREAMS:
            text = self._decoders[stream].decode(b"", final=True)
            if text:
                self._add_text(stream, text)

    def _add_text(self, stream: Stream, text: str, controls: bool = True) -> None:
        """Add decoded ``text``; ``controls`` False says it holds no control byte but tab, newline and ESC."""
        self.version += 1
        partial = self._partial[stream]
        pending = partial + text
        if "\n" in text:
            plain = (
                not controls
                and "\t" not in pending
                and (not partial or NEEDS_CLEANING_BEYOND_SGR.search(partial) is None)
                and ESCAPE_NOT_SGR.search(pending) is None
            )
            pieces = pending.split("\n")
            pending = pieces.pop()
            self.lines_by_stream[stream] += len(pieces)
            self._append_lines(stream, pieces, plain)
        if pending:
            if "\r" in pending:
                pending = self._compact_carriage_returns(pending)
            if len(pending) > self.max_line_chars:
                pending = self._cut_long_partial(stream, pending)
            if stream not in self._partial_order:
                self._partial_order.append(stream)
        elif stream in self._partial_order:
            self._partial_order.remove(stream)
        self._partial[stream] = pending
        self._trim()

    def _append_lines(self, stream: Stream, pieces: list[str], plain: bool) -> None:
        """Append completed lines; ``plain`` says none of them holds a tab, a control byte or an escape
        other than SGR (colours are kept raw for the renderer)."""
        flag = _STDERR if stream == "stderr" else 0
        longest = max(map(len, pieces))
        # Fast path, the common case of plain or coloured text: no per-line work beyond a C-level extend.
        if plain and longest <= self.max_line_chars:
            self._texts.extend(pieces)
            self._flags.extend([flag] * len(pieces))
            self.max_width = max(self.max_width, longest)
            return
        needs_cleaning = NEEDS_CLEANING_BEYOND_SGR.search
        limit = self.max_line_chars
        for piece in pieces:
            if needs_cleaning(piece) is None and "\t" not in piece and len(piece) <= limit:
                self._texts.append(piece)
                self._flags.append(flag)
            else:
                self._append_rows(flag, clean_line(piece))
        self.max_width = max(self.max_width, min(longest, limit))

    def _append_rows(self, flag: int, cleaned: str, ends_line: bool = True) -> None:
        rows = split_rows(cleaned, self.max_line_chars) if len(cleaned) > self.max_line_chars else [cleaned]
        last = len(rows) - 1
        for n, row in enumerate(rows):
            self._texts.append(row)
            self._flags.append(flag | (_CONTINUED if n < last or not ends_line else 0))
            self.max_width = max(self.max_width, len(row))

    @staticmethod
    def _compact_carriage_returns(pending: str) -> str:
        # Keep a partial progress bar short: resolve everything before the last "\r" now. The tail from
        # that "\r" stays raw, since the next chunk may continue an escape sequence or pair "\r" with "\n".
        cut = pending.rfind("\r")
        return clean_line(pending[:cut]) + pending[cut:] if cut > 0 else pending

    def _cut_long_partial(self, stream: Stream, pending: str) -> str:
        # An escape sequence may be split at the chunk boundary: keep it raw for the next chunk.
        keep_from = len(pending)
        esc = pending.rfind("\x1b", max(0, keep_from - 64))
        if esc != -1:
            keep_from = esc
        cleaned = clean_line(pending[:keep_from])
        rows = split_rows(cleaned, self.max_line_chars)
        tail = rows.pop()
        flag = _STDERR if stream == "stderr" else 0
        for row in rows:
            self._append_rows(flag, row, ends_line=False)
        return tail + pending[keep_from:]

    def _trim(self) -> None:
        excess = len(self._texts) - self._start - self.max_lines
        if excess <= 0:
            return
        self._start += excess
        self.dropped_lines += excess
        if self._start > 4096 and self._start * 2 > len(self._texts):
            del self._texts[: self._start]
            del self._flags[: self._start]
            self._start = 0

    # -- reading -----------------------------------------------------------------------------------

    @property
    def complete_count(self) -> int:
        """Rows that will not change any more (the partial rows follow them)."""
        return len(self._texts) - self._start

    def __len__(self) -> int:
        """Rows to show: complete rows, then the partial row of each stream that has one."""
        return len(self._texts) - self._start + len(self._partial_order)

    def line(self, index: int) -> Line:
        """Row ``index`` (0 is the oldest row kept). Raises ``IndexError`` outside ``0 <= index < len``."""
        complete = self.complete_count
        if 0 <= index < complete:
            flags = self._flags[self._start + index]
            stream: Stream = "stderr" if flags & _STDERR else "stdout"
            return Line(stream, self._texts[self._start + index], bool(flags & _CONTINUED))
        if complete <= index < len(self):
            stream = self._partial_order[index - complete]
            raw = self._partial[stream]
            esc = raw.rfind("\x1b", max(0, len(raw) - 64))
            shown = raw[:esc] if esc != -1 else raw  # an escape may still be arriving
            return Line(stream, clean_line(shown), partial=True)
        raise IndexError(index)

    def plain(self, index: int) -> str:
        """The text of row ``index`` without SGR sequences (cheaper than ``line(index).plain``)."""
        if 0 <= index < self.complete_count:
            return strip_sgr(self._texts[self._start + index])
        return self.line(index).plain

    # -- search, filter, copy ------------------------------------------------------------------------

    @staticmethod
    def compile(pattern: str, regex: bool = False, case: bool = False) -> re.Pattern[str]:
        """Compile a search pattern. ``case`` means case-sensitive. Raises :class:`SearchError`."""
        if not pattern:
            raise SearchError("empty search pattern")
        try:
            return re.compile(pattern if regex else re.escape(pattern), 0 if case else re.IGNORECASE)
        except re.error as err:
            raise SearchError(f"invalid regular expression {pattern!r}: {err}") from None

    def find(
        self, pattern: str, regex: bool = False, case: bool = False, start: int = 0
    ) -> list[tuple[int, int, int]]:
        """Every match as ``(row_index, start, end)``, offsets in the row's plain text, from row ``start``.

        Raises :class:`SearchError` for an empty pattern or an invalid regular expression.
        """
        return self.spans(self.compile(pattern, regex, case), start)

    def spans(
        self, compiled: re.Pattern[str], start: int = 0, stop: int | None = None
    ) -> list[tuple[int, int, int]]:
        """Non-empty matches of ``compiled`` as ``(row_index, start, end)`` in rows ``start`` to ``stop``."""
        found: list[tuple[int, int, int]] = []
        for index in self.matching_lines(compiled, start, stop):
            spans = (m.span() for m in compiled.finditer(self.plain(index)))
            found.extend((index, begin, end) for begin, end in spans if end > begin)
        return found

    def matching_lines(self, compiled: re.Pattern[str], start: int = 0, stop: int | None = None) -> list[int]:
        """Indices of the rows from ``start`` to ``stop`` (default: all, partial ones too) that match."""
        stop = len(self) if stop is None else min(stop, len(self))
        complete = self.complete_count
        search = compiled.search
        hits: list[int] = []
        base = self._start
        texts = self._texts
        for index in range(max(0, start), min(stop, complete)):
            text = texts[base + index]
            if search(strip_sgr(text) if "\x1b" in text else text):
                hits.append(index)
        hits.extend(i for i in range(max(start, complete), stop) if search(self.line(i).plain))
        return hits

    def filter(self, pattern: str, context: int = 0, regex: bool = False, case: bool = False) -> list[int]:
        """Indices of the rows to show for a filter: every matching row plus ``context`` rows around it.

        Raises :class:`SearchError` like :meth:`find`.
        """
        hits = self.matching_lines(self.compile(pattern, regex, case))
        return expand_context(hits, context, len(self))

    def text(self, lines: Iterable[int] | None = None) -> str:
        """Plain text of the given rows (default all) for copy and save: SGR removed, stderr included.

        Rows are joined by newlines, except that a ``continued`` row is joined to the next one directly.
        No trailing newline.
        """
        indices = range(len(self)) if lines is None else lines
        parts: list[str] = []
        for index in indices:
            line = self.line(index)
            parts.append(line.plain)
            parts.append("" if line.continued else "\n")
        if parts and parts[-1] == "\n":
            parts.pop()
        return "".join(parts)


def expand_context(hits: list[int], context: int, total: int) -> list[int]:
    """Sorted, unique indices within ``[0, total)`` that are within ``context`` rows of a hit."""
    if context <= 0:
        return [h for h in hits if 0 <= h < total]
    shown: list[int] = []
    next_free = 0
    for hit in hits:
        low = max(next_free, hit - context, 0)
        high = min(hit + context + 1, total)
        shown.extend(range(low, high))
        next_free = max(next_free, high)
    return shown
