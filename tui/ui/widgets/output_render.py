"""Turning one buffer row into a styled :class:`Strip`: SGR parsing (lazy), search hits, selection.

Kept apart from the pane so the pane deals with scrolling, follow and keys only. Every style passed in
comes from the pane's component classes, hence from theme variables; nothing here names a colour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from tui.ui.output_buffer import Line

GUTTER_WIDTH = 2
"""Cells left of every row: a stream mark and a continuation mark."""
STDERR_MARK = "▌"
CONTINUED_MARK = "↩"


@dataclass(frozen=True)
class RowStyles:
    """The Rich styles of a pane, read from its component classes (so from the theme)."""

    base: Style
    stdout: Style
    stderr: Style
    gutter: Style
    stderr_gutter: Style
    search_hit: Style
    search_current: Style
    cursor: Style
    selection: Style


def render_content(
    line: Line,
    styles: RowStyles,
    console: Console,
    search: re.Pattern[str] | None = None,
    current_span: tuple[int, int] | None = None,
    selection_span: tuple[int, int] | None = None,
) -> Strip:
    """The row's text as a strip (uncropped). SGR sequences become styles, never raw codes.

    ``current_span`` marks the match the operator moved to; ``selection_span`` a mouse selection (end
    -1 means to the end of the row).
    """
    base = styles.stderr if line.stream == "stderr" else styles.stdout
    if search is None and selection_span is None and "\x1b" not in line.text:
        # The common case, a plain row: one segment, without Rich's text machinery (a flood redraws every
        # visible row several times a second).
        return Strip([Segment(line.text, base)], cell_len(line.text))
    # Only rows that hold an escape pay for the ANSI decoder.
    if "\x1b" in line.text:
        text = Text.from_ansi(line.text, style=base, no_wrap=True, end="")
    else:
        text = Text(line.text, style=base, no_wrap=True, end="")
    plain = text.plain
    if search is not None:
        for match in search.finditer(plain):
            if match.end() > match.start():
                hit = (match.start(), match.end())
                text.stylize(styles.search_current if hit == current_span else styles.search_hit, *hit)
    if selection_span is not None:
        start, end = selection_span
        text.stylize(styles.selection, start, len(plain) if end == -1 else end)
    segments = list(text.render(console))
    return Strip(segments, cell_len(plain))


def render_gutter(line: Line, styles: RowStyles) -> Strip:
    """The two gutter cells: ``▌`` in the stderr colour for stderr, ``↩`` when the row continues."""
    first = Segment(STDERR_MARK, styles.stderr_gutter) if line.stream == "stderr" else Segment(" ", styles.gutter)
    second = Segment(CONTINUED_MARK if line.continued else " ", styles.gutter)
    return Strip([first, second], GUTTER_WIDTH)
