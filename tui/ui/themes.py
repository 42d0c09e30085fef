"""Theme files: the project's own (``themes/*.yaml``) and the operator's (``<config>/execdeck/themes``).

A theme file holds Textual's theme fields plus ``variables:`` for the console's own colours (see
:data:`DEFAULT_VARIABLES`). Loading never raises: a broken file becomes a problem string
``"<file>: <reason>"`` and the other themes still load.

How an app uses this module::

    class ExecdeckApp(App):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return dict(DEFAULT_VARIABLES)     # lets the widgets' CSS parse under any theme

        def on_mount(self) -> None:
            problems = register_themes(self)
            problems += apply_theme(self, settings.theme)
"""

from __future__ import annotations

import difflib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml
from textual.app import App
from textual.color import Color, ColorParseError
from textual.theme import Theme

from tui.ui.settings import DEFAULT_THEME, config_dir, first_line

#: Every colour variable the console's widgets use, with a default for themes that do not set it.
#: Built-in themes get better defaults from their own palette (see :func:`with_console_variables`).
DEFAULT_VARIABLES: dict[str, str] = {
    "execdeck-stdout": "#E0E0E0",
    "execdeck-stderr": "#E06C75",
    "execdeck-exit-ok": "#4EBF71",
    "execdeck-exit-failed": "#E06C75",
    "execdeck-search-hit": "#E5B567",
    "execdeck-search-hit-text": "#121212",
    "execdeck-search-current": "#FF9E3D",
    "execdeck-cursor-line": "#2E3A48",
    "execdeck-gutter": "#6E7781",
    "execdeck-repl-prompt": "#0178D4",
}

# Which generated colour of a theme stands in for each console variable it does not set itself.
# Derived per theme, so the ANSI themes (which follow the terminal's palette) get ANSI colours.
_DERIVED_FROM: dict[str, str] = {
    "execdeck-stdout": "foreground",
    "execdeck-stderr": "error",
    "execdeck-exit-ok": "success",
    "execdeck-exit-failed": "error",
    "execdeck-search-hit": "warning",
    "execdeck-search-hit-text": "background",
    "execdeck-search-current": "accent",
    "execdeck-cursor-line": "panel",
    "execdeck-gutter": "foreground-muted",
    "execdeck-repl-prompt": "primary",
}

_COLOUR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground",
                  "background", "surface", "panel", "boost")
_KNOWN_FIELDS = frozenset(f.name for f in fields(Theme))


class ThemeFileError(ValueError):
    """A theme file that cannot be used; ``str(err)`` is ``"<file>: <reason>"``."""


def project_theme_dirs() -> list[Path]:
    """The project's theme folders: ``themes/`` of a source checkout, else the copy inside the package."""
    package_dir = Path(__file__).resolve().parent.parent
    checkout = package_dir.parent / "themes"
    return [checkout] if checkout.is_dir() else [package_dir / "themes"]


def user_theme_dir() -> Path:
    """``$XDG_CONFIG_HOME/execdeck/themes`` (default ``~/.config/execdeck/themes``)."""
    return config_dir() / "themes"


def load_theme_file(path: Path) -> Theme:
    """Read one theme file. Raises :class:`ThemeFileError` naming the file and the reason."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ThemeFileError(f"{path}: not a readable YAML file ({first_line(err)})") from None
    if not isinstance(raw, dict):
        raise ThemeFileError(f"{path}: a theme file must be a mapping of theme fields")
    for key in raw:
        if key not in _KNOWN_FIELDS:
            hint = difflib.get_close_matches(str(key), _KNOWN_FIELDS, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ThemeFileError(f"{path}: unknown field {key!r}{suggestion}")
    for required in ("name", "primary"):
        if not isinstance(raw.get(required), str) or not raw[required]:
            raise ThemeFileError(f"{path}: field {required!r} is required and must be a string")
    for key in _COLOUR_FIELDS:
        if raw.get(key) is not None:
            _check_colour(path, key, raw[key])
    if not isinstance(raw.get("dark", True), bool):
        raise ThemeFileError(f"{path}: field 'dark' must be true or false")
    variables = raw.get("variables") or {}
    if not isinstance(variables, dict):
        raise ThemeFileError(f"{path}: 'variables' must be a mapping of name to colour")
    for key, value in variables.items():
        if key in DEFAULT_VARIABLES:
            _check_colour(path, f"variables.{key}", value)
        elif not isinstance(value, str):
            raise ThemeFileError(f"{path}: variables.{key} must be a string")
    try:
        return Theme(**{**raw, "variables": {str(k): str(v) for k, v in variables.items()}})
    except (TypeError, ValueError) as err:
        raise ThemeFileError(f"{path}: {err}") from None


def load_themes(directories: list[Path]) -> tuple[list[Theme], list[str]]:
    """Every ``*.yaml`` theme of the given folders (missing folders are fine), and the problems found."""
    themes: list[Theme] = []
    problems: list[str] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yaml")):
            try:
                themes.append(load_theme_file(path))
            except ThemeFileError as err:
                problems.append(str(err))
    return themes, problems


def with_console_variables(theme: Theme) -> Theme:
    """``theme`` with every console variable set: its own values first, then ones derived from its palette."""
    if all(name in theme.variables for name in DEFAULT_VARIABLES):
        return theme
    generated = theme.to_color_system().generate()
    derived = {name: generated.get(source, DEFAULT_VARIABLES[name]) for name, source in _DERIVED_FROM.items()}
    return replace(theme, variables={**derived, **theme.variables})


def register_themes(app: App[Any], user_dir: Path | None = None) -> list[str]:
    """Register the project's and the user's themes (user ones win on a name clash) with ``app``.

    Also fills the console variables of every theme already known to the app (the built-ins) from its
    own palette. Returns the problems, one ``"<file>: <reason>"`` string per broken theme file.
    """
    for theme in list(app.available_themes.values()):
        app.register_theme(with_console_variables(theme))
    directories = [*project_theme_dirs(), user_theme_dir() if user_dir is None else user_dir]
    themes, problems = load_themes(directories)
    for theme in themes:
        app.register_theme(with_console_variables(theme))
    return problems


def apply_theme(app: App[Any], name: str) -> list[str]:
    """Switch ``app`` to theme ``name``, or to a working fallback when it is unknown; returns problems."""
    if name in app.available_themes:
        app.theme = name
        return []
    fallback = DEFAULT_THEME if DEFAULT_THEME in app.available_themes else "textual-dark"
    app.theme = fallback
    return [f"theme {name!r} is not available, using {fallback!r}"]


def _check_colour(path: Path, key: str, value: object) -> None:
    if not isinstance(value, str):
        raise ThemeFileError(f"{path}: {key} must be a colour string, not {value!r}")
    colour = value.rsplit(" ", 1)[0] if value.rstrip().endswith("%") else value
    try:
        Color.parse(colour.strip())
    except ColorParseError:
        raise ThemeFileError(f"{path}: {key} is not a colour: {value!r}") from None

