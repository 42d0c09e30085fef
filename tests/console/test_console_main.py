"""The main screen: executors by namespace with statuses, details, problems, live reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tests.console.conftest import SIZE, ConsoleFactory, ready, wait_until
from tui.core.errors import ExecError
from tui.ui.widgets.executor_list import ExecutorTree
from tui.ui.widgets.key_footer import KeyFooter
from tui.ui.widgets.problems_view import ProblemsView


def tree_lines(app: object) -> list[str]:
    tree = app.query_one(ExecutorTree)  # type: ignore[attr-defined]
    return [str(tree.get_node_at_line(i).label) for i in range(tree.last_line + 1)]


async def test_executors_are_listed_by_namespace_with_kind_status_and_command_count(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        lines = tree_lines(app)
        assert lines[0] == "app"
        assert lines[1] == "shell  native  ● ready  4 cmds"
        assert lines[2] == "free  native  ● ready  any cmd"
        assert lines[3] == "demo  native  ● ready  1 cmd"
        assert lines[4] == "boxed  docker  ● unavailable  2 cmds"
        assert lines[5] == "tools"
        assert lines[6] == "build  native  ● ready  2 cmds"
        assert lines[7].startswith("notes  not an executor")
        assert "cannot reach the Docker daemon at unix:///nonexistent" in app.statuses["app:boxed"].text


async def test_the_status_probe_never_blocks_the_screen(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # The dead docker host takes its probe timeout; the tree answers keys meanwhile.
        await pilot.press("down")
        assert app.query_one(ExecutorTree).selected_id == "app:free"


async def test_details_show_settings_source_file_and_line_yaml_and_whitelist(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        text = {w.id: str(w.render()) for w in app.query("#executor-details Static") if w.id}
        assert "app:shell" in text["details-title"]
        assert "ready" in text["details-status"]
        assert "default_env" in text["details-settings"] and "LANG=C.UTF-8" in text["details-settings"]
        assert "echo hello world" in text["details-whitelist"]
        assert "entries/_index.yaml:6" in text["details-source-heading"]
        assert "command_whitelist:" in text["details-yaml"]
        yaml_widget = app.query_one("#details-yaml", Static)
        spans = yaml_widget.visual._spans  # type: ignore[union-attr]
        assert spans, "the YAML is highlighted"
        await pilot.press("down", "down", "down")
        text = str(app.query_one("#details-status", Static).render())
        assert "cannot reach the Docker daemon" in text


async def test_entry_problems_load_the_good_entries_and_fill_the_problems_tab(
    console: ConsoleFactory, entries_dir: Path
) -> None:
    (entries_dir / "broken.yaml").write_text(
        "namespace: bad\nentries:\n  - name: one\n    kind: exec.native\n    default_work_dri: /tmp\n"
        "  - name: two\n    kind: exec.native\n    default_env: {PORT: 8080}\n"
    )
    app = console([entries_dir])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert "app:shell" in [e.id for e in app.load_result.executors]
        assert any("problem" in str(n.message) for n in app._notifications)
        assert str(app.main.tabs.get_tab("problems").label) == "Problems (2)"
        await pilot.press("right_square_bracket")
        table = app.query_one(ProblemsView).table
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        unknown = next(r for r in rows if r[3] == "default_work_dri")
        assert unknown[1].endswith("broken.yaml:5") and unknown[2] == "bad:one"
        assert "default_work_dir" in unknown[5], "the hint suggests the right field"
        quote = next(r for r in rows if r[2] == "bad:two")
        assert quote[1].endswith("broken.yaml:8") and quote[3] == "default_env" and "quote it" in quote[5]


async def test_editing_an_entry_file_reloads_it_and_running_processes_keep_their_executor(
    console: ConsoleFactory, entries_dir: Path, memory_entries: Path
) -> None:
    edited = entries_dir / memory_entries.name
    edited.write_text(memory_entries.read_text())
    app = console([entries_dir], watch_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        process = app.engine.get("mem:shell").exec("serve")
        process.start()
        edited.write_text(edited.read_text().replace("[echo hello world, cat, serve]", "[cat, serve, date, id]"))
        await wait_until(pilot, lambda: "date" in app.engine.entry("mem:shell").whitelist, "the reload")  # type: ignore[union-attr]
        await wait_until(pilot, lambda: "shell  memory  ● ready  4 cmds" in tree_lines(app), "the tree to show it")
        assert process.running and process.spec.executor_id == "mem:shell"
        assert "echo hello world" not in app.engine.entry("mem:shell").whitelist  # type: ignore[union-attr]
        with pytest.raises(ExecError, match="command not allowed"):
            app.engine.get("mem:shell").exec("echo hello world")
        process.close(True)


async def test_the_footer_shows_the_keys_of_the_tab_in_use_and_a_click_presses_one(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        footer = app.query_one(KeyFooter)
        line = lambda: footer.render_line(0).text  # noqa: E731
        assert line().startswith(" r Run  p Pull image  ^w Close tab  q Quit  f1 Help ")
        assert line().endswith("▏^p palette ")
        await pilot.press("l")
        await wait_until(pilot, lambda: "Cancel/clear" in line(), "the REPL's keys")
        assert " r Run " not in line()
        await pilot.press("f2")
        await wait_until(pilot, lambda: " r Run " in line(), "the executors' keys again")
        await pilot.click(KeyFooter, offset=(line().index("Pull image"), 0))
        await wait_until(pilot, lambda: any("nothing to pull" in str(n.message) for n in app._notifications),
                         "the p key's answer on a native executor")
