"""The REPL's input: a multi-line Lua editor with shell-like history and a completion menu.

The editor knows nothing of Lua evaluation. Its owner (:class:`~tui.ui.widgets.repl_view.ReplView`) gives it
three synchronous hooks: ``on_enter(text)`` decides what Enter does, ``completer(text, cursor)`` lists
completions, and a :class:`~tui.lua.history.History` to walk. They run on the UI thread and must be quick.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Callable
from typing import ClassVar, Literal

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import OptionList, TextArea
from textual.widgets.text_area import TextAreaTheme

from tui.lua.completion import completion_span
from tui.lua.history import History
from tui.ui.widgets.repl_transcript import CONTINUATION, PROMPT, syntax_styles

EnterDecision = Literal["run", "continue", "refuse"]
"""What Enter does: the chunk was taken (the editor clears itself), it needs more lines (a newline is
inserted), or it cannot run now (nothing changes)."""

MAX_EDITOR_LINES = 10
"""The editor grows with its text up to this many rows, then scrolls."""

INDENT = "  "
# A line ending like this opens a block: the next line gets one more indent.
_OPENERS = ("do", "then", "else", "repeat", "{", "(")


def _lua_language() -> tuple[object, str] | None:
    """tree-sitter-lua's language and highlight query, or ``None`` when they cannot be loaded."""
    try:
        import tree_sitter_lua
        from tree_sitter import Language

        query = (importlib.resources.files("tree_sitter_lua") / "queries" / "highlights.scm").read_text("utf-8")
        return Language(tree_sitter_lua.language()), query
    except (ImportError, OSError, ValueError, TypeError, AttributeError):
        return None


def _common_prefix(words: list[str]) -> str:
    shortest, longest = min(words), max(words)
    for index, char in enumerate(shortest):
        if char != longest[index]:
            return shortest[:index]
    return shortest


class CompletionMenu(OptionList):
    """The candidates when Tab finds several; driven by the editor's keys, so it never takes focus."""

    can_focus = False
    DEFAULT_CSS: ClassVar[str] = """
    CompletionMenu {
        display: none;
        height: auto;
        max-height: 8;
        width: auto;
        min-width: 24;
        max-width: 60;
        margin-left: 5;
        border: none;
        padding: 0;
        background: $panel;
        &.-open { display: block; }
        /* The menu never has focus, but its choice must stand out as if it had. */
        & > .option-list--option-highlighted {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
    }
    """

    @property
    def is_open(self) -> bool:
        """Whether the menu is showing."""
        return self.has_class("-open")

    def show(self, candidates: list[str]) -> None:
        """Show ``candidates``, the first one highlighted."""
        self.set_options(candidates)
        self.highlighted = 0
        self.add_class("-open")

    def hide(self) -> None:
        """Hide the menu (its options are dropped)."""
        if self.is_open:
            self.remove_class("-open")
            self.clear_options()

    def current(self) -> str | None:
        """The highlighted candidate."""
        if not self.is_open or self.highlighted is None:
            return None
        return str(self.get_option_at_index(self.highlighted).prompt)


class PromptGutter(Widget):
    """``lua>`` beside the editor's first line and ``..>`` beside the others; scrolls with the editor."""

    DEFAULT_CSS: ClassVar[str] = """
    PromptGutter {
        width: 5;
        height: 1;
        color: $execdeck-repl-prompt;
        text-style: bold;
        background: $surface;
    }
    """

    def __init__(self, editor: TextArea) -> None:
        super().__init__()
        self._editor = editor

    def render_line(self, y: int) -> Strip:
        row = y + round(self._editor.scroll_y)
        label = "" if row >= self._editor.document.line_count else PROMPT if row == 0 else CONTINUATION
        width = self.size.width
        return Strip([Segment(label.ljust(width)[:width], self.rich_style)], width)


