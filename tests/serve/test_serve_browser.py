"""The served console in a real browser (headless Chromium): what a visitor of the demo sees and does.

Skips, saying why, where Debian's chromium and chromium-driver are missing; CI installs them and sets
REQUIRE_BROWSER=1, which fails instead. ``EXECDECK_SCREENSHOT=docs/serve-demo.png`` also writes the
README's screenshot from :func:`test_a_visitor_sees_the_executors_and_runs_a_sandbox_command`.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dockertools import samples_with_test_image
from tests.serve import browser
from tests.serve.servetools import ServeProcess, serving, wait_until


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    why = browser.missing()
    if why is not None:
        if browser.require_browser():
            pytest.fail(f"{why} (REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(why)
    profile = tmp_path_factory.mktemp("chromium")
    chromium = browser.start(profile)
    yield chromium
    browser.stop(chromium, profile)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, driver: Any) -> Iterator[ServeProcess]:
    # The samples, with the tests' own image in the sandbox.
    samples = samples_with_test_image(tmp_path_factory.mktemp("samples"))
    with serving(["--entries", str(samples)], tmp_path_factory.mktemp("serve")) as server:
        yield server


@pytest.fixture
def fresh(driver: Any, server: ServeProcess) -> Iterator[Any]:
    """The browser with no cookie of the demo; afterwards on a blank page, its console ended."""
    driver.get(server.base + "/static/css/xterm.css")  # the demo's origin, for its cookies
    driver.delete_all_cookies()
    yield driver
    driver.get("about:blank")
    wait_until(lambda: not server.keepers(), 60, "the visitor's console to end once the page was left")


def _keys(driver: Any, *keys: str, ctrl: bool = False) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    actions = ActionChains(driver)
    if ctrl:
        actions.key_down(Keys.CONTROL)
    for key in keys:
        actions.send_keys(key)
    if ctrl:
        actions.key_up(Keys.CONTROL)
    actions.perform()


def test_without_the_token_the_browser_gets_401_and_no_console(fresh: Any, server: ServeProcess) -> None:
    from selenium.webdriver.common.by import By

    fresh.get(server.base + "/")
    assert "opens with the link the presenter shared" in fresh.find_element(By.TAG_NAME, "body").text
    assert browser.screen_lines(fresh) == []
    fresh.get(server.base + "/?token=not-the-token")
    assert "opens with the link the presenter shared" in fresh.find_element(By.TAG_NAME, "body").text
    assert server.keepers() == []


@pytest.mark.docker
def test_a_visitor_sees_the_executors_and_runs_a_sandbox_command(fresh: Any, server: ServeProcess,
                                                                   tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    fresh.get(server.url)
    wait_until(lambda: fresh.current_url == server.base + "/", 30, "the address without the token")
    rows = browser.wait_for_screen(fresh, browser.shows("sandbox  docker  ● ready"), "the executor list")
    assert any("actor visitor:" in row and "scope demo" in row for row in rows)
    assert any("shell  native  ● ready  3/10 cmds" in row for row in rows)
    # The executor the demo's policies deny is there, locked.
    assert any("🔒 free  native  locked" in row for row in rows)
    # A click on the sandbox's line (the console gets the keyboard) opens its run dialog: its allowed
    # commands only, the first one chosen. Enter runs it, and its output appears in the page.
    row = browser.row_of(rows, "sandbox  docker")
    browser.click_cell(fresh, row, rows[row].index("sandbox"))
    browser.wait_for_screen(fresh, browser.shows("argv  ‹echo› ‹hello› ‹from› ‹the› ‹sandbox›"), "the run dialog")
    _keys(fresh, Keys.ENTER)
    rows = browser.wait_for_screen(fresh, lambda rows: any(row.strip() == "hello from the sandbox" for row in rows),
                                   "the command's output in its run tab", timeout=90)
    assert any("app:sandbox · echo hello from the sandbox" in row for row in rows)
    # Back on the executors (F2): the list, the lock, the sandbox's details. The README's screenshot.
    _keys(fresh, Keys.F2)
    browser.wait_for_screen(fresh, lambda rows: browser.shows("app:sandbox  docker")(rows)
                            and browser.shows("r Run")(rows), "the sandbox's details and the executors' keys")
    shot = Path(os.environ.get("EXECDECK_SCREENSHOT") or tmp_path / "serve-demo.png")
    assert fresh.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not any("Traceback" in line for line in server.log)


def test_a_visitor_who_follows_the_link_from_another_site_gets_in(fresh: Any, server: ServeProcess) -> None:
    """The link clicked on another site's page (a chat, a mail): the SameSite=Strict cookie must still
    reach the demo's page, which a plain redirect would not allow (see tui.serve.guard)."""
    from selenium.webdriver.common.by import By

    page = f'<!DOCTYPE html><a id="go" href="{server.url}">the demo</a>'.encode()

    class Link(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    # 127.0.0.2 is another site than 127.0.0.1 to the browser (sites of IP addresses are the address).
    other = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Link)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        fresh.get(f"http://127.0.0.2:{other.server_address[1]}/")
        fresh.find_element(By.ID, "go").click()
        browser.wait_for_screen(fresh, browser.shows("sandbox  docker"), "the executor list")
        assert fresh.current_url == server.base + "/"
    finally:
        other.shutdown()
        other.server_close()


def test_the_page_loads_nothing_from_other_sites(fresh: Any, server: ServeProcess) -> None:
    fresh.get(server.url)
    browser.wait_for_screen(fresh, browser.shows("Executors"), "the console")
    resources = fresh.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(name.startswith(server.base) for name in resources), resources
    assert shutil.which("chromium") or browser.CHROMIUM.exists()
