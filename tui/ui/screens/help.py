"""``F1``: help for the area that has the focus (executors, a run, problems, the REPL)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Markdown

_GLOBAL = """
### Everywhere

| key | does |
|---|---|
| `ctrl+p` | command palette: executors, their commands, runs, themes, actions |
| `e` / `l` / `[` / `]` | executors tab / REPL tab / previous / next tab |
| `F2` / `F3` | executors tab / REPL tab, also from inside an editor |
| `ctrl+w` | close the current run tab (asks first while it runs) |
| `t` | theme picker (live preview) |
| `ctrl+r` | reload the entry files now (they also reload on their own when edited) |
| `q`, `ctrl+q` | quit (asks first while runs are going; every run is ended) |
| `F1` | this help |
"""

HELP: dict[str, str] = {
    "executors": """
## Executors

Executors from the entry files, grouped by namespace, with their kind, status and number of allowed
commands. Status is live, followed in the background: native executors are ready; a docker executor
needs its daemon and its image, and shows within seconds a daemon that starts or stops and an image
pulled or removed elsewhere.

| key | does |
|---|---|
| `↑` `↓` | select an executor (its details show on the right) |
| `Enter`, `r` | run: pick an allowed command, or type one where there is no whitelist |
| `p` | pull the missing image of a docker executor; where none can be pulled, build it here (its recipe) |
| `space` | fold or unfold a namespace |

In the run dialog the exact argv is shown before anything runs, and a refusal is explained there.
""",
    "run": """
## A run

The output of one run: stdout and stderr in arrival order (stderr with a mark in the gutter).

| key | does |
|---|---|
| `↑` `↓` `PgUp` `PgDn` `g` | move; scrolling up pauses following |
| `End`, `G` | follow the end again |
| `/` then `n` `N` | search (alt+r regex, alt+c case), next / previous match |
| `f` | filter lines, with context lines |
| `v`, `y`, `Y` | mark, copy line or marked lines, copy the whole run |
| `s` | save the output to a file |
| `i` | type a line for the process's stdin (`ctrl+d` there ends the input) |
| `ctrl+c` / `ctrl+t` / `ctrl+\\\\` | send SIGINT / SIGTERM / SIGKILL |
| `Esc` | clear search and filter |
""",
    "problems": """
## Problems

Everything wrong in the entry files: file and line, the entry id and field, what is wrong and a hint.
Good entries load anyway; fix a file and it reloads by itself.
""",
    "repl": """
## Lua REPL

A sandboxed Lua with the `exec` module: `exec.get("app:shell"):exec("date")`. Processes started here
open as run tabs. Enter runs a complete chunk, an incomplete one continues; `↑` searches history by
prefix; `Tab` completes; `ctrl+c` cancels a running chunk.
""",
    "runs": """
## Run history

Past runs of this console and the command line; select one to run it again.
""",
}


_AREAS = {"RunTab": "run", "ProblemsView": "problems", "ReplView": "repl", "RunsView": "runs"}


def help_area(focused: Widget | None) -> str:
    """The area of :data:`HELP` that ``focused`` (the widget with the focus) belongs to."""
    for node in focused.ancestors_with_self if focused is not None else []:
        if type(node).__name__ in _AREAS:
            return _AREAS[type(node).__name__]
    return "executors"


class HelpScreen(ModalScreen[None]):
    """Help for one area (a key of :data:`HELP`), followed by the keys that work everywhere."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "dismiss_help", "Close")]

    def __init__(self, area: str) -> None:
        super().__init__()
        self.area = area if area in HELP else "executors"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog") as box:
            box.border_title = "Help (Esc closes)"
            yield Markdown(HELP[self.area] + _GLOBAL, id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
