"""Themes and settings: files on disk become themes and choices, and broken files become problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.harness import RunViewApp
from tui.ui.settings import Settings, load_settings, save_settings
from tui.ui.themes import DEFAULT_VARIABLES, load_theme_file, load_themes, project_theme_dirs


def test_the_project_themes_load_and_set_every_console_variable() -> None:
    themes, problems = load_themes(project_theme_dirs())
    assert problems == []
    assert {"execdeck-dark", "execdeck-light"} <= {t.name for t in themes}
    for theme in themes:
        assert set(DEFAULT_VARIABLES) <= set(theme.variables), theme.name


def test_packaged_themes_are_copies_of_the_project_themes() -> None:
    root = Path(__file__).resolve().parents[2]
    for path in (root / "themes").glob("*.yaml"):
        assert (root / "tui" / "themes" / path.name).read_text() == path.read_text()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("name: [unclosed", "not a readable YAML file"),
        ("- a list\n", "must be a mapping"),
        ("name: x\nprimary: '#fff'\nprimry: '#000'\n", "did you mean 'primary'"),
        ("primary: '#fff'\n", "'name' is required"),
        ("name: x\nprimary: notacolour\n", "primary is not a colour"),
        ("name: x\nprimary: '#fff'\nvariables:\n  execdeck-stderr: 12\n", "execdeck-stderr must be a colour"),
    ],
)
def test_a_broken_theme_file_names_the_file_and_the_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(content)
    themes, problems = load_themes([tmp_path])
    assert themes == []
    assert len(problems) == 1 and str(path) in problems[0] and reason in problems[0]


async def test_user_themes_load_and_a_broken_one_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    themes_dir = tmp_path / "execdeck" / "themes"
    themes_dir.mkdir(parents=True)
    mine = "name: mine\nprimary: '#336699'\nvariables:\n  execdeck-stderr: '#ff0000'\n"
    (themes_dir / "mine.yaml").write_text(mine)
    (themes_dir / "bad.yaml").write_text("name: bad\nprimary: nope\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = RunViewApp(theme="bad")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert any("bad.yaml" in p for p in app.theme_problems)
        assert any("'bad' is not available" in p for p in app.theme_problems)
        assert app.theme == "execdeck-dark"
        assert "mine" in app.available_themes
        app.theme = "mine"
        await pilot.pause()
        assert app.theme_variables["execdeck-stderr"] == "#ff0000"
        assert "execdeck-exit-ok" in app.theme_variables  # derived from the theme's own palette


async def test_built_in_ansi_themes_get_ansi_console_colours() -> None:
    app = RunViewApp(theme="ansi-dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "ansi-dark"
        assert app.theme_variables["execdeck-stderr"] == "ansi_red"


def test_settings_round_trip_and_a_corrupt_file_gives_defaults_and_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    assert load_settings(path) == (Settings(), [])
    save_settings(Settings(theme="execdeck-light", scrollback_lines=5000), path)
    assert load_settings(path) == (Settings(theme="execdeck-light", scrollback_lines=5000), [])
    path.write_text("theme: [broken")
    settings, problems = load_settings(path)
    assert settings == Settings() and len(problems) == 1 and str(path) in problems[0]
    path.write_text("scrollback_lines: -3\n")
    settings, problems = load_settings(path)
    assert settings.scrollback_lines == 100_000 and "positive integer" in problems[0]


def test_load_theme_file_accepts_alpha_and_ansi_colours(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("name: t\nprimary: ansi_blue\nvariables:\n  execdeck-search-hit: '#ffcc00 50%'\n")
    assert load_theme_file(path).variables["execdeck-search-hit"] == "#ffcc00 50%"
