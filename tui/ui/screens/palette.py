"""The command palette's console commands (``ctrl+p``): executors, their allowed commands (run at once),
open runs, themes, and actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.core.executors import registry

if TYPE_CHECKING:
    from tui.ui.app import ExecdeckApp

Command = tuple[str, Callable[[], object], str]


class ConsoleCommands(Provider):
    """Everything the console can do by name; built fresh each time the palette opens."""

    @property
    def console(self) -> ExecdeckApp:
        return cast("ExecdeckApp", self.app)

    def commands(self) -> list[Command]:
        """``(text, callback, help)`` for every command offered now."""
        app = self.console
        found: list[Command] = []
        gate = app.engine.gate
        for entry in app.load_result.executors:
            found.append((f"Executor: {entry.id}", partial(app.main.select_executor, entry.id),
                          f"show {entry.id} and its details"))
            access = None if gate.unrestricted else gate.entry_access(entry)
            for command in entry.whitelist:
                if access is not None and not access.runnable(command):
                    continue  # never offer a run the policies would refuse
                found.append((f"Run: {entry.id} › {command}", partial(app.run_command, entry.id, command),
                              "run this allowed command now"))
        for tab in app.main.run_tabs():
            spec = tab.process.spec
            found.append((f"Go to run: {spec.executor_id} › {spec.command}",
                          partial(setattr, app.main.tabs, "active", tab.id), "show this run's tab"))
        for name in sorted(app.available_themes):
            found.append((f"Theme: {name}", partial(app.choose_theme, name), "switch to this theme and keep it"))
        found += [
            ("Theme picker", app.action_pick_theme, "preview themes live and keep one"),
            ("Reload entries", app.action_reload_entries, "read the entry files again"),
        ]
        for kind in registry.kinds():
            if kind.prune is not None:
                found.append((kind.prune.title, partial(app.prune, kind.name), kind.prune.help))
        found += [
            ("Open REPL", partial(app.main.action_show_tab, "repl"), "the Lua REPL tab"),
            ("Show problems", partial(app.main.action_show_tab, "problems"), "entry file problems"),
            ("Help", app.action_help, "keys of the focused area"),
            ("Quit", app.action_quit, "end every run and quit"),
        ]
        return found

    async def discover(self) -> Hits:
        for text, callback, help_text in self.commands():
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self.commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, text=text, help=help_text)
