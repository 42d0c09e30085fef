"""A real browser for the serve tests: Debian's ``chromium``, headless, driven by Selenium through Debian's
matching ``chromedriver`` (never a browser download).

The terminal in the page draws on a canvas, so its text is read from the terminal itself: a script run
before the page's own (:data:`CAPTURE`) keeps the xterm.js terminal that textual-serve's page makes, and
:func:`screen_lines` reads the rows it shows from its buffer.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

#: As root on a closed network Chromium needs all of these, and a fresh profile, or it stalls.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900")

# textual-serve's page sets `this.terminal = new Terminal(...)` on an object of its own: a setter on
# Object.prototype sees that assignment once, keeps the terminal, and puts a plain property back.
CAPTURE = """
Object.defineProperty(Object.prototype, "terminal", {configurable: true, set(value) {
  window.__terminal = value;
  Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
}});
"""

SCREEN = """
const terminal = window.__terminal;
if (!terminal) return null;
const buffer = terminal.buffer.active, rows = [];
for (let i = 0; i < terminal.rows; i++) {
  const line = buffer.getLine(buffer.viewportY + i);
  rows.push(line ? line.translateToString(true) : "");
}
return rows;
"""


def missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing (Debian's chromium and chromium-driver; bash .ci/run installs them)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


def require_browser() -> bool:
    """CI sets REQUIRE_BROWSER=1: a missing browser fails the test there instead of skipping it."""
    return os.environ.get("REQUIRE_BROWSER", "") == "1"


def start(profile: Path) -> Any:
    """A headless Chromium with a fresh ``profile`` folder, the terminal capture installed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE})
    return driver


def stop(driver: Any, profile: Path) -> None:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def screen_lines(driver: Any) -> list[str]:
    """The rows the page's terminal shows now (``[]`` before it exists)."""
    rows = driver.execute_script(SCREEN)
    return list(rows) if rows else []


def wait_for_screen(driver: Any, check: Callable[[list[str]], bool], what: str, timeout: float = 60) -> list[str]:
    """Poll the page's terminal until ``check(rows)``; the rows then. Fails naming ``what`` and showing the
    screen as it was."""
    deadline = time.monotonic() + timeout
    rows = screen_lines(driver)
    while not check(rows):
        if time.monotonic() >= deadline:
            shown = "\n".join(rows)
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; the page shows:\n{shown}")
        time.sleep(0.1)
        rows = screen_lines(driver)
    return rows


def shows(text: str) -> Callable[[list[str]], bool]:
    return lambda rows: any(text in row for row in rows)


def click_cell(driver: Any, row: int, column: int) -> None:
    """Click the terminal's cell at ``row``, ``column`` (from 0), as a visitor clicks a line of the console."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    screen = driver.find_element(By.CSS_SELECTOR, ".xterm-screen")
    rows, columns = driver.execute_script("return [window.__terminal.rows, window.__terminal.cols]")
    width, height = screen.rect["width"], screen.rect["height"]
    # Selenium's offsets count from the element's centre.
    x = (column + 0.5) * width / columns - width / 2
    y = (row + 0.5) * height / rows - height / 2
    ActionChains(driver).move_to_element_with_offset(screen, int(x), int(y)).click().perform()


def row_of(rows: list[str], text: str) -> int:
    """The index of the first row that holds ``text``."""
    return next(index for index, row in enumerate(rows) if text in row)
