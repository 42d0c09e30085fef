"""The run dialog: pick an allowed command (or type one where there is no whitelist), set the per-run
options, see the exact argv, run. A refusal (whitelist, loader variable, missing work dir, missing image)
is shown in the dialog, which stays open to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tui.core.command import split_keeping_empty
from tui.core.entries.models import Entry
from tui.core.errors import ExecError
from tui.core.executors import registry
from tui.core.policy import EXEC_RUN, Decision, Gate
from tui.core.process import Process
from tui.ui.widgets.run_tab import post_call


@dataclass(frozen=True)
class RunRequest:
    """What the operator asked for; the app turns it into a started process."""

    executor_id: str
    command: str
    work_dir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None


Starter = Callable[[RunRequest], Process]
"""Creates and starts the process (blocking, called on a worker thread); raises :class:`ExecError`."""


def parse_env(text: str) -> dict[str, str]:
    """``K=V`` lines (blank lines and ``#`` comments skipped). Raises ValueError naming the bad line."""
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"env line {number}: expected NAME=value, got {line.strip()!r}")
        env[name.strip()] = value
    return env


def parse_timeout(text: str) -> float | None:
    """Seconds, or None for no limit. Raises ValueError for anything but a positive number."""
    if not text.strip():
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"time limit: {text.strip()!r} is not a number of seconds") from None
    if seconds <= 0:
        raise ValueError("time limit: must be more than 0 seconds")
    return seconds


def argv_content(command: str, tokenize: Callable[[str], list[str]]) -> Content:
    """``argv  [echo] [hello world]``: the exact arguments the command becomes (no shell), split by the
    executor's kind's ``tokenize``."""
    if not command:
        return Content.from_markup("[$foreground-muted]argv  (pick or type a command)[/]")
    argv = tokenize(command)
    if not argv:
        return Content.from_markup("[$warning]argv  (none: no command)[/]")
    parts = [Content.from_markup("[$foreground-muted]argv[/] ")]
    parts += [Content.from_markup(" [$accent]‹[/]$arg[$accent]›[/]", arg=arg) for arg in argv]
    return Content.assemble(*parts)


