"""The Lua REPL tab: a transcript, a Lua editor with a prompt, and a status line.

How the app uses it::

    yield ReplView(lambda on_print: make_repl(engine, on_print))

    def on_repl_view_evaluated(self, event: ReplView.Evaluated) -> None:
        ...  # refresh whatever Lua may have changed (runs started from Lua reach the app through the engine)

Evaluation runs on a thread worker (``exit_on_error=False``), one chunk at a time: while a chunk runs, Enter
is refused (the text stays in the editor, which stays editable, and the status line says why), ``ctrl+c``
cancels the chunk and ``ctrl+r`` replaces the session with a fresh one, ending a running chunk at once.
A chunk that does not stop when cancelled (stuck in a C function) costs the session its runtime: the
transcript says so. ``print`` lines reach the transcript in batches every 50 ms while the chunk runs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.message import Message
from textual.widgets import Label, OptionList, TextArea
from textual.worker import Worker, WorkerState

from tui.lua.history import History
from tui.lua.repl import ReplResult, ReplSession
from tui.lua.runtime import DEFAULT_MAX_MEMORY
from tui.ui.widgets.repl_editor import MAX_EDITOR_LINES, CompletionMenu, EnterDecision, PromptGutter, ReplEditor
from tui.ui.widgets.repl_transcript import Entry, ReplTranscript

EngineFactory = Callable[[Callable[[str], None]], ReplSession]
"""Makes the session's engine; its argument is the ``on_print`` callback (called from a thread that is not
the UI's, only for the current session's chunks)."""

SANDBOX_NOTE = f"sandbox: exec only · no io/os/debug · memory cap {DEFAULT_MAX_MEMORY // (1024 * 1024)} MiB"
"""What the status line says about where Lua runs."""

MAX_PRINTS_PER_FLUSH = 100
"""``print`` lines shown per 50 ms flush (RichLog renders a few thousand lines/s on a busy machine). A chunk
printing faster shows the latest lines of each flush and a note of how many were skipped: the transcript
is for a person reading, bulk output belongs in a run tab."""

_TICK = 0.05


class ReplView(Container):
    """The REPL tab. See the module docstring for the contract with the app.

    ``make_engine(on_print)`` is called once, at construction; the view closes the engine (its ``close()``,
    if it has one) when it is unmounted. ``history`` defaults to the user's history
    file (``$XDG_DATA_HOME/execdeck/repl_history``). The transcript keeps the last ``max_entries`` entries.
    """

    DEFAULT_CSS: ClassVar[str] = """
    ReplView {
        layout: vertical;
        & > #repl-input {
            height: auto;
            border-top: solid $panel;
            background: $surface;
        }
        & > #repl-status {
            height: 1;
            background: $panel;
            padding: 0 1;
            & > #repl-sandbox { width: 1fr; color: $foreground-muted; }
            & > #repl-state { width: auto; color: $foreground-muted; }
        }
        &.-running > #repl-status > #repl-state { color: $text-warning; text-style: bold; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # ctrl+c is also bound in the editor (where it replaces TextArea's copy); this one serves the
        # transcript. ctrl+r, not ctrl+l or F-keys: it is free in TextArea and reads as "reset".
        Binding("ctrl+c", "interrupt", "Cancel/clear"),
        Binding("ctrl+r", "reset", "Reset Lua"),
        Binding("ctrl+l", "clear_transcript", "Clear"),
    ]

    class Evaluated(Message):
        """A chunk ended (ran to its end, failed or was cancelled): Lua may have changed things."""

        def __init__(self, ok: bool) -> None:
            super().__init__()
            self.ok = ok
            """Whether the chunk ran to its end."""

    def __init__(
        self,
        make_engine: EngineFactory,
        *,
        history: History | None = None,
        max_entries: int = 2000,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.history = history if history is not None else History()
        """The input history (saved after every chunk that runs)."""
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._pending: deque[str] = deque(maxlen=MAX_PRINTS_PER_FLUSH)
        self._pending_dropped = 0
        self._run_printed = 0
        self._worker: Worker[ReplResult] | None = None
        self._busy = False
        self._cancel_requested = False
        self._started_at = 0.0
        self._notice = ""
        self._notice_until = 0.0
        self._state_text = "ready"
        self._editor_rows = 1
        self._engine = make_engine(self._on_print)

    @property
    def engine(self) -> ReplSession:
        """The session's engine."""
        return self._engine

    @property
    def running(self) -> bool:
        """Whether a chunk is running."""
        return self._busy

    @property
    def editor(self) -> ReplEditor:
        """The input editor."""
        return self.query_one(ReplEditor)

    @property
    def transcript(self) -> ReplTranscript:
        """The transcript."""
        return self.query_one(ReplTranscript)

    def compose(self) -> ComposeResult:
        menu = CompletionMenu()
        editor = ReplEditor(on_enter=self._decide_enter, completer=self._complete, history=self.history, menu=menu)
        yield ReplTranscript(max_entries=self._max_entries)
        yield menu
        with Horizontal(id="repl-input"):
            yield PromptGutter(editor)
            yield editor
        with Horizontal(id="repl-status"):
            yield Label(SANDBOX_NOTE, id="repl-sandbox")
            yield Label("ready", id="repl-state")

    def on_mount(self) -> None:
        editor = self.editor
        self.watch(editor, "scroll_y", self._refresh_gutter, init=False)
        editor.focus()
        self.set_interval(_TICK, self._tick, name="repl-tick")
        if self.history.last_error:
            self._flash(self.history.last_error)

    def on_unmount(self) -> None:
        # The view made the engine, so it ends it: an engine with a `close()` (the `exec` session) then
        # ends the processes its chunks started. A running chunk is cancelled first.
        self._engine.cancel()
        close = getattr(self._engine, "close", None)
        if callable(close):
            close()

    # -- running a chunk ----------------------------------------------------------------------------

    def submit(self, text: str) -> bool:
        """Run ``text`` as if typed and entered; False (nothing done) while a chunk runs or if it is blank."""
        if self._busy or not text.strip():
            return False
        self._start(text)
        return True

    def _decide_enter(self, text: str) -> EnterDecision:
        if self._busy:
            self._flash("a chunk is running: ctrl+c cancels it, ctrl+r resets the session")
            self.app.bell()
            return "refuse"
        if not text.strip():
            return "refuse"
        # Safe on the UI thread: only compiles, and no chunk holds the engine now.
        if not self._engine.is_complete(text):
            return "continue"
        self._start(text)
        return "run"

    def _start(self, text: str) -> None:
        chunk = text.rstrip("\n")
        self.transcript.add([Entry("input", chunk)])
        self.history.add(chunk)
        if self.history.last_error:
            self._flash(self.history.last_error)
        self._busy = True
        self._cancel_requested = False
        self._started_at = time.monotonic()
        with self._lock:
            self._run_printed = 0
        self.add_class("-running")

        engine = self._engine

        def evaluate() -> ReplResult:
            return engine.evaluate(chunk)

        self._worker = self.run_worker(evaluate, name="repl-eval", group="repl", thread=True,
                                       exit_on_error=False, description=chunk[:60])
        self._show_state()

    def _on_print(self, line: str) -> None:
        """``print`` from Lua (a background thread): held for the next flush."""
        with self._lock:
            self._run_printed += 1
            if len(self._pending) == MAX_PRINTS_PER_FLUSH:
                self._pending_dropped += 1  # the deque drops the oldest: the latest lines matter most
            self._pending.append(line)

    def _flush_prints(self) -> None:
        with self._lock:
            lines, dropped = list(self._pending), self._pending_dropped
            self._pending.clear()
            self._pending_dropped = 0
        entries = [Entry("note", f"… {dropped} printed lines skipped (printing too fast to show)")] if dropped else []
        if lines:
            entries.append(Entry("output", "\n".join(lines)))
        if entries:
            self.transcript.add(entries)

    def _tick(self) -> None:
        if self._busy:
            self._flush_prints()
            if self._cancel_requested:
                # cancel() only reaches a run that has started: repeat it until the worker gets there.
                self._engine.cancel()
        self._show_state()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name != "repl-eval":
            return
        event.stop()
        if worker is not self._worker or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return  # not ended yet, or abandoned by a reset (its news is stale)
        if event.state == WorkerState.SUCCESS and isinstance(worker.result, ReplResult):
            result = worker.result
        else:
            # Not a Lua error (those come back as results): say what broke, never with a Python traceback.
            error = worker.error
            result = ReplResult(error=f"internal error: {type(error).__name__}: {error}")
        self._finish(result)

    def _finish(self, result: ReplResult) -> None:
        self._flush_prints()
        with self._lock:
            printed = self._run_printed
        entries = [Entry("output", line) for line in result.output[printed:]]  # if the factory ignored on_print
        if result.restarted:
            if result.cancelled:
                entries.append(Entry("cancelled", "cancelled"))
            entries.append(Entry("note", f"— {result.error}: fresh Lua session, globals cleared —"))
        elif result.cancelled:
            entries.append(Entry("cancelled", "cancelled"))
        elif result.error is not None:
            entries.append(Entry("error", result.error, result.traceback))
        else:
            entries.extend(Entry("value", value) for value in result.values)
        self.transcript.add(entries)
        self._end_run()
        self.post_message(self.Evaluated(result.ok))

    def _end_run(self) -> None:
        self._worker = None
        self._busy = False
        self._cancel_requested = False
        self.remove_class("-running")
        self._show_state()

    # -- actions -------------------------------------------------------------------------------------

    def action_interrupt(self) -> None:
        """ctrl+c: cancel the running chunk; else copy the editor's selection, or clear the editor."""
        if self._busy:
            self._cancel_requested = True
            self._engine.cancel()
            self._flash("cancelling…")
            return
        editor = self.editor
        if editor.selected_text:
            editor.action_copy()
            return
        editor.clear()
        editor.reset_history_walk()
        editor.menu.hide()

    @on(ReplEditor.Interrupt)
    def _editor_interrupt(self, event: ReplEditor.Interrupt) -> None:
        event.stop()
        self.action_interrupt()

    def action_reset(self) -> None:
        """ctrl+r: a fresh Lua session (globals gone); a running chunk ends with the old one, unwaited."""
        abandoned = self._busy
        self._engine.reset()
        with self._lock:
            self._pending.clear()
            self._pending_dropped = 0
        if abandoned:
            self._end_run()
        note = "fresh Lua session: globals cleared" + (" (the running chunk was ended)" if abandoned else "")
        self.transcript.add([Entry("note", f"— {note} —")])
        if abandoned:
            self.post_message(self.Evaluated(False))

    def action_clear_transcript(self) -> None:
        """ctrl+l: blank the transcript (the session keeps its globals)."""
        self.transcript.clear_entries()

    # -- the editor's hooks and look -----------------------------------------------------------------

    def _complete(self, text: str, cursor: int) -> list[str]:
        return [] if self._busy else self._engine.complete(text, cursor)

    @on(OptionList.OptionSelected)
    def _completion_clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.editor.accept_completion(str(event.option.prompt))
        self.editor.focus()

    @on(TextArea.Changed)
    def _editor_changed(self, event: TextArea.Changed) -> None:
        editor = self.editor
        gutter = self.query_one(PromptGutter)
        rows = max(1, min(editor.document.line_count, MAX_EDITOR_LINES))
        if rows != self._editor_rows:
            # Both heights from one number, so the prompts always line up with the editor's lines.
            self._editor_rows = rows
            editor.styles.height = rows
            gutter.styles.height = rows
        gutter.refresh()

    def _refresh_gutter(self) -> None:
        self.query_one(PromptGutter).refresh()

    def _flash(self, text: str, seconds: float = 3.0) -> None:
        self._notice = text
        self._notice_until = time.monotonic() + seconds
        self._show_state()

    def _show_state(self) -> None:
        """The right end of the status line: ready, running (with elapsed time) or cancelling, and a notice."""
        now = time.monotonic()
        if self._busy:
            state = f"running… {now - self._started_at:.1f}s · ctrl+c cancels"
            if self._cancel_requested:
                state = f"cancelling… {now - self._started_at:.1f}s · ctrl+r resets"
        else:
            state = "ready"
        if self._notice and now < self._notice_until and not self._cancel_requested:
            state = f"{self._notice} │ {state}"
        if state != self._state_text:
            self._state_text = state
            self.query_one("#repl-state", Label).update(state)
