"""The operator's settings, persisted in ``$XDG_CONFIG_HOME/execdeck/settings.yaml``.

A missing file gives the defaults silently; a corrupt one gives the defaults plus a problem string naming
the file, so the console can show a notice and still start.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from tui.core.private import private_folder, write_private

DEFAULT_THEME = "execdeck-dark"
DEFAULT_SCROLLBACK = 100_000
"""Rows an output pane keeps when the settings say nothing: every pane's default reads this one value."""


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/execdeck``, or ``~/.config/execdeck`` when the variable is unset or empty."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "execdeck"


def settings_path() -> Path:
    """Where :func:`load_settings` and :func:`save_settings` read and write by default."""
    return config_dir() / "settings.yaml"


@dataclass(frozen=True)
class Settings:
    """What the console remembers between sessions."""

    theme: str = DEFAULT_THEME
    """Name of the theme to start with (a built-in, project or user theme)."""
    scrollback_lines: int = DEFAULT_SCROLLBACK
    """Rows kept per output pane before the oldest are dropped."""


def load_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """Read the settings; never raises. Returns the settings and the problems found (file: reason)."""
    path = settings_path() if path is None else path
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings(), []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        return Settings(), [f"{path}: unreadable settings, using defaults ({first_line(err)})"]
    if raw is None:
        return Settings(), []
    if not isinstance(raw, dict):
        return Settings(), [f"{path}: settings must be a mapping, using defaults"]
    problems: list[str] = []
    theme = raw.get("theme", DEFAULT_THEME)
    if not isinstance(theme, str) or not theme:
        problems.append(f"{path}: theme must be a name, using {DEFAULT_THEME!r}")
        theme = DEFAULT_THEME
    scrollback = raw.get("scrollback_lines", DEFAULT_SCROLLBACK)
    if isinstance(scrollback, bool) or not isinstance(scrollback, int) or scrollback < 1:
        problems.append(f"{path}: scrollback_lines must be a positive integer, using {DEFAULT_SCROLLBACK}")
        scrollback = DEFAULT_SCROLLBACK
    problems.extend(f"{path}: unknown setting {key!r} ignored" for key in raw if key not in _FIELDS)
    return Settings(theme=theme, scrollback_lines=scrollback), problems


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically, private to the user (0600 in a 0700 folder). Raises ``OSError``."""
    path = settings_path() if path is None else path
    private_folder(path.parent)
    write_private(path, yaml.safe_dump(asdict(settings), sort_keys=True))


_FIELDS = frozenset(Settings.__dataclass_fields__)


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, for a one-line problem string."""
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
