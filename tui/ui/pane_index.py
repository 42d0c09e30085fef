"""Incremental search and filter over a growing :class:`OutputBuffer` (pure Python, no Textual).

Both indexes remember rows by *number* (index + ``dropped_lines``), which stays valid while old rows are
dropped, and scan only the rows completed since their last :meth:`update`, so a search or a filter stays
live on a streaming run at the cost of the new rows only.
"""

from __future__ import annotations

import bisect
import re

from tui.ui.output_buffer import OutputBuffer, expand_context


class SearchIndex:
    """Every match of one pattern in the complete rows, and the match the operator moved to."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        """The compiled search."""
        self.matches: list[tuple[int, int, int]] = []
        """``(row number, start, end)`` in order; offsets in the row's plain text."""
        self.position = -1
        """Index in :attr:`matches` of the current match, -1 before the first move."""
        self._scanned = 0

    def update(self, buffer: OutputBuffer) -> None:
        """Scan the rows completed since the last call; forget matches in dropped rows."""
        dropped, complete = buffer.dropped_lines, buffer.complete_count
        found = buffer.spans(self.pattern, self._scanned - dropped, complete)
        self.matches.extend((index + dropped, start, end) for index, start, end in found)
        self._scanned = dropped + complete
        if self.matches and self.matches[0][0] < dropped:
            cut = bisect.bisect_left(self.matches, (dropped, -1, -1))
            del self.matches[:cut]
            self.position = max(-1, self.position - cut)

    @property
    def current(self) -> tuple[int, int, int] | None:
        """The current match, or None."""
        return self.matches[self.position] if self.position >= 0 else None

    def move(self, step: int, from_number: int) -> tuple[int, int, int] | None:
        """Go to the next (``step`` 1) or previous (-1) match, wrapping; the first move starts at row
        ``from_number``. Returns the new current match, None when there is none."""
        if not self.matches:
            return None
        if self.position < 0:
            here = bisect.bisect_left(self.matches, (from_number, -1, -1))
            self.position = (here if step > 0 else here - 1) % len(self.matches)
        else:
            self.position = (self.position + step) % len(self.matches)
        return self.matches[self.position]


class FilterIndex:
    """The rows a filter shows: matching complete rows with ``context`` rows around, then matching
    partial rows."""

    def __init__(self, pattern: re.Pattern[str], context: int) -> None:
        self.pattern = pattern
        """The compiled filter."""
        self.context = max(0, context)
        """Rows shown before and after each match."""
        self._hits: list[int] = []  # row numbers of matching complete rows
        self._scanned = 0

    def update(self, buffer: OutputBuffer) -> list[int]:
        """Scan the rows completed since the last call; return the buffer indices to show, in order."""
        dropped, complete = buffer.dropped_lines, buffer.complete_count
        new_hits = buffer.matching_lines(self.pattern, self._scanned - dropped, complete)
        self._hits.extend(index + dropped for index in new_hits)
        self._scanned = dropped + complete
        del self._hits[: bisect.bisect_left(self._hits, dropped - self.context)]
        rows = expand_context([hit - dropped for hit in self._hits], self.context, complete)
        rows.extend(buffer.matching_lines(self.pattern, complete))
        return rows
