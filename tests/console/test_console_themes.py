"""Themes in the console: a broken theme file, the picker's live preview, the choice persisted."""

from __future__ import annotations

from pathlib import Path

from tests.console.conftest import SIZE, ConsoleFactory, ready, wait_until
from tui.ui.screens.theme_picker import ThemePicker
from tui.ui.settings import load_settings


async def test_a_broken_theme_file_gives_a_notice_naming_it_and_a_working_theme(
    console: ConsoleFactory, home: Path
) -> None:
    themes = home / "config" / "execdeck" / "themes"
    themes.mkdir(parents=True)
    (themes / "broken.yaml").write_text("name: broken\nprimary: not-a-colour\n")
    settings = home / "config" / "execdeck" / "settings.yaml"
    settings.write_text("theme: broken\n")
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        messages = [str(n.message) for n in app._notifications]
        assert any("broken.yaml" in m and "not a colour" in m for m in messages), messages
        assert any("'broken' is not available" in m for m in messages)
        assert app.theme == "execdeck-dark"


async def test_the_picker_previews_live_and_keeps_the_choice_in_the_settings(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.theme == "execdeck-dark"
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePicker), "the picker")
        await pilot.press("down")
        previewed = app.theme
        assert previewed != "execdeck-dark", "moving the highlight previews the theme"
        assert load_settings()[0].theme != previewed, "a preview is not a choice yet"
        await pilot.press("escape")
        assert app.theme == "execdeck-dark"
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePicker), "the picker")
        await pilot.press("down", "enter")
        assert app.theme == previewed
        assert load_settings()[0].theme == previewed


async def test_a_theme_from_the_palette_is_applied_and_persisted(console: ConsoleFactory) -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Theme: execdeck-light")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.theme == "execdeck-light", "the light theme")
        assert load_settings()[0].theme == "execdeck-light"
