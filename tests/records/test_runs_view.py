"""The Runs view driven like an operator would: the history table, the filter, opening a run, re-running."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from tests.core.support import native_entry
from tui.core.engine import Engine
from tui.core.entries.models import LoadResult
from tui.core.policy import Access, Actor
from tui.core.records import RecordStore, attach_recorder
from tui.ui.themes import DEFAULT_VARIABLES, register_themes
from tui.ui.widgets.output_pane import OutputPane
from tui.ui.widgets.runs_view import RecordedRunScreen, RunsView

SIZE = (120, 30)


class RunsApp(App[None]):
    def __init__(self, store: RecordStore | None, problem: str | None = None, **options: int) -> None:
        super().__init__()
        self.store = store
        self.problem = problem
        self.options = options
        self.reruns: list[RunsView.Rerun] = []
        self.loads = 0

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DEFAULT_VARIABLES)

    def compose(self) -> ComposeResult:
        yield RunsView(self.store, self.problem, **self.options)

    def on_mount(self) -> None:
        register_themes(self)

    def on_runs_view_rerun(self, message: RunsView.Rerun) -> None:
        self.reruns.append(message)

    def on_runs_view_loaded(self, message: RunsView.Loaded) -> None:
        self.loads += 1

    @property
    def view(self) -> RunsView:
        return self.query_one(RunsView)


def record_runs(engine: Engine) -> list[str]:
    recorder = attach_recorder(engine, source="console")
    ids = []
    for executor, command in (("t:native", "echo first"), ("t:other", "sh -c 'echo oops >&2; exit 2'"),
                              ("t:native", "seq 1 50")):
        process = engine.get(executor).exec(command, work_dir="/tmp", env={"NAME": "value"})
        process.start()
        process.wait_done(10)
        ids.append(process.run_id)
    engine.shutdown()
    recorder.close()
    return ids


async def loaded(app: RunsApp, pilot: Pilot[None], rows: int) -> None:
    """Wait until a refresh shows ``rows`` rows (the table is filled from a worker thread)."""
    for _ in range(500):
        await pilot.pause(0.01)
        if app.loads and len(app.view.records) == rows:
            return
    raise AssertionError(f"the table never showed {rows} rows (has {len(app.view.records)})")


async def open_newest_run(app: RunsApp, pilot: Pilot[None]) -> tuple[RecordedRunScreen, OutputPane]:
    """Open the newest of the three recorded runs (``seq 1 50``) and wait until its 50 lines were shown
    (some may have been dropped since, by a small scrollback)."""
    await loaded(app, pilot, 3)
    app.view.table.focus()
    await pilot.press("enter")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, RecordedRunScreen)
    pane = screen.query_one(OutputPane)
    for _ in range(500):
        await pilot.pause(0.01)
        if screen.loaded and pane.buffer.dropped_lines + len(pane.buffer) >= 50:
            return screen, pane
    raise AssertionError("the recorded output never reached the pane")


async def test_the_table_shows_the_runs_newest_first(engine: Engine, records_path: Path) -> None:
    ids = record_runs(engine)
    store = RecordStore.open(records_path)
    app = RunsApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, 3)
        table = app.view.table
        assert [table.get_row_at(i)[1] for i in range(3)] == ids[::-1]
        assert table.get_row_at(1)[2:] == ["t:other", "sh -c 'echo oops >&2; exit 2'", table.get_row_at(1)[4],
                                           "exited 2", "console"]


async def test_the_filter_narrows_by_status_executor_and_text(engine: Engine, records_path: Path) -> None:
    record_runs(engine)
    app = RunsApp(RecordStore.open(records_path))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, 3)
        app.view.table.focus()
        await pilot.press("slash", *"failed")
        await loaded(app, pilot, 1)
        assert app.view.records[0].executor_id == "t:other"
        app.query_one("#runs-filter").value = "executor:t:native seq"  # type: ignore[attr-defined]
        await loaded(app, pilot, 1)
        assert app.view.records[0].command == "seq 1 50"
        app.query_one("#runs-filter").value = ""  # type: ignore[attr-defined]
        await loaded(app, pilot, 3)


async def test_a_header_click_sorts_by_that_column(engine: Engine, records_path: Path) -> None:
    record_runs(engine)
    app = RunsApp(RecordStore.open(records_path))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, 3)
        table = app.view.table
        key = ColumnKey("command")
        table.post_message(DataTable.HeaderSelected(table, key, 3, label=table.columns[key].label))
        await pilot.pause()
        assert [r.command for r in app.view.records] == sorted(r.command for r in app.view.records)
        assert table.get_row_at(0)[3] == "echo first"


async def test_enter_opens_the_recorded_output_and_b_goes_back(engine: Engine, records_path: Path) -> None:
    ids = record_runs(engine)
    app = RunsApp(RecordStore.open(records_path))
    async with app.run_test(size=SIZE) as pilot:
        screen, pane = await open_newest_run(app, pilot)
        assert screen.record.run_id == ids[2]
        assert [pane.buffer.plain(i) for i in range(len(pane.buffer))][:50] == [str(i) for i in range(1, 51)]
        await pilot.press("b")
        await pilot.pause()
        assert not isinstance(app.screen, RecordedRunScreen)


async def test_a_recorded_run_keeps_as_many_rows_as_the_scrollback_setting_says(
    engine: Engine, records_path: Path
) -> None:
    record_runs(engine)
    app = RunsApp(RecordStore.open(records_path), max_lines=10)
    async with app.run_test(size=SIZE) as pilot:
        _, pane = await open_newest_run(app, pilot)
        assert [pane.buffer.plain(i) for i in range(len(pane.buffer))] == [str(i) for i in range(41, 51)]


async def test_r_posts_rerun_with_the_recorded_command(engine: Engine, records_path: Path) -> None:
    record_runs(engine)
    app = RunsApp(RecordStore.open(records_path))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, 3)
        app.view.table.focus()
        await pilot.press("down", "r")
        await pilot.pause()
        [message] = app.reruns
        assert (message.executor_id, message.command, message.work_dir, message.env_names) == (
            "t:other", "sh -c 'echo oops >&2; exit 2'", "/tmp", ("NAME",))


async def test_with_recording_off_the_view_shows_the_problem() -> None:
    app = RunsApp(None, "run records off: /x/runs.sqlite3 is locked by another program (waited 3s)")
    async with app.run_test(size=SIZE):
        assert "is locked by another program" in str(app.query_one("#runs-problem", Static).render())


async def test_new_runs_appear_on_reload(engine: Engine, records_path: Path) -> None:
    record_runs(engine)
    app = RunsApp(RecordStore.open(records_path))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, 3)
        other = Engine(engine.load, source="console")
        recorder = attach_recorder(other)
        process = other.get("t:native").exec("echo later")
        process.start()
        process.wait_done(10)
        other.shutdown()
        recorder.close()
        app.view.reload()
        await loaded(app, pilot, 4)
        assert app.view.records[0].command == "echo later"


def _run_once(engine: Engine, command: str) -> str:
    recorder = attach_recorder(engine, source="console")
    process = engine.get("t:native").exec(command)
    process.start()
    process.wait_done(10)
    engine.shutdown()
    recorder.close()
    return process.run_id


async def test_visitors_runs_show_their_actor_and_a_visitors_history_shows_only_theirs(records_path: Path) -> None:
    """The presenter's History lists every run, with an Actor column once one has an actor; a served
    visitor's History (``actor=``) lists that visitor's runs only, whatever its filter asks for."""
    mine = _run_once(Engine(LoadResult(entries=(native_entry(),)), source="console"), "echo presenter")
    visitor = Access(actor=Actor("visitor:3f2a"))
    theirs = _run_once(Engine(LoadResult(entries=(native_entry(),)), source="console", access=visitor),
                       "echo visitor")
    app = RunsApp(RecordStore.open(records_path))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, 2)
        table = app.view.table
        assert [str(column.label) for column in table.columns.values()][-1] == "Actor"
        assert {table.get_row_at(i)[1]: table.get_row_at(i)[-1] for i in range(2)} == {mine: "",
                                                                                       theirs: "visitor:3f2a"}
        app.query_one("#runs-filter").value = "actor:visitor:3f2a"  # type: ignore[attr-defined]
        await loaded(app, pilot, 1)
        assert app.view.records[0].run_id == theirs
    only = RunsApp(RecordStore.open(records_path), actor="visitor:3f2a")  # type: ignore[arg-type]
    async with only.run_test(size=SIZE) as pilot:
        await loaded(only, pilot, 1)
        assert only.view.records[0].run_id == theirs
        only.query_one("#runs-filter").value = "actor:user:other"  # type: ignore[attr-defined]
        await loaded(only, pilot, 1)
        assert only.view.records[0].run_id == theirs


async def test_without_any_actor_the_table_has_no_actor_column(engine: Engine, records_path: Path) -> None:
    record_runs(engine)
    app = RunsApp(RecordStore.open(records_path))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, 3)
        assert "Actor" not in [str(column.label) for column in app.view.table.columns.values()]
