"""The output pane: live stdout and stderr of one run, rendered line by line from an :class:`OutputBuffer`.

Feeding contract (what the app does):

- ``pane.append(stream, data)`` from any thread (a process reader): it only enqueues the bytes.
- While output is queued, a timer on the UI thread drains it into the buffer in short steps (a few ms
  of work every ~12 ms, so keys stay answered however fast a process prints), and the pane is redrawn
  at most every 100 ms. The timer sleeps while the queue is empty.
- ``pane.finish(then)`` (the run ended) drains what is queued in back-to-back steps, then calls
  ``then``; ``pane.flush()`` drains it at once (both on the UI thread).

Only the visible rows are rendered (``render_line``), each parsed for ANSI colours lazily and kept in an
LRU cache of strips. The pane posts no message per line; the app reads :attr:`status` (a reactive) or the
messages below, which the app connects to the process.
"""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from tui.ui.output_buffer import OutputBuffer, Stream
from tui.ui.pane_index import FilterIndex, SearchIndex
from tui.ui.settings import DEFAULT_SCROLLBACK
from tui.ui.widgets.output_render import GUTTER_WIDTH, RowStyles, render_content, render_gutter

DRAIN_SLICE = 0.004
"""Seconds of feeding per drain step at most: a key waits for one step at worst, never for a backlog."""
DRAIN_STEP = 0.012
"""Seconds between two drain steps while output is queued: a third of the UI thread at most goes to
feeding; the rest stays for keys, screen updates, and the thread reading the process, which needs the
interpreter lock too (starved of it, the process blocks on a full pipe and the stream slows down)."""
REDRAW_INTERVAL = 0.1
"""While output keeps coming, the pane is redrawn at most this often: a redraw renders every visible
row anew (10-20 ms of the UI thread with the screen around it), and nobody reads a flood at more than
ten frames a second. Once the queue is empty, at once."""
PIECE = 16384
"""Bytes per queued piece: the unit of work of a drain step (~300 lines, a fraction of a millisecond)."""
QUEUE_SLACK_LINES = 10_000
"""Lines queued beyond the scrollback size before the oldest queued output is let go."""


@dataclass(frozen=True)
class PaneStatus:
    """What a status line shows about the pane; equal values mean nothing to redraw."""

    following: bool = True
    """Sticking to the end of the output."""
    unseen: int = 0
    """Rows that arrived since following paused."""
    rows: int = 0
    """Rows kept in the buffer."""
    dropped: int = 0
    """Rows dropped from the start (bounded scrollback)."""
    skipped: int = 0
    """Lines let go before they reached the pane (the process wrote faster than it could show)."""
    match_position: int = 0
    """1-based position of the current match, 0 for none."""
    match_count: int = 0
    """Matches of the active search in complete rows."""
    filtered: int | None = None
    """Rows shown by the active filter, None without a filter."""


