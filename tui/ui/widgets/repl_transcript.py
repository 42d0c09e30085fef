"""The REPL's transcript, and the Lua colours that the transcript and the editor share.

Colours come from the app's theme variables only (:func:`syntax_styles`), so a theme switch recolours the
whole transcript: it keeps its entries (bounded) and renders them again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Literal

from pygments.lexers import LuaLexer  # type: ignore[import-untyped]
from pygments.token import Comment, Keyword, Name, Number, Operator, String  # type: ignore[import-untyped]
from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError
from textual.events import Resize
from textual.widgets import RichLog

EntryKind = Literal["input", "output", "value", "error", "cancelled", "note"]

PROMPT = "lua> "
"""The prompt of a chunk's first line (the editor's gutter shows the same)."""
CONTINUATION = "..> "
"""The prompt of a chunk's other lines."""

# Which theme variable colours each tree-sitter highlight name. The `text-*` variables are the theme's
# colours made legible on its background, so light themes stay readable.
_SYNTAX_VARIABLES: dict[str, str] = {
    "keyword": "text-primary",
    "keyword.return": "text-primary",
    "keyword.function": "text-primary",
    "keyword.operator": "text-primary",
    "repeat": "text-primary",
    "conditional": "text-primary",
    "label": "text-primary",
    "string": "text-success",
    "string.escape": "text-accent",
    "number": "text-accent",
    "boolean": "text-accent",
    "constant.builtin": "text-accent",
    "constant": "text-accent",
    "function": "text-secondary",
    "function.call": "text-secondary",
    "function.builtin": "text-secondary",
    "method": "text-secondary",
    "method.call": "text-secondary",
    "variable.builtin": "text-secondary",
    "comment": "foreground-muted",
}

# Pygments token types (most specific first) -> the tree-sitter name whose style they take.
_TOKEN_NAMES: list[tuple[Any, str]] = [
    (Keyword.Constant, "boolean"),
    (Keyword, "keyword"),
    (Name.Builtin, "function.builtin"),
    (Name.Function, "function"),
    (String.Escape, "string.escape"),
    (String, "string"),
    (Number, "number"),
    (Comment, "comment"),
    (Operator.Word, "keyword.operator"),
]

_LEXER = LuaLexer(stripnl=False, ensurenl=False)


def theme_colour(variables: Mapping[str, str], name: str) -> str | None:
    """Theme variable ``name`` as an opaque ``#rrggbb`` (blended over the background), or ``None``."""
    value = variables.get(name)
    if not value:
        return None
    try:
        colour = Color.parse(value)
        if colour.a < 1:
            colour = Color.parse(variables.get("background", "#000000")) + colour
    except ColorParseError:
        return None  # e.g. "auto 87%": not a colour by itself
    return colour.hex6


def syntax_styles(variables: Mapping[str, str]) -> dict[str, Style]:
    """Rich styles for tree-sitter highlight names, from the theme ``variables`` (``App.get_css_variables``)."""
    styles: dict[str, Style] = {}
    for name, variable in _SYNTAX_VARIABLES.items():
        colour = theme_colour(variables, variable)
        if colour is not None:
            styles[name] = Style(color=colour, italic=name == "comment")
    return styles


_NAME_OF_TOKEN: dict[Any, str | None] = {}


def _token_name(token: Any) -> str | None:
    try:
        return _NAME_OF_TOKEN[token]
    except KeyError:
        name = next((name for token_type, name in _TOKEN_NAMES if token in token_type), None)
        _NAME_OF_TOKEN[token] = name
        return name


def lua_runs(code: str) -> tuple[tuple[str, str | None], ...]:
    """``code`` cut into runs of text with the highlight name each takes (theme-independent)."""
    runs: list[tuple[str, str | None]] = []
    for token, value in _LEXER.get_tokens(code):
        name = _token_name(token)
        if runs and runs[-1][1] == name:
            runs[-1] = (runs[-1][0] + value, name)
        else:
            runs.append((value, name))
    return tuple(runs)


def highlight_lua(code: str | tuple[tuple[str, str | None], ...], styles: Mapping[str, Style]) -> Text:
    """``code`` (or its :func:`lua_runs`) as Rich text, coloured like the editor colours it."""
    runs = lua_runs(code) if isinstance(code, str) else code
    text = Text()
    for value, name in runs:
        text.append(value, styles.get(name) if name else None)
    return text


@dataclass(frozen=True)
class Entry:
    """One thing the transcript shows: ``text`` (and, for errors, the Lua ``traceback``)."""

    kind: EntryKind
    text: str
    traceback: str = ""

    @cached_property
    def runs(self) -> tuple[tuple[str, str | None], ...]:
        """The Lua highlighting of ``text``, lexed once: a theme change only restyles it."""
        return lua_runs(self.text)


