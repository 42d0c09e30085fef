"""The console: ``execdeck`` with no arguments. :func:`run_console` is what the command line calls.

:class:`ExecdeckApp` owns the engine, the loaded entries and the executors' statuses; screens and widgets
(``tui/ui/screens``, ``tui/ui/widgets``) show them. Every process the engine creates (run dialog, palette,
Lua) reaches :meth:`ExecdeckApp._process_created` on the creating thread, which subscribes to its output
at once and opens a run tab through the UI thread. Whatever ends the console (``q``, SIGTERM, SIGHUP, an
error) ends the runs it started, processes and containers: :meth:`Engine.shutdown` runs on every path.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import functools
import os
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui.core.engine import Engine
from tui.core.entries.loader import load_entries
from tui.core.entries.models import LoadResult
from tui.core.entries.paths import resolve_entry_paths
from tui.core.executors.base import ExecutorStatus
from tui.core.policy import Access
from tui.core.process import Process
from tui.core.records import attach_recorder
from tui.ui.entry_watch import EntryWatch
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.help import HelpScreen, help_area
from tui.ui.screens.main import MainScreen, optional_tabs
from tui.ui.screens.palette import ConsoleCommands
from tui.ui.screens.pull import offer_pull
from tui.ui.screens.run_dialog import RunRequest
from tui.ui.screens.theme_picker import ThemePicker
from tui.ui.settings import Settings, load_settings, save_settings
from tui.ui.themes import DEFAULT_VARIABLES, apply_theme, register_themes
from tui.ui.upkeep import prune_leftovers, sweep_orphans
from tui.ui.widgets.run_tab import InfoFilter, RunFeed, post_call


class ExecdeckApp(App[int]):
    """The console. Tests build it with their own entry paths, config dir and ``info_filter``."""

    CSS_PATH = "execdeck.tcss"
    TITLE = "execdeck"
    COMMANDS: ClassVar = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("f1", "help", "Help"),
        Binding("t", "pick_theme", "Theme", show=False),
        Binding("ctrl+r", "reload_entries", "Reload", show=False),
    ]
    WRITES_FILES: ClassVar[bool] = True
    """Whether the operator may save output into files of this machine (a served visitor may not)."""

    def __init__(self, entry_paths: list[Path], *, user_theme_dir: Path | None = None,
                 sweep_orphans: bool = True, handle_signals: bool = False,
                 info_filter: InfoFilter | None = None, watch_interval: float = 1.0,
                 records: str | None = None, no_record: bool = False, access: Access | None = None,
                 instance_id: str | None = None) -> None:
        super().__init__()
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # A tab switch slid its underline over ~20 screen updates (140 ms of the UI thread, measured),
            # each competing with keys and a flooding run: the console shows every change at once.
            self.animation_level = "none"
        self.entry_paths = entry_paths
        self.load_result: LoadResult = load_entries(entry_paths)
        self.engine = Engine(self.load_result, source="console", access=access, instance_id=instance_id)
        self.recorder = attach_recorder(self.engine, source="console", path=records, disabled=no_record)
        self.settings, self._settings_problems = load_settings()
        self.statuses: dict[str, ExecutorStatus | None] = {}
        """The latest status per executor id, as its kind reports it; None until the first one arrives."""
        self._status_ends: dict[str, Callable[[], None]] = {}  # what ends each status followed, by executor
        self._stale_ends: list[Callable[[], None]] = []  # of an earlier round, ended once the new one follows
        self._status_round = 0  # statuses of an earlier round (before a reload) are stale
        self.history: dict[str, list[str]] = {}
        """Commands typed per executor (no whitelist), for the run dialog's ↑/↓."""
        self.info_filter = info_filter
        self._user_theme_dir = user_theme_dir
        self._sweep_orphans, self._handle_signals, self._watch_interval = sweep_orphans, handle_signals, watch_interval
        self._watch = EntryWatch(entry_paths)
        self._own = threading.local()  # set while a console action creates a process on this thread
        self._shutting_down = threading.Event()
        self._feeds: dict[str, RunFeed] = {}  # subscribed, waiting for their tab
        self._feeds_lock = threading.Lock()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DEFAULT_VARIABLES)

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(extra_tabs=optional_tabs(self.engine, self.recorder, self.settings.scrollback_lines))

    def on_runs_view_rerun(self, message: Any) -> None:
        """Run a recorded command again on the same executor and work dir (env values were never kept)."""
        self.run_command(message.executor_id, message.command, message.work_dir)
        if message.env_names:
            self.notify(f"env not repeated (values are not recorded): {', '.join(message.env_names)}",
                        severity="warning")

    @property
    def main(self) -> MainScreen:
        """The main screen (wherever the modal stack is)."""
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        problems = register_themes(self, self._user_theme_dir) + apply_theme(self, self.settings.theme)
        for problem in [*problems, *self._settings_problems]:
            self.notify(problem, title="Theme / settings", severity="warning", timeout=10)
        for notice in self.recorder.notices:
            self.notify(notice, title="Run records", severity="warning", timeout=10)
        self.watch(self, "theme", self._theme_changed, init=False)
        self.engine.add_listener(self._process_created)
        self.set_interval(self._watch_interval, self._check_entries)
        self._announce_problems()  # statuses: the executor list asks for those on screen (probe)
        if self._sweep_orphans:
            self.run_worker(lambda: sweep_orphans(self), thread=True, exit_on_error=False, group="upkeep")
        if self._handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _announce_problems(self) -> None:
        count = len(self.load_result.problems)
        if count:
            self.notify(f"{count} problem{'s' if count != 1 else ''} in the entry files: see the Problems tab",
                        severity="warning", timeout=8)

    # -- statuses ---------------------------------------------------------------------------------

    def follow_statuses(self) -> None:
        """Forget every status and follow them again from now on: the executors on screen at once, the others
        when they come into view (thousands of executors are not all followed at the start). Never blocks."""
        self._stale_ends.extend(self._status_ends.values())
        self._status_ends = {}
        self._status_round += 1
        self.statuses.clear()  # in place: the tree holds this mapping
        if self.screen_stack:
            self.main.show_entries()
        # What was followed before ends once the new round follows what is on screen (a watcher shared by
        # both stays connected), or soon anyway when nothing is on screen.
        self.set_timer(2.0, self._end_stale)

    def probe(self, entry_ids: Iterable[str]) -> None:
        """Follow the status of those of ``entry_ids`` not followed yet in this round: each kind's status watch
        (a daemon that comes and goes, an image removed elsewhere, all without a reload), or one probe for a
        kind without one. The statuses arrive from the kinds' threads."""
        current = self._status_round
        for entry_id in entry_ids:
            entry = self.load_result.get(entry_id)
            if entry_id in self.statuses or entry is None or not entry.is_executor:
                continue
            self.statuses[entry_id] = None
            try:
                end = self.engine.watch_status(entry_id, functools.partial(self._status_heard, entry_id, current))
            except Exception as err:  # noqa: BLE001 - a status that cannot be followed is a status, not a crash
                self.statuses[entry_id] = ExecutorStatus(False, f"cannot probe: {err}")
                continue
            self._status_ends[entry_id] = end
        self._end_stale()

    def _end_stale(self) -> None:
        stale, self._stale_ends = self._stale_ends, []
        for end in stale:
            end()

    def _stop_following(self) -> None:
        ends, self._status_ends = self._status_ends, {}
        for end in [*ends.values(), *self._stale_ends]:
            end()
        self._stale_ends = []

    def _status_heard(self, entry_id: str, round_: int, status: ExecutorStatus) -> None:
        # A kind's thread: hand over to the UI thread.
        post_call(self, self._set_status, entry_id, round_, status)

    def _set_status(self, entry_id: str, round_: int, status: ExecutorStatus) -> None:
        if round_ != self._status_round:
            return  # from what was followed before a reload: its entry may have changed
        self.statuses[entry_id] = status
        self.main.show_status(entry_id)

    @property
    def probes_pending(self) -> int:
        return sum(1 for status in self.statuses.values() if status is None)

    # -- runs -------------------------------------------------------------------------------------

    def start_run(self, request: RunRequest) -> Process:
        """Create and start a process (worker thread). Raises ExecError with the refusal."""
        self._own.creating = True
        try:
            process = self.engine.get(request.executor_id).exec(
                request.command, work_dir=request.work_dir or None, env=request.env, timeout=request.timeout,
                source="console")
        finally:
            self._own.creating = False
        process.start()
        return process

    def _process_created(self, process: Process) -> None:
        # The creating thread, before the start: subscribe now so no output is missed.
        feed = RunFeed(process)
        with self._feeds_lock:
            self._feeds[process.run_id] = feed
        if not getattr(self._own, "creating", False):
            post_call(self, self._open_feed, process.run_id, False)

    def open_started_run(self, process: Process) -> None:
        """Open (and show) the tab of a run the console itself started."""
        self.call_later(self._open_feed, process.run_id, True)

    async def _open_feed(self, run_id: str, activate: bool) -> None:
        with self._feeds_lock:
            feed = self._feeds.pop(run_id, None)
        if feed is None:
            return
        if feed.process.start_error is not None and not activate:
            feed.close()
            return
        await self.main.open_run(feed, activate)
        if not activate:
            self.notify(f"new run: {feed.process.spec.executor_id} › {feed.process.spec.command}", timeout=3)

    def run_command(self, executor_id: str, command: str, work_dir: str = "") -> None:
        """Run a command at once (palette, history); a refusal becomes a notification."""
        def work() -> None:
            try:
                process = self.start_run(RunRequest(executor_id, command, work_dir))
            except Exception as err:  # noqa: BLE001 - ExecError or worse: a notice, never a traceback
                post_call(self, self.notify, f"{executor_id}: {err}", severity="error")
            else:
                post_call(self, self.open_started_run, process)

        self.run_worker(work, thread=True, exit_on_error=False, group="run-start")

    # -- entries ----------------------------------------------------------------------------------

    def _check_entries(self) -> None:
        if self._watch.changed():
            self.action_reload_entries()

    def action_reload_entries(self) -> None:
        """Read the entry files again (worker); running processes keep the executor they started on."""
        def work() -> None:
            result = load_entries(self.entry_paths)
            post_call(self, self._entries_loaded, result)

        self.run_worker(work, thread=True, exit_on_error=False, group="reload", exclusive=True)

    def _entries_loaded(self, result: LoadResult) -> None:
        self.load_result = result
        self.engine.reload(result)
        self.follow_statuses()
        count = len(result.problems)
        self.notify(f"entries reloaded: {len(result.executors)} executors, {count} problem{'s' * (count != 1)}",
                    severity="warning" if count else "information", timeout=4)

    # -- what kinds can do beyond running ---------------------------------------------------------

    def pull(self, executor_id: str) -> bool:
        """Offer the explicit pull of what ``executor_id`` needs; False when its kind has nothing to pull."""
        return offer_pull(self, executor_id)

    def prune(self, kind_name: str) -> None:
        """Remove what ended runs of kind ``kind_name`` left, everywhere its entries (and its default) point."""
        self.run_worker(lambda: prune_leftovers(self, kind_name), thread=True, exit_on_error=False, group="upkeep")

    # -- themes, help ------------------------------------------------------------------------------

    def action_pick_theme(self) -> None:
        self.push_screen(ThemePicker(), lambda name: self.choose_theme(name) if name else None)

    def choose_theme(self, name: str) -> None:
        """Switch to theme ``name`` and remember it."""
        self.theme = name
        self._save_theme(name)

    def _theme_changed(self, name: str) -> None:
        if not isinstance(self.screen, ThemePicker):  # live previews are not choices yet
            self._save_theme(name)

    def _save_theme(self, name: str) -> None:
        if name == self.settings.theme:
            return
        self.settings = Settings(theme=name, scrollback_lines=self.settings.scrollback_lines)
        try:
            save_settings(self.settings)
        except OSError as err:
            self.notify(f"cannot save the settings: {err}", severity="warning")

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_area(self.focused)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title != "Theme":  # ours previews live and persists
                yield command

    # -- the end ----------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; asks first while runs are going. Every run is ended before the app exits."""
        running = [p for p in self.engine.processes if p.running]
        if not running:
            self._shutdown_then_exit(0)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._shutdown_then_exit(0)

        question = f"{len(running)} run(s) still going. Stop them all (processes and containers) and quit?"
        self.push_screen(ConfirmScreen(question, yes="Stop and quit", title="Quit"), answered)

    def _shutdown_then_exit(self, code: int) -> None:
        self.notify("stopping runs…", timeout=2)

        def work() -> None:
            self.shutdown_engine()
            post_call(self, self.exit, code)

        self.run_worker(work, thread=True, exit_on_error=False, group="shutdown")

    def shutdown_engine(self) -> None:
        """End every run (processes and containers) once; later calls return at once."""
        if not self._shutting_down.is_set():
            self._shutting_down.set()
            self._stop_following()
            self.engine.shutdown()
            if self.recorder is not None:
                self.recorder.close()

    def _on_signal(self, signum: int) -> None:
        # SIGTERM/SIGHUP: end the runs first (the terminal may be gone), then leave. A watchdog makes sure
        # the process ends even when the terminal's death wedges the screen driver.
        def watchdog() -> None:
            self.shutdown_engine()
            post_call(self, self.exit, 128 + signum)
            threading.Event().wait(10)
            os._exit(128 + signum)

        threading.Thread(target=watchdog, name="signal-exit", daemon=True).start()


def run_console(args: argparse.Namespace) -> int:
    """Open the console on the entry paths of ``args``; returns the exit code (0 on a normal quit)."""
    return run_app(ExecdeckApp(resolve_entry_paths(args.entries), handle_signals=True,
                               records=getattr(args, "records", None),
                               no_record=bool(getattr(args, "no_record", False)), access=getattr(args, "access", None)))


def run_app(app: ExecdeckApp) -> int:
    """Run ``app`` until it quits, ending its runs on every way out; returns the exit code."""
    atexit.register(app.shutdown_engine)
    try:
        app.run()
    finally:
        app.shutdown_engine()
        with contextlib.suppress(Exception):
            atexit.unregister(app.shutdown_engine)
    code = app.return_code
    return code if isinstance(code, int) else 0

