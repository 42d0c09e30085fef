"""The main screen: tabs for the executors (list and details), the problems, the REPL, and one per run.

The screen only shows and asks; the app (:class:`~tui.ui.app.ExecdeckApp`) owns the engine, the loaded
entries and the statuses, and calls :meth:`MainScreen.show_entries`, :meth:`MainScreen.show_status` and
:meth:`MainScreen.open_run` when they change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane, Tree

from tui.core.engine import Engine
from tui.core.entries.models import Entry
from tui.core.policy import EXEC_GET, Access, EntryAccess
from tui.core.process import Process
from tui.lua.session import make_repl
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.run_dialog import RunDialog
from tui.ui.widgets.executor_details import ExecutorDetails
from tui.ui.widgets.executor_list import ExecutorTree
from tui.ui.widgets.key_footer import KeyFooter
from tui.ui.widgets.problems_view import ProblemsView
from tui.ui.widgets.repl_view import ReplView
from tui.ui.widgets.run_tab import RunFeed, RunTab
from tui.ui.widgets.runs_view import RunsView

if TYPE_CHECKING:
    from tui.ui.app import ExecdeckApp


def optional_tabs(engine: Engine, recorder: Any, scrollback_lines: int, *, repl: bool = True,
                  history_actor: str | None = None) -> list[TabPane]:
    """The REPL tab (unless ``repl`` is false), and the run history when runs are recorded (``recorder`` is
    not None): only the runs of ``history_actor`` when one is given."""
    tabs = [TabPane("REPL", ReplView(lambda on_print: make_repl(engine, on_print)), id="repl")] if repl else []
    if recorder is not None:
        runs = RunsView(recorder.store, recorder.problem, max_lines=scrollback_lines, actor=history_actor)
        tabs.append(TabPane("History", runs, id="history"))
    return tabs


def access_banner(access: Access) -> str:
    """The header line: ``actor visitor:1 · scope demo``, and why policies do not apply when they do not."""
    text = access.describe()
    if access.unrestricted:
        text += " · policies do not apply without " + ("an actor" if access.actor is None else "a scope")
    return text


class MainTabs(TabbedContent):
    """The screen's tabs. A focus inside a tab shows that tab (Textual's rule), once the screen has
    settled (a tab's content may take the focus as it mounts: the REPL's editor does), and unless the
    focus has moved on by the time the tab hears of it: that message is late (it passes through every
    widget between), and acting on it would undo the tab key the operator pressed meanwhile."""

    switch_on_focus = False
    """Set by the screen once everything is mounted."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if not self.switch_on_focus or focused is None or event.tab_pane not in focused.ancestors:
            event.stop()
            event.prevent_default()  # TabbedContent's own handler would switch to the pane