class OutputPane(ScrollView, can_focus=True):
    """Scrollable, searchable, filterable output of one run. See the module docstring for feeding."""

    ALLOW_SELECT = True
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "output-pane--stdout",
        "output-pane--stderr",
        "output-pane--gutter",
        "output-pane--stderr-gutter",
        "output-pane--search-hit",
        "output-pane--search-current",
        "output-pane--cursor",
    }
    DEFAULT_CSS = """
    OutputPane {
        background: $surface;
        color: $execdeck-stdout;
        overflow: auto auto;
        & > .output-pane--stdout { color: $execdeck-stdout; }
        & > .output-pane--stderr { color: $execdeck-stderr; }
        & > .output-pane--gutter { color: $execdeck-gutter; }
        & > .output-pane--stderr-gutter { color: $execdeck-stderr; }
        & > .output-pane--search-hit { background: $execdeck-search-hit; color: $execdeck-search-hit-text; }
        & > .output-pane--search-current {
            background: $execdeck-search-current; color: $execdeck-search-hit-text; text-style: bold;
        }
        & > .output-pane--cursor { background: $execdeck-cursor-line; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "top", "Top", show=False),
        Binding("end,G", "follow", "Follow"),
        Binding("n", "next_match", "Next match"),
        Binding("N", "previous_match", "Prev match"),
        Binding("v", "mark", "Mark"),
        Binding("y", "copy_lines", "Copy line/marked"),
        Binding("Y", "copy_all", "Copy all"),
    ]

    status: var[PaneStatus] = var(PaneStatus())
    """Follow state, unseen rows, drops, search position and filter size; watch it for a status line."""

    class StdinLine(Message):
        """The operator submitted a line for the process's stdin (``text`` has no newline)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class EndOfInput(Message):
        """The operator asked to close the process's stdin."""

    class SignalRequest(Message):
        """The operator asked to send signal ``signum`` (``signal.SIGINT`` etc.) to the process."""

        def __init__(self, signum: int) -> None:
            super().__init__()
            self.signum = signum

    def __init__(
        self, max_lines: int = DEFAULT_SCROLLBACK, *, name: str | None = None, id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.buffer = OutputBuffer(max_lines=max_lines)
        """The rows; read it freely on the UI thread, feed it only through :meth:`append`."""
        self._queue: deque[tuple[Stream, bytes, int]] = deque()
        self._queue_lock = threading.Lock()
        self._queued_lines = 0
        self._draining = False  # the drain timer runs, or was asked to (under the lock)
        self._finishing = False
        self._when_finished: list[Callable[[], None]] = []
        self._drain_timer: Timer | None = None
        self._next_redraw = 0.0
        # Output let go before it reached the buffer: (lines, bytes) per stream, reported at the next drain.
        self._skipped: dict[Stream, tuple[int, int]] = {}
        # Finished strips of complete rows, keyed by everything that changes how a row looks.
        self._cache: LRUCache[tuple[int, int, int, int, int, bool], Strip] = LRUCache(1024)
        self._styles: RowStyles | None = None  # read from the theme once, until the styles change
        self._cursor = 0  # view row
        self._mark: int | None = None  # row number (index + dropped) of the mark
        self._following = True
        self._unseen = 0
        self._seen_rows = 0
        self._seen_dropped = 0
        self._moving_cursor = False  # our own scrolling must not resume following
        self._search: SearchIndex | None = None
        self._search_generation = 0  # bumped whenever highlights change, part of the strip cache key
        self._filter: FilterIndex | None = None
        self._rows: list[int] | None = None  # buffer indices shown under a filter

    # -- feeding -----------------------------------------------------------------------------------

    def append(self, stream: Stream, data: bytes) -> None:
        """Queue a chunk of output. Safe from any thread; touches nothing but the queue.

        Chunks are cut into pieces of :data:`PIECE` bytes so that one drain step stays short (a reader
        hands over up to 1 MiB at once, some 18,000 lines: parsing that in one go held the event loop
        for ~80 ms). When the queue holds more lines than the scrollback keeps, the oldest queued
        pieces are let go: the scrollback would drop them anyway, and memory stays flat however fast
        the process writes. The pane then shows how many lines it skipped.
        """
        with self._queue_lock:
            queue = self._queue
            for start in range(0, len(data), PIECE):
                piece = data[start:start + PIECE] if len(data) > PIECE else data
                lines = piece.count(b"\n")
                queue.append((stream, piece, lines))
                self._queued_lines += lines
            limit = self.buffer.max_lines + QUEUE_SLACK_LINES
            while self._queued_lines > limit and len(queue) > 1:
                old_stream, old, lines = queue.popleft()
                self._queued_lines -= lines
                skipped_lines, skipped_bytes = self._skipped.get(old_stream, (0, 0))
                self._skipped[old_stream] = (skipped_lines + lines, skipped_bytes + len(old))
            wake, self._draining = not self._draining, True
        if wake:
            # post_message underneath: the one way in from another thread.
            self.call_later(self._start_draining)

    def on_mount(self) -> None:
        self._drain_timer = self.set_interval(DRAIN_STEP, self._drain_steps, pause=not self._draining)

    def _start_draining(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.resume()

    def flush(self) -> None:
        """Drain everything queued now (UI thread only)."""
        self._drain(budget=None)

    def finish(self, then: Callable[[], None] | None = None) -> None:
        """The run ended: drain what is queued in steps one after the other rather than at the pace of
        a flood (nothing more will come, so the reading thread needs no room). The last lines show
        sooner, and a key still waits for one step at worst. ``then`` runs once everything queued is in
        the pane, at once if nothing is (UI thread only)."""
        self._finishing = True
        if then is not None:
            self._when_finished.append(then)
        if self._queue:
            self._start_draining()
        else:
            self._finished()

    def _finished(self) -> None:
        callbacks, self._when_finished = self._when_finished, []
        for callback in callbacks:
            callback()

    async def _drain_steps(self) -> None:
        # The drain timer's own task: waiting here holds up no widget's messages.
        if self._skipped and not self._finishing and time.monotonic() < self._next_redraw:
            # The queue overflowed since the last step: output comes faster than the pane takes it, and
            # what waits at the head of the queue is dropped by the scrollback anyway once the rest is
            # in. Feed only what the next redraw shows; the run's end feeds the rest.
            return
        self._drain()
        if not self._finishing:
            return
        while self._queue:
            await asyncio.sleep(0)  # the rest of the console runs between two steps
            self._drain()
        self._finished()

    def _drain(self, budget: float | None = DRAIN_SLICE) -> None:
        deadline = None if budget is None else time.perf_counter() + budget
        feed = self.buffer.feed
        queue = self._queue
        fed = False
        while True:
            with self._queue_lock:
                if not queue:
                    self._draining = False
                    if self._drain_timer is not None:
                        self._drain_timer.pause()  # until append() wakes it
                    break
                if self._skipped:
                    skipped, self._skipped = self._skipped, {}
                    self.buffer.skip(skipped)
                stream, data, lines = queue.popleft()
                self._queued_lines -= lines
            feed(stream, data)
            fed = True
            if deadline is not None and time.perf_counter() > deadline:
                break
        now = time.monotonic()
        if fed and (not queue or now >= self._next_redraw):
            self._next_redraw = now + REDRAW_INTERVAL
            self._content_changed()

    def _content_changed(self) -> None:
        buffer = self.buffer
        total = len(buffer) + buffer.dropped_lines
        added = max(0, total - self._seen_rows)
        self._seen_rows = total
        if self._search is not None:
            self._search.update(buffer)
        if self._filter is not None:
            self._rows = self._filter.update(buffer)
        rows = self.row_count
        dropped_now = buffer.dropped_lines - self._seen_dropped
        self._seen_dropped = buffer.dropped_lines
        if self._following:
            self._cursor = max(0, rows - 1)
        else:
            self._unseen += added
            if dropped_now and self._rows is None:
                # Rows moved up by the drop: keep the operator looking at the same output.
                self._cursor = max(0, self._cursor - dropped_now)
                self._scroll_quietly(max(0, int(self.scroll_y) - dropped_now))
            self._cursor = min(self._cursor, max(0, rows - 1))
        self._set_virtual_size(Size(buffer.max_width + GUTTER_WIDTH, rows))
        if self._following:
            self.scroll_end(animate=False, immediate=True, force=True, x_axis=False)
        self.refresh()
        self._update_status()

    # -- rows ----------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows shown: all rows, or those of the active filter."""
        return len(self.buffer) if self._rows is None else len(self._rows)

    def index_of_row(self, row: int) -> int | None:
        """The buffer index shown at view row ``row``, or None past the end."""
        if row < 0:
            return None
        if self._rows is None:
            return row if row < len(self.buffer) else None
        return self._rows[row] if row < len(self._rows) else None

    def _row_of_index(self, index: int) -> int:
        """The view row showing buffer index ``index`` (the nearest one after it under a filter)."""
        return index if self._rows is None else bisect.bisect_left(self._rows, index)

    @property
    def cursor_row(self) -> int:
        """The current view row (what ``y`` copies and where ``n`` searches from)."""
        return self._cursor

    @property
    def following(self) -> bool:
        """True while the pane sticks to the end of the output."""
        return self._following

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        row = scroll_y + y
        index = self.index_of_row(row)
        if index is None:
            return Strip.blank(width, self._row_styles().base)
        number = index + self.buffer.dropped_lines
        selection = self.text_selection
        selection_span = selection.get_span(row) if selection is not None else None
        highlighted = (row == self._cursor and self.has_focus) or self._in_mark(number)
        key = (number, row, self._search_generation, scroll_x, width, highlighted)
        cached = self._cache.get(key) if selection_span is None else None
        if cached is not None:
            return cached
        line = self.buffer.line(index)
        styles = self._row_styles()
        pattern, span = None, None
        if self._search is not None:
            pattern, current = self._search.pattern, self._search.current
            span = (current[1], current[2]) if current is not None and current[0] == number else None
        content = render_content(line, styles, self.app.console, pattern, span, selection_span)
        content = content.crop_extend(scroll_x, scroll_x + width - GUTTER_WIDTH, styles.base)
        content = content.apply_offsets(scroll_x, row)
        strip = Strip.join([render_gutter(line, styles), content])
        if highlighted:
            strip = strip.apply_style(styles.cursor)
        if not line.partial and selection_span is None:
            self._cache[key] = strip
        return strip

    def _in_mark(self, number: int) -> bool:
        if self._mark is None:
            return False
        cursor_index = self.index_of_row(self._cursor)
        if cursor_index is None:
            return False
        low, high = sorted((self._mark, cursor_index + self.buffer.dropped_lines))
        return low <= number <= high

    def _row_styles(self) -> RowStyles:
        if self._styles is not None:
            return self._styles
        style = self.get_component_rich_style
        self._styles = RowStyles(
            base=self.rich_style,
            stdout=style("output-pane--stdout", partial=True),
            stderr=style("output-pane--stderr", partial=True),
            gutter=style("output-pane--gutter", partial=True),
            stderr_gutter=style("output-pane--stderr-gutter", partial=True),
            search_hit=style("output-pane--search-hit", partial=True),
            search_current=style("output-pane--search-current", partial=True),
            cursor=style("output-pane--cursor", partial=True),
            selection=self.screen.get_component_rich_style("screen--selection"),
        )
        return self._styles

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None  # a new theme: every cached style and strip has old colours
        self._cache.clear()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- follow and cursor -------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Scrolling up by any means (wheel, scrollbar, keys) pauses; reaching the end resumes.
        if self._moving_cursor:
            return
        if new_value < old_value and new_value < self.max_scroll_y:
            self._set_following(False)
        elif new_value >= self.max_scroll_y and new_value > old_value:
            self._set_following(True)

    def _set_following(self, following: bool) -> None:
        if following == self._following:
            return
        self._following = following
        if following:
            self._unseen = 0
            self._cursor = max(0, self.row_count - 1)
        self._update_status()

    def action_follow(self) -> None:
        """Resume following: jump to the end and stick to it."""
        self._set_following(True)
        self._cursor = max(0, self.row_count - 1)
        self.scroll_end(animate=False, immediate=True, force=True, x_axis=False)
        self.refresh()

    def action_top(self) -> None:
        self.move_cursor_to(0)

    def action_cursor(self, delta: int) -> None:
        """Move the cursor ``delta`` rows; moving up pauses following, moving past the end resumes."""
        target = self._cursor + delta
        if target >= self.row_count and delta > 0:
            self.action_follow()
            return
        self.move_cursor_to(target)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def move_cursor_to(self, row: int) -> None:
        """Put the cursor on view row ``row`` (clamped), pause following, and scroll it into view."""
        self._set_following(False)
        self._cursor = max(0, min(row, self.row_count - 1))
        height = self.scrollable_content_region.height
        if self._cursor < self.scroll_y:
            self._scroll_quietly(self._cursor)
        elif self._cursor >= self.scroll_y + height:
            self._scroll_quietly(self._cursor - height + 1)
        self.refresh()

    def _scroll_quietly(self, y: int) -> None:
        """Scroll to ``y`` without the follow logic of :meth:`watch_scroll_y` (our own move)."""
        self._moving_cursor = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True, force=True)
        finally:
            self._moving_cursor = False

    def on_click(self, event: events.Click) -> None:
        self.move_cursor_to(int(self.scroll_y) + event.y)

    # -- search --------------------------------------------------------------------------------------

    def search(self, pattern: str, regex: bool = False, case: bool = False) -> int:
        """Highlight every match of ``pattern``; returns the match count in complete rows.

        ``case`` means case-sensitive. Raises :class:`~tui.ui.output_buffer.SearchError`.
        """
        self._search = SearchIndex(OutputBuffer.compile(pattern, regex, case))
        self._search.update(self.buffer)
        self._search_generation += 1
        self.refresh()
        self._update_status()
        return len(self._search.matches)

    def clear_search(self) -> None:
        """Remove the highlights and the match list."""
        self._search = None
        self._search_generation += 1
        self.refresh()
        self._update_status()

    def action_next_match(self) -> None:
        self._move_match(1)

    def action_previous_match(self) -> None:
        self._move_match(-1)

    def _move_match(self, step: int) -> None:
        if self._search is None:
            return
        cursor_index = self.index_of_row(self._cursor) or 0
        match = self._search.move(step, cursor_index + self.buffer.dropped_lines)
        if match is None:
            return
        self._search_generation += 1  # the current-match highlight moved
        self.move_cursor_to(self._row_of_index(match[0] - self.buffer.dropped_lines))
        self._update_status()

    # -- filter --------------------------------------------------------------------------------------

    def set_filter(self, pattern: str, context: int = 0, regex: bool = False, case: bool = False) -> int:
        """Show only rows matching ``pattern`` and ``context`` rows around each; returns rows shown.

        Raises :class:`~tui.ui.output_buffer.SearchError`.
        """
        self._filter = FilterIndex(OutputBuffer.compile(pattern, regex, case), context)
        self._rows = self._filter.update(self.buffer)
        self._after_view_change()
        return self.row_count

    def clear_filter(self) -> None:
        """Show every row again."""
        self._filter = None
        self._rows = None
        self._after_view_change()

    def _set_virtual_size(self, size: Size) -> None:
        """Grow the scrollable area without a layout pass.

        ``virtual_size`` is a layout reactive: assigning it re-arranged the whole screen on every drain
        tick while a run streamed (measured: most of the UI thread, and key presses waited 0.3-3 s).
        The pane's own size does not change, so only its scrollbars need updating, as Textual itself
        does in ``Widget._size_updated(layout=False)`` (Textual is pinned exactly for such uses).
        """
        if size == self.virtual_size:
            return
        self.set_reactive(Widget.virtual_size, size)
        self._scroll_update(size)

    def _after_view_change(self) -> None:
        last = max(0, self.row_count - 1)
        self._cursor = last if self._following else min(self._cursor, last)
        self._set_virtual_size(Size(self.buffer.max_width + GUTTER_WIDTH, self.row_count))
        if self._following:
            self.scroll_end(animate=False, immediate=True, force=True, x_axis=False)
        self.refresh()
        self._update_status()

    # -- copy and save -------------------------------------------------------------------------------

    def action_mark(self) -> None:
        """Set (or clear) the mark at the cursor; ``y`` then copies from the mark to the cursor."""
        index = self.index_of_row(self._cursor)
        if self._mark is not None or index is None:
            self._mark = None
        else:
            self._mark = index + self.buffer.dropped_lines
        self.refresh()

    def selected_indices(self) -> list[int]:
        """Buffer indices that ``y`` copies: the marked range (shown rows only), else the cursor row."""
        cursor_index = self.index_of_row(self._cursor)
        if cursor_index is None:
            return []
        if self._mark is None:
            return [cursor_index]
        mark_index = max(0, self._mark - self.buffer.dropped_lines)
        low, high = sorted((mark_index, cursor_index))
        if self._rows is None:
            return list(range(low, high + 1))
        return self._rows[bisect.bisect_left(self._rows, low) : bisect.bisect_right(self._rows, high)]

    def action_copy_lines(self) -> None:
        indices = self.selected_indices()
        self._copy(self.buffer.text(indices), len(indices))
        self._mark = None
        self.refresh()

    def action_copy_all(self) -> None:
        self._copy(self.buffer.text(), len(self.buffer))

    def _copy(self, text: str, count: int) -> None:
        # OSC 52 through the terminal; Textual also keeps it as the app's own clipboard for pasting.
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {count} line{'s' if count != 1 else ''}", title="Copy")

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """Text under a mouse selection (rows are view rows, offsets in plain text)."""
        indices = [self.index_of_row(row) for row in range(self.row_count)]
        text = "\n".join(self.buffer.plain(i) for i in indices if i is not None)
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    def save(self, path: Path) -> int:
        """Write the whole output as plain text to ``path``; returns the rows written. Raises ``OSError``."""
        text = self.buffer.text()
        path.write_text(text + "\n" if text else "", encoding="utf-8")
        return len(self.buffer)

    # -- status --------------------------------------------------------------------------------------

    def _update_status(self) -> None:
        self.status = replace(
            self.status,
            following=self._following,
            unseen=0 if self._following else self._unseen,
            rows=len(self.buffer),
            dropped=self.buffer.dropped_lines,
            skipped=self.buffer.skipped_lines,
            match_position=0 if self._search is None else self._search.position + 1,
            match_count=0 if self._search is None else len(self._search.matches),
            filtered=None if self._rows is None else len(self._rows),
        )
