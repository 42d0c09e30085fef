"""A console on thousands of executors: its list costs what is on screen, not what is in the files."""

from __future__ import annotations

from pathlib import Path

from tests.console.conftest import SIZE, ConsoleFactory, wait_until
from tui.core.executors.base import ExecutorStatus
from tui.core.executors.memory import MemoryKind
from tui.ui.widgets.executor_list import ExecutorTree

COUNT = 2000


def many_executors(folder: Path) -> Path:
    lines = ["namespace: many", "entries:"]
    for i in range(COUNT):
        lines += [f"  - name: n{i:04d}", "    kind: exec.memory", f"    command_whitelist: [echo {i}]"]
    path = folder / "many.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_only_the_executors_on_screen_are_probed_and_the_rest_as_they_come_into_view(
    console: ConsoleFactory, memory_kind: MemoryKind, tmp_path: Path
) -> None:
    app = console([many_executors(tmp_path)])
    async with app.run_test(size=SIZE) as pilot:
        tree = app.query_one(ExecutorTree)
        await wait_until(pilot, lambda: app.statuses and app.probes_pending == 0, "the first statuses")
        shown = set(tree.in_view())
        assert shown and len(shown) < SIZE[1]
        assert set(app.statuses) == shown
        assert str(tree.get_node_at_line(1).label) == "n0000  memory  ● ready  1 cmd"

        await pilot.press("end")
        await wait_until(pilot, lambda: "many:n1999" in app.statuses and app.probes_pending == 0,
                         "the last executor's status once it is on screen")
        assert len(app.statuses) < 3 * SIZE[1]
        assert str(tree.get_node_at_line(tree.last_line).label) == "n1999  memory  ● ready  1 cmd"


async def test_a_status_that_changes_redraws_its_line(console: ConsoleFactory, memory_kind: MemoryKind,
                                                     tmp_path: Path) -> None:
    app = console([many_executors(tmp_path)])
    async with app.run_test(size=SIZE) as pilot:
        tree = app.query_one(ExecutorTree)
        await wait_until(pilot, lambda: app.statuses and app.probes_pending == 0, "the first statuses")
        memory_kind.status = ExecutorStatus(False, "gone", short="gone")
        app.follow_statuses()
        await wait_until(pilot, lambda: app.statuses and app.probes_pending == 0, "the statuses again")
        assert str(tree.get_node_at_line(1).label) == "n0000  memory  ● gone  1 cmd"
        assert tree.get_label_width(tree.get_node_at_line(1)) == len("n0000  memory  ● gone  1 cmd")