class MainScreen(Screen[None]):
    """See the module docstring. Keys: ``r``/Enter run, ``p`` pull, ``ctrl+w`` close a run tab."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", "Run"),
        Binding("p", "pull", "Pull image"),
        Binding("ctrl+w", "close_tab", "Close tab"),
        Binding("e", "show_tab('executors')", "Executors", show=False),
        Binding("l", "show_tab('repl')", "REPL", show=False),
        # Function keys also work from inside an editor (the REPL's eats e and l).
        Binding("f2", "show_tab('executors')", "Executors", show=False, priority=True),
        Binding("f3", "show_tab('repl')", "REPL", show=False, priority=True),
        Binding("left_square_bracket", "cycle_tab(-1)", "Prev tab", show=False),
        Binding("right_square_bracket", "cycle_tab(1)", "Next tab", show=False),
    ]

    def __init__(self, extra_tabs: list[TabPane] | None = None) -> None:
        super().__init__()
        self._extra_tabs = extra_tabs or []

    @property
    def console(self) -> ExecdeckApp:
        return cast("ExecdeckApp", self.app)

    def compose(self) -> ComposeResult:
        access = self.console.engine.gate.access
        if access != Access():
            # Whoever watches the screen must see whose rights it shows (a presenter, a visitor).
            yield Static(access_banner(access), id="access-bar")
        with MainTabs(id="main-tabs", initial="executors"):
            with TabPane("Executors", id="executors"), Horizontal(id="executors-layout"):
                yield ExecutorTree(id="executor-tree")
                yield ExecutorDetails(id="executor-details")
            with TabPane("Problems", id="problems"):
                yield ProblemsView(id="problems-view")
            yield from self._extra_tabs
        yield KeyFooter()

    def on_mount(self) -> None:
        if not self.query(ExecutorTree):
            return  # the console was told to quit while the screen was being made (a browser closed at once)
        # Synchronous: the focus must leave a tab in the same step that hides it (see _focus_active_tab).
        self.watch(self.tabs, "active", self._focus_active_tab, init=False)
        self.show_entries()
        self.call_after_refresh(self._settle)

    def _settle(self) -> None:
        # Everything is mounted: the focus goes to the tab shown (taken meanwhile by whatever focused
        # itself as it mounted), and from now on a focus elsewhere shows its tab.
        cast(MainTabs, self.tabs).switch_on_focus = True
        self._focus_active_tab()

    # -- what the app calls ----------------------------------------------------------------------

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#main-tabs", TabbedContent)

    def show_entries(self) -> None:
        """Redraw the tree, the details and the problems from the app's current entries."""
        load = self.console.load_result
        tree = self.query_one(ExecutorTree)
        tree.show(load.entries, self.console.statuses, self.entry_access())
        self.query_one(ProblemsView).show(load.problems)
        count = len(load.problems)
        self.tabs.get_tab("problems").label = f"Problems ({count})" if count else "Problems"
        self._show_details()

    def show_status(self, entry_id: str) -> None:
        """Redraw what depends on the status of ``entry_id`` (a probe finished)."""
        if not self.query(ExecutorTree):
            return  # not composed yet: show_entries at mount reads every status
        tree = self.query_one(ExecutorTree)
        tree.update_status(entry_id)
        if tree.selected_id == entry_id:
            self._show_details()

    async def open_run(self, feed: RunFeed, activate: bool) -> None:
        """Add a tab for the run of ``feed``; switch to it when ``activate``."""
        pane = RunTab(feed, max_lines=self.console.settings.scrollback_lines, info_filter=self.console.info_filter,
                      background=not activate, return_focus=self.focused)
        await self.tabs.add_pane(pane)
        if activate:
            self.tabs.active = pane.id or ""

    def run_tabs(self) -> list[RunTab]:
        return list(self.query(RunTab))

    def select_executor(self, entry_id: str) -> None:
        """Show the executors tab with ``entry_id`` selected."""
        self.tabs.active = "executors"
        tree = self.query_one(ExecutorTree)
        tree.select_id(entry_id)
        tree.focus()

    # -- events ----------------------------------------------------------------------------------

    def _access_of(self, entry: Entry | None) -> EntryAccess | None:
        """What the actor may do with ``entry``; ``None`` when no policy applies (the console as ever)."""
        gate = self.console.engine.gate
        if entry is None or not entry.is_executor or gate.unrestricted:
            return None
        return gate.entry_access(entry)

    def entry_access(self) -> dict[str, EntryAccess]:
        """:meth:`_access_of` each executor (empty when no policy applies)."""
        found = {entry.id: self._access_of(entry) for entry in self.console.load_result.executors}
        return {entry_id: access for entry_id, access in found.items() if access is not None}

    def _show_details(self) -> None:
        entry_id = self.query_one(ExecutorTree).selected_id
        entry = self.console.engine.entry(entry_id) if entry_id else None
        actor = self.console.engine.gate.access.actor
        self.query_one(ExecutorDetails).show(entry, self.console.statuses.get(entry_id or ""), self._access_of(entry),
                                             actor.id if actor else "")

    @on(ExecutorTree.InView)
    def _in_view(self, event: ExecutorTree.InView) -> None:
        self.console.probe(event.ids)

    @on(Tree.NodeHighlighted, "#executor-tree")
    def _highlighted(self) -> None:
        self._show_details()

    @on(Tree.NodeSelected, "#executor-tree")
    def _selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data is not None:
            self.action_run()

    def _focus_active_tab(self) -> None:
        """Put the keys where the operator looks: the pane of a run, the tree, the REPL's editor.

        Runs as the active tab changes, before the old tab is hidden. Left focused, a widget of the old
        tab would be blurred as it hides, and Textual would hand the focus to a sibling in that hidden
        tab (a run's stdin line), whose focus switches the tabs back: a tab key undone a moment later
        (seen while a run flooded its pane, when the hide came before a focus sent from a message)."""
        pane = self.tabs.active_pane
        if pane is None:
            return
        focus_target: Widget | None = None
        if isinstance(pane, RunTab):
            focus_target = pane.view.pane
        elif pane.id == "executors":
            focus_target = self.query_one(ExecutorTree)
        elif pane.id == "problems":
            focus_target = self.query_one(ProblemsView).table
        else:
            editor = getattr(pane.query_children().first(), "editor", None)  # the REPL's input
            focus_target = editor if isinstance(editor, Widget) else next(
                (w for w in pane.query("*") if w.focusable), None)
        if focus_target is not None:
            self.set_focus(focus_target)

    # -- actions ---------------------------------------------------------------------------------

    def action_run(self) -> None:
        """Open the run dialog for the selected executor."""
        entry_id = self.query_one(ExecutorTree).selected_id
        entry = self.console.engine.entry(entry_id) if entry_id else None
        if entry is None or not entry.is_executor:
            self.notify("select an executor first", severity="warning")
            return
        gate = self.console.engine.gate
        get = gate.decide(EXEC_GET, entry.id, entry.meta)
        if not get.allowed:
            self.notify(f"{entry.id} is locked: {get.explain()}", title="Permission denied", severity="warning")
            return
        dialog = RunDialog(entry, self.console.start_run, self.console.history.setdefault(entry.id, []),
                           None if gate.unrestricted else gate)
        self.app.push_screen(dialog, self._dialog_closed)

    def _dialog_closed(self, process: Process | None) -> None:
        if process is not None:
            self.console.open_started_run(process)

    def action_pull(self) -> None:
        """Pull what the selected executor needs (the image of a docker executor)."""
        entry_id = self.query_one(ExecutorTree).selected_id
        if not entry_id or not self.console.pull(entry_id):
            self.notify("this executor has nothing to pull", severity="warning")

    def action_close_tab(self) -> None:
        """Close the current run tab; a run still going is stopped after a confirmation."""
        pane = self.tabs.active_pane
        if not isinstance(pane, RunTab):
            self.notify("only run tabs close", severity="warning", timeout=2)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                pane.stop()
                self._remove(pane)

        if pane.running:
            question = f"{pane.process.spec.command!r} on {pane.process.spec.executor_id} is still running.\n" \
                       "Stop it (SIGTERM, then SIGKILL) and close the tab?"
            self.app.push_screen(ConfirmScreen(question, yes="Stop and close", title="Close run"), answered)
        else:
            self._remove(pane)

    def _remove(self, pane: RunTab) -> None:
        if pane.id:
            self.tabs.remove_pane(pane.id)

    def action_show_tab(self, tab: str) -> None:
        if self.tabs.query(f"TabPane#{tab}"):
            self.tabs.active = tab

    def action_cycle_tab(self, step: int) -> None:
        ids = [pane.id for pane in self.tabs.query(TabPane) if pane.id]
        if ids and self.tabs.active in ids:
            self.tabs.active = ids[(ids.index(self.tabs.active) + step) % len(ids)]