class TranscriptStyles:
    """The styles of one theme, computed once per render pass."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        def style(name: str, *, bold: bool = False, italic: bool = False) -> Style:
            return Style(color=theme_colour(variables, name), bold=bold or None, italic=italic or None)

        self.syntax = syntax_styles(variables)
        self.prompt = style("execdeck-repl-prompt", bold=True)
        self.output = style("execdeck-stdout")
        self.error = style("execdeck-exit-failed", bold=True)
        self.traceback = style("execdeck-exit-failed")
        self.cancelled = style("text-warning", bold=True)
        self.note = style("foreground-muted", italic=True)


def render_entry(entry: Entry, styles: TranscriptStyles) -> Text:
    """How ``entry`` looks in the transcript."""
    if entry.kind == "input":
        text = Text()
        text.append(PROMPT, styles.prompt)
        for value, name in entry.runs:
            for number, part in enumerate(value.split("\n")):
                if number:
                    text.append("\n" + CONTINUATION, styles.prompt)
                text.append(part, styles.syntax.get(name) if name else None)
        return text
    if entry.kind == "output":
        return Text(entry.text, styles.output)
    if entry.kind == "value":
        return highlight_lua(entry.runs, styles.syntax)
    if entry.kind == "error":
        text = Text()
        text.append(entry.text, styles.error)
        traceback = entry.traceback
        if traceback.startswith(entry.text):
            traceback = traceback[len(entry.text):].lstrip("\n")  # debug.traceback repeats the message
        if traceback:
            text.append("\n" + traceback, styles.traceback)
        return text
    if entry.kind == "cancelled":
        return Text("⊘ " + entry.text, styles.cancelled)
    return Text(entry.text, styles.note)


class ReplTranscript(RichLog):
    """A scrolling, bounded record of the session: the last ``max_entries`` entries.

    Each entry is rendered once when added (RichLog keeps rendered lines, so scrolling is cheap) and again
    only when the theme or the width changes. Call :meth:`add` on the UI thread.
    """

    DEFAULT_CSS: ClassVar[str] = """
    ReplTranscript {
        height: 1fr;
        background: $surface;
        border: none;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, max_entries: int = 2000, id: str | None = None, classes: str | None = None) -> None:
        # The line bound is a second guard: one entry (a huge table, a burst of prints) can be many lines.
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=max_entries * 10, id=id,
                         classes=classes)
        self.max_entries = max_entries
        self._entries: deque[Entry] = deque(maxlen=max_entries)
        self._styles: TranscriptStyles | None = None
        self._rendered_width = 0

    @property
    def entries(self) -> list[Entry]:
        """The entries kept, oldest first (a copy)."""
        return list(self._entries)

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def add(self, entries: Iterable[Entry]) -> None:
        """Append ``entries`` and show them (scrolls to the end).

        Output that follows output is one entry: a chunk's prints arrive in as many flushes as the
        timer happened to cut them into, and what the transcript holds must not depend on that.
        """
        styles = self._current_styles()
        added = list(entries)
        if added and added[0].kind == "output" and self._entries and self._entries[-1].kind == "output":
            last = self._entries.pop()
            self._entries.append(Entry("output", f"{last.text}\n{added[0].text}"))
            self._entries.extend(added[1:])
        else:
            self._entries.extend(added)
        if added:
            # One write for many entries: RichLog's cost is mostly per write, not per line.
            self.write(Text("\n").join(render_entry(entry, styles) for entry in added))

    def clear_entries(self) -> None:
        """Forget every entry and blank the transcript."""
        self._entries.clear()
        self.clear()

    def plain_text(self) -> str:
        """Every kept entry as plain text, one per line group (what a copy of the transcript would give)."""
        styles = self._current_styles()
        return "\n".join(render_entry(entry, styles).plain for entry in self._entries)

    def rerender(self) -> None:
        """Render every kept entry again (new theme or width)."""
        self._styles = None
        styles = self._current_styles()
        self.clear()
        if self._entries:
            self.write(Text("\n").join(render_entry(entry, styles) for entry in self._entries), scroll_end=False)
        self._rendered_width = self.scrollable_content_region.width
        self.scroll_end(animate=False, immediate=False, x_axis=False)

    def on_resize(self, event: Resize) -> None:
        width = self.scrollable_content_region.width
        if self._rendered_width and width != self._rendered_width and self._entries:
            # Debounced: a terminal being dragged wider sends many resizes.
            self.set_timer(0.15, self._rerender_if_width_changed, name="repl-transcript-rewrap")
        elif not self._rendered_width:
            self._rendered_width = width

    def _rerender_if_width_changed(self) -> None:
        if self.scrollable_content_region.width != self._rendered_width:
            self.rerender()

    def _theme_changed(self) -> None:
        self.rerender()

    def _current_styles(self) -> TranscriptStyles:
        if self._styles is None:
            self._styles = TranscriptStyles(self.app.get_css_variables())
        return self._styles
