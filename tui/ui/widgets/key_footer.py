"""The key footer of the main screen: the keys Textual's ``Footer`` shows, drawn by one widget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

_DIM = Style(dim=True)


# Textual's footer drew each key as a widget, and a screenshot merges neighbouring segments of equal style
# only within a widget. Marks that change nothing on screen (an attribute set off) keep the parts of this
# one line apart where they were apart before (a key's last part and the gap after the last key, the
# palette key and its padding, two keys of one style in a row), so the line reads as before, segment for
# segment, in screenshots too. Meta would not do: the screens under a dialog lose it before merging.
_GAP = Style(overline=False)
_ODD_KEY = Style(strike=False)


@dataclass(frozen=True)
class _Styles:
    """The footer's Rich styles of one drawing, read from its component classes (so from the theme)."""

    base: Style
    key: Style
    description: Style
    hover: Style

    @property
    def key_on_hover(self) -> Style:
        return Style(color=self.key.color, bold=self.key.bold)

    @property
    def description_on_hover(self) -> Style:
        return Style(color=self.description.color)


@dataclass(frozen=True)
class _Key:
    """One key as the footer shows it."""

    key: str
    """What pressing it means to the app (``App.simulate_key``)."""
    display: str
    """How the key is written (``^w``)."""
    description: str
    disabled: bool
    compact: bool = False
    """Drawn tight, with the palette border before it (the command palette key, on the right)."""

    @property
    def width(self) -> int:
        """Cells taken by the key and its description."""
        return sum(map(len, self.parts()))

    def parts(self) -> tuple[str, str]:
        """The key's text and the description's, padded as Textual's footer pads them."""
        if self.compact:
            return self.display, f" {self.description}"
        if not self.description:
            return self.display, ""
        return f" {self.display} ", f"{self.description} "


class KeyFooter(Widget):
    """The active keys of the focused widget and its ancestors, with the command palette key on the right.

    It looks like Textual's ``Footer`` (same theme variables and padding, disabled keys dim, the key under
    the mouse highlighted, a click presses it; no tooltips) but is one widget that draws a line. ``Footer``
    mounts a widget per key and rebuilds them all, with a layout of the whole screen, after every focus
    change, once per change: about 60 ms of the UI thread per tab switch on a quiet console, six rebuilds
    of 130-350 ms as a run tab opened during a flood. Here a change redraws the line, at most once per
    screen refresh.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "footer-key--key",
        "footer-key--description",
        "key-footer--hover",
        "key-footer--palette-border",
    }
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-footer--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        & > .key-footer--palette-border {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: tuple[_Key, ...] = ()
        self._spans: list[tuple[int, int, _Key]] = []  # cells each key takes, for the mouse
        self._hover: _Key | None = None
        self._update_pending = False

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        # Several changes come together (a focus change, a tab switch): one look after the next refresh.
        if not self._update_pending and self.is_attached and screen is self.screen:
            self._update_pending = True
            self.call_after_refresh(self._update_keys)

    def _update_keys(self) -> None:
        self._update_pending = False
        if not self.app.app_focus:
            return  # as Footer: the keys stay as they were while the app has no focus
        keys = self._active_keys()
        if keys != self._keys:
            self._keys = keys
            self.refresh()

    def _active_keys(self) -> tuple[_Key, ...]:
        """The keys to show, in Textual's footer order: one per action, the first binding of each."""
        app = self.app
        shown: dict[str, _Key] = {}
        for _, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = _Key(binding.key, app.get_key_display(binding), binding.description,
                                             not enabled)
        keys = list(shown.values())
        if app.ENABLE_COMMAND_PALETTE:
            palette = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                _, binding, enabled, _tooltip = palette
                keys.append(_Key(binding.key, app.get_key_display(binding), binding.description, not enabled,
                                 compact=True))
        return tuple(keys)

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        styles = _Styles(
            base=base,
            key=base + self.get_component_rich_style("footer-key--key"),
            description=base + self.get_component_rich_style("footer-key--description"),
            hover=base + self.get_component_rich_style("key-footer--hover"),
        )
        width = self.size.width
        segments: list[Segment] = []
        self._spans = []  # (first cell, cell after, key)
        keys = [key for key in self._keys if not key.compact]
        palette = next((key for key in self._keys if key.compact), None)
        palette_width = 0 if palette is None else 1 + palette.width + 1  # border, text, padding
        x = 0
        for n, key in enumerate(keys):
            self._append(segments, key, styles, _ODD_KEY if n % 2 else None)
            self._spans.append((x, x + key.width, key))
            x += key.width
        # The keys get what the palette key leaves, and are cut there (Textual docks that key right).
        room = max(0, width - palette_width)
        strip = Strip(segments).crop_extend(0, room, base + _GAP)
        self._spans = [(start, min(end, room), key) for start, end, key in self._spans if start < room]
        if palette is not None:
            tail: list[Segment] = [Segment("▏", base + self.get_component_rich_style("key-footer--palette-border"))]
            self._append(tail, palette, styles)
            tail.append(Segment(" ", (styles.hover if palette == self._hover else base) + _GAP))
            strip = Strip.join([strip, Strip(tail)])
            self._spans.append((room, width, palette))  # the border and the padding are the key's too
        return strip.crop_extend(0, width, base)

    def _append(self, segments: list[Segment], key: _Key, styles: _Styles, mark: Style | None = None) -> None:
        """Append the segments of ``key``, with ``mark`` added to their style."""
        key_text, description_text = key.parts()
        hovered = key == self._hover
        key_style = styles.hover + styles.key_on_hover if hovered else styles.key
        description_style = styles.hover + styles.description_on_hover if hovered else styles.description
        if key.disabled:
            key_style, description_style = key_style + _DIM, description_style + _DIM
        segments.append(Segment(key_text, key_style + mark))
        if description_text:
            segments.append(Segment(description_text, description_style + mark))

    def _key_at(self, x: int) -> _Key | None:
        return next((key for start, end, key in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hover = self._key_at(event.x)
        if hover != self._hover:
            self._hover = hover
            self.refresh()

    def on_leave(self) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self._key_at(event.x)
        if key is None:
            return
        if key.disabled:
            self.app.bell()
        else:
            self.app.simulate_key(key.key)
