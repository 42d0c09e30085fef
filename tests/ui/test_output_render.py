"""How one buffer row becomes a styled strip."""

from __future__ import annotations

import re

from rich.console import Console
from rich.style import Style

from tui.ui.output_buffer import Line
from tui.ui.widgets.output_render import RowStyles, render_content

STYLES = RowStyles(
    base=Style(), stdout=Style(color="green"), stderr=Style(color="red"), gutter=Style(), stderr_gutter=Style(),
    search_hit=Style(bgcolor="yellow"), search_current=Style(bgcolor="blue"), cursor=Style(), selection=Style(),
)


def colours(line: Line, search: re.Pattern[str] | None = None) -> list[tuple[str, str | None]]:
    strip = render_content(line, STYLES, Console(), search)
    return [(segment.text, segment.style.color.name if segment.style and segment.style.color else None)
            for segment in strip]


def test_every_row_is_drawn_in_its_streams_colour_plain_coloured_or_searched() -> None:
    assert colours(Line("stderr", "oops")) == [("oops", "red")]
    assert colours(Line("stdout", "fine")) == [("fine", "green")]
    assert colours(Line("stderr", "\x1b[1mbold\x1b[0m oops")) == [("bold", "red"), (" oops", "red")]
    assert colours(Line("stderr", "an oops"), re.compile("oops")) == [("an ", "red"), ("oops", "red")]


def test_an_ansi_colour_wins_over_the_streams() -> None:
    assert colours(Line("stdout", "\x1b[31mFAILED\x1b[0m")) == [("FAILED", "color(1)")]  # ANSI red
    assert colours(Line("stderr", "\x1b[32mok\x1b[0m")) == [("ok", "color(2)")]  # ANSI green
