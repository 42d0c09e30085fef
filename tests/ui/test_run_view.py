"""RunView driven like an operator would: keys in, what the pane shows and posts out."""

from __future__ import annotations

import signal
import time
from dataclasses import replace
from pathlib import Path

from textual.pilot import Pilot

from tests.ui.harness import INFO, RunViewApp
from tui.ui.widgets.output_pane import OutputPane

SIZE = (100, 30)


async def feed(app: RunViewApp, pilot: Pilot[None], count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        app.pane.append("stdout", b"line %d\n" % i)
    app.pane.flush()
    await pilot.pause()


async def test_the_pane_follows_new_output_until_the_operator_scrolls_up() -> None:
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        await feed(app, pilot, 200)
        assert app.pane.status.following
        assert app.pane.scroll_y == app.pane.max_scroll_y > 0
        await pilot.press("pageup")
        await feed(app, pilot, 15, start=200)
        status = app.pane.status
        assert not status.following and status.unseen == 15
        assert app.pane.scroll_y < app.pane.max_scroll_y
        assert "15 new lines" in str(app.view.query_one("PaneStatusLine").render())
        await pilot.press("end")
        assert app.pane.status.following and app.pane.status.unseen == 0
        await feed(app, pilot, 5, start=215)
        assert app.pane.scroll_y == app.pane.max_scroll_y


async def test_output_appended_from_a_thread_arrives_in_batches() -> None:
    import threading

    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        def produce() -> None:
            for i in range(1000):
                app.pane.append("stdout", b"threaded %d\n" % i)

        worker = threading.Thread(target=produce)
        worker.start()
        worker.join()
        while len(app.pane.buffer) < 1000:
            await pilot.pause(0.05)  # the pane's own timer drains the queue
        assert app.pane.buffer.line(999).text == "threaded 999"


async def test_search_highlights_and_counts_matches_and_n_moves_between_them() -> None:
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        await feed(app, pilot, 100)
        await pilot.press("slash", *"line 1")
        await pilot.pause()
        assert app.pane.status.match_count == 11  # "line 1", "line 10".."line 19"
        await pilot.press("enter")
        await pilot.press("n")
        assert app.pane.status.match_position >= 1
        first = app.pane.status.match_position
        await pilot.press("n")
        assert app.pane.status.match_position == first % 11 + 1
        await pilot.press("N")
        assert app.pane.status.match_position == first
        row = app.pane.index_of_row(app.pane.cursor_row)
        assert row is not None and "line 1" in app.pane.buffer.plain(row)


async def test_an_invalid_regex_shows_an_error_in_the_bar() -> None:
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        await feed(app, pilot, 10)
        await pilot.press("slash", "alt+r", *"(oops")
        await pilot.pause()
        assert "invalid regular expression" in str(app.view.query_one("#find-error").render())


async def test_filter_shows_only_matching_lines_with_context() -> None:
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        await feed(app, pilot, 100)
        await pilot.press("f", *"line 50")
        await pilot.pause()
        assert app.pane.status.filtered == 1
        app.view.query_one("#find-context").value = "2"  # type: ignore[attr-defined]
        await pilot.pause()
        assert app.pane.status.filtered == 5
        await pilot.press("enter", "escape")
        assert app.pane.status.filtered is None


async def test_copy_current_line_and_all_with_a_notice() -> None:
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        await feed(app, pilot, 10)
        await pilot.press("y")
        assert app.clipboard == "line 9"
        await pilot.press("up", "up", "v", "down", "y")
        assert app.clipboard == "line 7\nline 8"
        await pilot.press("Y")
        assert app.clipboard.count("\n") == 9
        messages = [n.message for n in app._notifications]
        assert "copied 1 line" in messages and "copied 2 lines" in messages and "copied 10 lines" in messages


async def test_save_writes_the_whole_output_to_the_chosen_file(tmp_path: Path) -> None:
    target = tmp_path / "run.log"
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.pane.append("stdout", b"\x1b[32mok\x1b[0m\n")
        app.pane.append("stderr", b"warn\n")
        app.pane.flush()
        await pilot.press("s", *str(target), "enter")
        await pilot.pause()
        assert target.read_text() == "ok\nwarn\n"
        assert any("saved 2 lines" in n.message for n in app._notifications)


async def test_stdin_bar_sends_lines_and_end_of_input() -> None:
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i", *"hello", "enter", "ctrl+d")
        await pilot.pause()
        kinds = [(type(m).__name__, getattr(m, "text", None)) for m in app.received]
        assert kinds == [("StdinLine", "hello"), ("EndOfInput", None)]


async def test_signal_keys_ask_for_sigint_sigterm_and_sigkill() -> None:
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+c", "ctrl+t", "ctrl+backslash")
        await pilot.pause()
        signums = [m.signum for m in app.received if isinstance(m, OutputPane.SignalRequest)]
        assert signums == [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


async def test_dropped_lines_are_reported() -> None:
    app = RunViewApp(max_lines=50)
    async with app.run_test(size=SIZE) as pilot:
        await feed(app, pilot, 80)
        assert app.pane.status.dropped == 30
        assert "30 older dropped" in str(app.view.query_one("PaneStatusLine").render())


async def test_output_after_a_quiet_spell_still_arrives_and_the_end_of_a_run_drains_the_rest() -> None:
    """The drain sleeps while nothing is queued and wakes on the next chunk; once the run ended, what is
    still queued comes in without waiting for the pace of a flood."""
    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        app.pane.append("stdout", b"first\n")
        deadline = time.monotonic() + 10
        while len(app.pane.buffer) < 1:
            assert time.monotonic() < deadline, "timed out waiting for the first line"
            await pilot.pause(0.02)
        await pilot.pause(0.2)  # nothing queued: the drain is asleep
        app.pane.append("stdout", b"".join(b"line %d\n" % i for i in range(60_000)))
        app.pane.finish()
        deadline = time.monotonic() + 30
        while len(app.pane.buffer) < 60_001:
            assert time.monotonic() < deadline, "timed out waiting for the 60,000 lines"
            await pilot.pause(0.02)
        assert app.pane.buffer.line(60_000).text == "line 59999"
        assert app.pane.status.rows == 60_001, "the pane was redrawn with the last of them"


async def test_a_view_being_removed_takes_a_late_end_of_its_run_quietly() -> None:
    # A run may end while its tab is being closed or the console quits: the header and the status line are
    # gone by then, and the end's last snapshot must not raise (it ended the console with a traceback).
    from tui.ui.widgets.run_bars import PaneStatusLine
    from tui.ui.widgets.run_header import RunHeader

    app = RunViewApp()
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await view.query(RunHeader).remove()
        await view.query(PaneStatusLine).remove()
        view.update_info(replace(INFO, state="exited", exit_text="exited 0", ok=True))
        await feed(app, pilot, 3)
        assert len(app.pane.buffer) == 3