class RunDialog(ModalScreen[Process | None]):
    """Dismissed with the started :class:`Process`, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "run", "Run"),
    ]

    def __init__(self, entry: Entry, starter: Starter, history: list[str] | None = None,
                 gate: Gate | None = None) -> None:
        super().__init__()
        self.entry = entry
        kind = registry.find(entry.kind)
        self._tokenize = kind.tokenize if kind is not None else split_keeping_empty
        self._starter = starter
        #: Decides ``exec.run`` for the console's actor (``None``: no policy applies): a command it would
        #: refuse is shown disabled, or refused here before anything starts.
        self._gate = gate
        self._history = history if history is not None else []
        self._history_pos = len(self._history)
        self._starting = False

    @property
    def whitelisted(self) -> bool:
        return bool(self.entry.whitelist)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog run-dialog") as box:
            box.border_title = f"Run on {self.entry.id}"
            if self.whitelisted:
                yield Label("Allowed commands (only these can run)")
                yield OptionList(*(self._option(command) for command in self.entry.whitelist), id="commands")
            else:
                yield Label("Command (no shell: use sh -c '...' for one; ↑/↓ history)")
                yield Input(placeholder="e.g. ls -la", id="command")
            yield Static(id="argv", classes="argv")
            with Horizontal(classes="run-options"):
                with Vertical():
                    yield Label("Work dir")
                    yield Input(placeholder=self._default_work_dir(), id="work-dir")
                with Vertical(classes="timeout-box"):
                    yield Label("Time limit (s)")
                    yield Input(placeholder="none", id="timeout")
            yield Label("Extra env (NAME=value, one a line)")
            yield TextArea(id="env", classes="env-editor", soft_wrap=False, show_line_numbers=False)
            yield Static(id="run-error", classes="run-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run (ctrl+r)", variant="primary", id="run")
                yield Button("Cancel (esc)", id="cancel")

    def _denial(self, command: str) -> Decision | None:
        """The policy's refusal of ``command``, or ``None`` when it may run."""
        if self._gate is None:
            return None
        decision = self._gate.decide(EXEC_RUN, command, self.entry.meta)
        return None if decision.allowed else decision

    def _option(self, command: str) -> Option:
        denial = self._denial(command)
        if denial is None:
            return Option(command)
        prompt = Content.from_markup("$cmd  [$foreground-muted]✗ $why[/]", cmd=command, why=denial.explain())
        return Option(prompt, disabled=True)

    def _default_work_dir(self) -> str:
        spec = self.entry.spec
        return (spec.default_work_dir if spec is not None else "") or "executor default"

    def on_mount(self) -> None:
        self._show_argv()
        if self.whitelisted:
            options = self.query_one("#commands", OptionList)
            enabled = [i for i, command in enumerate(self.entry.whitelist) if self._denial(command) is None]
            options.highlighted = enabled[0] if enabled else None
            options.focus()
            if not enabled:
                self.show_error("the policies allow none of these commands")
        else:
            self.query_one("#command", Input).focus()

    @property
    def command(self) -> str:
        """The command chosen or typed so far (exactly as it will be checked: no trimming)."""
        if self.whitelisted:
            options = self.query_one("#commands", OptionList)
            index = options.highlighted
            return self.entry.whitelist[index] if index is not None else ""
        return self.query_one("#command", Input).value

    def _show_argv(self) -> None:
        self.query_one("#argv", Static).update(argv_content(self.command, self._tokenize))

    @on(OptionList.OptionHighlighted, "#commands")
    @on(Input.Changed, "#command")
    def _command_changed(self) -> None:
        self._show_argv()
        denial = self._denial(self.command) if self.command else None
        self.show_error(f"permission denied ({denial.explain()})" if denial else "")

    @on(OptionList.OptionSelected, "#commands")
    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "")
        if self.whitelisted or key not in ("up", "down") or not self._history:
            return
        if self.focused is not self.query_one("#command", Input):
            return
        step = -1 if key == "up" else 1
        self._history_pos = max(0, min(len(self._history), self._history_pos + step))
        value = self._history[self._history_pos] if self._history_pos < len(self._history) else ""
        field_ = self.query_one("#command", Input)
        field_.value = value
        field_.cursor_position = len(value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run":
            self.action_run()
        else:
            self.action_cancel()

    def show_error(self, message: str) -> None:
        """Explain a refusal in the dialog (empty: clear it)."""
        self.query_one("#run-error", Static).update(
            Content.from_markup("[$error]✗[/] $m", m=message) if message else "")
        self.set_class(bool(message), "-refused")

    def action_cancel(self) -> None:
        if not self._starting:
            self.dismiss(None)

    def action_run(self) -> None:
        """Check the options, then create and start the process on a worker thread."""
        if self._starting:
            return
        command = self.command
        try:
            if not command:
                raise ValueError("pick or type a command first")
            denial = self._denial(command)
            if denial is not None:
                raise ValueError(f"permission denied ({denial.explain()})")
            request = RunRequest(
                executor_id=self.entry.id, command=command,
                work_dir=self.query_one("#work-dir", Input).value.strip(),
                env=parse_env(self.query_one("#env", TextArea).text),
                timeout=parse_timeout(self.query_one("#timeout", Input).value),
            )
        except ValueError as err:
            self.show_error(str(err))
            return
        if not self.whitelisted and (not self._history or self._history[-1] != command):
            self._history.append(command)
        self._history_pos = len(self._history)
        self._starting = True
        self.query_one("#run-error", Static).update(Content.from_markup("[$foreground-muted]starting…[/]"))
        self.run_worker(lambda: self._start(request), thread=True, exit_on_error=False, group="run-start")

    def _start(self, request: RunRequest) -> None:
        # Worker thread: creating a container contacts the daemon, so never on the UI thread.
        try:
            process = self._starter(request)
        except ExecError as err:
            post_call(self.app, self._refused, err.message)
        except Exception as err:  # noqa: BLE001 - shown in the dialog, never a traceback
            post_call(self.app, self._refused, f"unexpected error: {err}")
        else:
            post_call(self.app, self._started, process)

    def _refused(self, message: str) -> None:
        self._starting = False
        self.show_error(message)

    def _started(self, process: Process) -> None:
        self._starting = False
        self.dismiss(process)