class ReplEditor(TextArea):
    """A Lua editor where Enter runs, Up/Down walk history at the edges and Tab completes.

    Keys (besides TextArea's own editing keys):

    - ``enter``: on the last line, asks ``on_enter``; elsewhere inserts a newline.
    - ``shift+enter`` / ``ctrl+j``: always a newline. A terminal sends the same byte for Enter and
      shift+Enter unless it speaks the kitty keyboard protocol (kitty, WezTerm, foot, Ghostty, recent
      iTerm2), which Textual turns on; ``ctrl+j`` (a line feed, distinct from Enter's carriage return)
      works in every terminal. ``alt+enter`` arrives as a plain Enter, so it is not used.
    - ``up`` on the first line / ``down`` on the last: older / newer history entries starting with the text
      typed so far (an empty editor walks all of them).
    - ``tab``: completes the name before the cursor (indents when only blanks precede it); with several
      candidates the longest common prefix is inserted and a menu opens: ``tab``/``down`` and
      ``shift+tab``/``up`` move, ``enter`` takes one (so does ``tab`` when one is left), ``escape`` closes,
      typing narrows it.
    - ``ctrl+c``: posts :class:`ReplEditor.Interrupt` (cancel, copy the selection or clear: the owner
      decides), replacing TextArea's copy.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("shift+enter,ctrl+j", "newline", "Newline", show=False),
        Binding("ctrl+c", "interrupt", "Cancel/clear"),
    ]

    DEFAULT_CSS: ClassVar[str] = """
    ReplEditor {
        height: 1;
        border: none;
        padding: 0;
        background: $surface;
        scrollbar-size-horizontal: 0;
        &:focus { border: none; }
    }
    """

    class Interrupt(Message):
        """ctrl+c in the editor."""

    def __init__(
        self,
        *,
        on_enter: Callable[[str], EnterDecision],
        completer: Callable[[str, int], list[str]],
        history: History,
        menu: CompletionMenu,
        id: str | None = None,
    ) -> None:
        super().__init__(
            "", soft_wrap=False, tab_behavior="indent", show_line_numbers=False, id=id,
            highlight_cursor_line=False,
        )
        self._decide_enter = on_enter
        self._completer = completer
        self.input_history = history
        """The REPL history that Up/Down walk."""
        self.menu = menu
        self._completion_start = 0
        # History walk: the prefix typed, its matches (newest first), where we are, what we showed last.
        self._walk_prefix = ""
        self._walk_matches: list[str] = []
        self._walk_index = -1
        self._walk_shown: str | None = None
        self.lua_highlighting = False
        """Whether Lua highlighting loaded (else the editor is plain text)."""

    def on_mount(self) -> None:
        self._enable_lua()
        self._apply_syntax_theme()
        self.watch(self.app, "theme", self._apply_syntax_theme, init=False)

    # -- look ----------------------------------------------------------------------------------------

    def _enable_lua(self) -> None:
        if os.environ.get("EXECDECK_NO_TREE_SITTER"):
            return  # an escape hatch for a broken grammar build in the field
        loaded = _lua_language()
        if loaded is None:
            return
        language, query = loaded
        try:
            self.register_language("lua", language, query)  # type: ignore[arg-type]
            self.language = "lua"
        except Exception:  # noqa: BLE001 - any grammar/query failure must leave a working plain editor
            self.language = None
            return
        self.lua_highlighting = True

    def _apply_syntax_theme(self) -> None:
        # One TextArea theme per app theme, registered under its own name: setting `theme` to a new name
        # is the public way to make TextArea restyle.
        name = f"execdeck-repl-{self.app.theme}"
        self.register_theme(TextAreaTheme(name=name, syntax_styles=syntax_styles(self.app.get_css_variables())))
        self.theme = name

    # -- keys ----------------------------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if self.menu.is_open:
            if self._menu_key(key):
                event.stop()
                event.prevent_default()
                return
            if not event.is_printable:
                self.menu.hide()
        if key == "enter":
            event.stop()
            event.prevent_default()
            self._enter()
            return
        if key == "tab":
            event.stop()
            event.prevent_default()
            self._tab()
            return
        was_open = self.menu.is_open
        await super()._on_key(event)
        if was_open and event.is_printable:
            self._narrow_completions()

    def _menu_key(self, key: str) -> bool:
        if key == "tab" and self.menu.option_count == 1:
            self.accept_completion()
        elif key in ("tab", "down"):
            self.menu.action_cursor_down()
        elif key in ("shift+tab", "up"):
            self.menu.action_cursor_up()
        elif key == "enter":
            self.accept_completion()
        elif key == "escape":
            self.menu.hide()
        else:
            return False
        return True

    def _enter(self) -> None:
        row, _ = self.cursor_location
        if row < self.document.line_count - 1:
            self.action_newline()
            return
        decision = self._decide_enter(self.text)
        if decision == "run":
            self.clear()
            self.reset_history_walk()
        elif decision == "continue":
            self.action_newline()

    def action_newline(self) -> None:
        """Insert a newline, keeping the line's indent (one more after a line that opens a block)."""
        row, column = self.cursor_location
        line = self.document.get_line(row)[:column]
        indent = line[: len(line) - len(line.lstrip())]
        stripped = line.rstrip()
        if stripped.endswith(_OPENERS) or (stripped.endswith(")") and "function" in stripped):
            indent += INDENT
        self.insert("\n" + indent)

    def action_interrupt(self) -> None:
        self.post_message(self.Interrupt())

    # -- history -------------------------------------------------------------------------------------

    def reset_history_walk(self) -> None:
        """Forget the walk in progress (the next Up starts from the newest entry)."""
        self._walk_index = -1
        self._walk_shown = None
        self._walk_matches = []

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == 0 and self._walk(+1):
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == self.document.line_count - 1 and self._walk(-1):
            return
        super().action_cursor_down(select)

    def _walk(self, step: int) -> bool:
        """Show the next older (``+1``) or newer (``-1``) entry matching the prefix; False if none."""
        if self._walk_shown is None or self.text != self._walk_shown:
            # A fresh walk: what is typed now is the prefix (an edit of a recalled entry starts anew).
            if step < 0:
                return False
            self._walk_prefix = self.text
            self._walk_matches = [e for e in self.input_history.search_prefix(self.text) if e != self.text]
            self._walk_index = -1
        index = self._walk_index + step
        if index >= len(self._walk_matches):
            return False
        if index < 0:
            self._show(self._walk_prefix, at_end=True)
            self.reset_history_walk()
            return True
        self._walk_index = index
        self._show(self._walk_matches[index], at_end=step < 0)
        return True

    def _show(self, text: str, *, at_end: bool) -> None:
        self.load_text(text)
        self._walk_shown = text
        # Going back, the cursor lands on the first line so the next Up keeps walking; forward, the last.
        row = self.document.line_count - 1 if at_end else 0
        self.move_cursor((row, len(self.document.get_line(row))))

    # -- completion ----------------------------------------------------------------------------------

    def _cursor_index(self) -> int:
        row, column = self.cursor_location
        return sum(len(self.document.get_line(r)) + 1 for r in range(row)) + column

    def _location(self, index: int) -> tuple[int, int]:
        before = self.text[:index]
        return before.count("\n"), len(before) - (before.rfind("\n") + 1)

    def _tab(self) -> None:
        row, column = self.cursor_location
        if not self.document.get_line(row)[:column].strip():
            self.insert(INDENT)
            return
        text, cursor = self.text, self._cursor_index()
        candidates = self._completer(text, cursor)
        if not candidates:
            self.app.bell()
            return
        start, _ = completion_span(text, cursor)
        self._completion_start = start
        if len(candidates) == 1:
            self._replace_word(candidates[0])
            return
        common = _common_prefix(candidates)
        if len(common) > cursor - start:
            self._replace_word(common)
        self.menu.show(candidates)

    def _narrow_completions(self) -> None:
        text, cursor = self.text, self._cursor_index()
        candidates = self._completer(text, cursor) if cursor > self._completion_start else []
        if len(candidates) > 1 or (candidates and completion_span(text, cursor)[0] == self._completion_start
                                   and candidates[0] != text[self._completion_start:cursor]):
            self.menu.show(candidates)
        else:
            self.menu.hide()

    def accept_completion(self, candidate: str | None = None) -> None:
        """Replace the name being completed with ``candidate`` (default: the menu's highlighted one)."""
        chosen = candidate if candidate is not None else self.menu.current()
        self.menu.hide()
        if chosen is not None:
            self._replace_word(chosen)

    def _replace_word(self, candidate: str) -> None:
        start = self._location(self._completion_start)
        self.replace(candidate, start, self.cursor_location)
