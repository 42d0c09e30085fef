"""The console a visitor of ``execdeck serve`` gets in the browser: the console itself, acting as the visitor.

What differs from the presenter's console, and why:

* it acts as ``visitor:<session>`` in the visitor scope, strict: the presenter's policies decide;
* the Lua REPL is there only when the policies let the visitor get at least one executor;
* History lists the visitor's own runs only (the presenter's console lists everyone's);
* nothing on the server's disk is written at the visitor's word: no saving output to a file (copying goes
  to the browser's clipboard), no pulling images, no pruning, no orphan sweep of other consoles' runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.screen import Screen

from tui.serve.visitor import repl_offered, visitor_access, visitor_actor
from tui.ui import app as console_app
from tui.ui.app import ExecdeckApp, run_app
from tui.ui.screens.main import MainScreen, optional_tabs


class VisitorApp(ExecdeckApp):
    """See the module docstring."""

    # Textual finds a relative CSS_PATH beside the module of the class: this one's is elsewhere.
    CSS_PATH = str(Path(console_app.__file__).with_name("execdeck.tcss"))
    WRITES_FILES: ClassVar[bool] = False

    def __init__(self, entry_paths: list[Path], session: str, scope: str, instance_id: str) -> None:
        super().__init__(entry_paths, sweep_orphans=False, handle_signals=True,
                         access=visitor_access(session, scope), instance_id=instance_id)
        self.actor_id = visitor_actor(session)

    def get_default_screen(self) -> Screen[Any]:
        offered = repl_offered(self.engine.gate, self.load_result.executors)
        return MainScreen(extra_tabs=optional_tabs(self.engine, self.recorder, self.settings.scrollback_lines,
                                                   repl=offered, history_actor=self.actor_id))

    def pull(self, executor_id: str) -> bool:
        self.notify("images are the presenter's to pull, not a visitor's", severity="warning")
        return True

    def prune(self, kind_name: str) -> None:
        self.notify("pruning is the presenter's to do, not a visitor's", severity="warning")


def run_visitor(entry_paths: list[Path], session: str, scope: str, instance_id: str) -> int:
    """Run a visitor's console until it quits (or is told to by the server); returns its exit status."""
    return run_app(VisitorApp(entry_paths, session, scope, instance_id))
