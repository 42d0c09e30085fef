"""How a run looks, at a fixed size (100 x 30), in the project's dark and light themes."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.harness import RunViewApp

MIXED_OUTPUT: list[tuple[str, bytes]] = [
    ("stdout", b"$ make test\n"),
    ("stdout", b"\x1b[1mcollecting\x1b[0m 12 items\n"),
    ("stdout", b"test_one \x1b[32mPASSED\x1b[0m\ntest_two \x1b[32mPASSED\x1b[0m\n"),
    ("stderr", b"warning: deprecated option --foo\n"),
    ("stdout", b"test_three \x1b[31mFAILED\x1b[0m\n"),
    ("stderr", b"\x1b[31;1merror\x1b[0m: assertion failed in test_three\n"),
    ("stdout", b"\x1b[2J\x1b[Hprogress 10%\rprogress 55%\rprogress 100%\n"),
    ("stdout", b"binary: \x00\x07\xff\xfe done\n"),
    ("stdout", b"tab\tseparated\tcolumns\n"),
    ("stdout", b"still running..."),
]


def mixed_run(search: str | None) -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, RunViewApp)
        for stream, data in MIXED_OUTPUT:
            app.pane.append(stream, data)  # type: ignore[arg-type]
        app.pane.flush()
        if search:
            await pilot.press("slash", *search, "enter")
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("theme", ["execdeck-dark", "execdeck-light"])
def test_mixed_output(snap_compare: Any, theme: str) -> None:
    """You should see: a two-line header (local.shell · make test, "exit 2" in the failed colour), then the
    output with stderr lines in the stderr colour and a ▌ mark in the gutter, PASSED green and FAILED red
    from the ANSI codes (no raw escape codes anywhere), "progress 100%" only, ␀ ␇ and � for the binary
    bytes, tabs expanded, the partial "still running..." last, a status line "following │ 11 lines", and
    the footer with the pane's keys."""
    assert snap_compare(RunViewApp(theme=theme), terminal_size=(100, 30), run_before=mixed_run(None))


def test_search_highlights(snap_compare: Any) -> None:
    """You should see: every "test" highlighted in the search-hit colour, the current one (first after the
    cursor) in the current-match colour on the cursor line, and "paused │ 11 lines │ match 1/5" in the
    status line."""
    assert snap_compare(RunViewApp(), terminal_size=(100, 30), run_before=mixed_run("test"))
