"""Who gets in, against the real ``execdeck serve`` on loopback: the token, the cookie, the Origin.

Every refusal is checked to have started no console process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.serve.servetools import TOKEN, ServeProcess, Visitor, serving

PATHS = ["/", "/static/js/textual.js", "/static/css/xterm.css", "/download/anything", "/ws"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serving([], tmp_path_factory.mktemp("serve")) as server:
        yield server


async def test_without_a_token_every_page_asset_and_websocket_gets_401(server: ServeProcess) -> None:
    async with Visitor(server) as visitor:
        for path in PATHS:
            response = await visitor.get(path)
            assert response.status == 401, path
            assert "execdeck_visitor" not in response.cookies
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await visitor.connect()
        assert refused.value.status == 401
    assert server.keepers() == []


async def test_a_wrong_token_gets_401_and_no_cookie(server: ServeProcess) -> None:
    async with Visitor(server) as visitor:
        for token in ("wrong", TOKEN[:-1], TOKEN + "x", "", TOKEN.upper()):
            response = await visitor.enter(token)
            assert response.status == 401, token
            assert visitor.cookie is None
        assert (await visitor.get("/")).status == 401
    assert server.keepers() == []


async def test_the_token_is_exchanged_for_a_strict_httponly_cookie_and_leaves_the_address(
        server: ServeProcess) -> None:
    async with Visitor(server) as visitor:
        response = await visitor.enter()
        assert response.status == 200
        # The browser is sent on to the address without the token (a refresh: see tui.serve.guard).
        assert response.headers["Refresh"] == "0; url=/"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        set_cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie
        assert TOKEN not in set_cookie
        page = await visitor.get("/")
        assert page.status == 200
        text = await page.text()
        assert "textual-terminal" in text and TOKEN not in text
        assert page.headers["X-Frame-Options"] == "DENY"
        # Never kept in the back/forward cache, where its websocket (and console) would stay open.
        assert page.headers["Cache-Control"] == "no-store"
        assert "connect-src 'self'" in page.headers["Content-Security-Policy"]
        assert (await visitor.get("/static/js/textual.js")).status == 200


async def test_the_token_in_the_url_after_the_exchange_keeps_the_session_and_opens_nothing_else(
        server: ServeProcess) -> None:
    async with Visitor(server) as visitor:
        await visitor.enter()
        cookie = visitor.cookie
        again = await visitor.enter()
        assert again.status == 200 and again.headers["Refresh"] == "0; url=/"
        assert "Set-Cookie" not in again.headers, "a visitor who opens the link again keeps their session"
        assert visitor.cookie == cookie
    # The token is a credential for the page's exchange only: it opens no asset and no websocket.
    async with Visitor(server) as stranger:
        for path in (f"/static/js/textual.js?token={TOKEN}", f"/ws?token={TOKEN}", f"/download/x?token={TOKEN}"):
            assert (await stranger.get(path)).status == 401, path
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await stranger.connect(path=f"/ws?token={TOKEN}&width=80&height=24")
        assert refused.value.status == 401
    assert server.keepers() == []


async def test_a_forged_cookie_gets_401(server: ServeProcess) -> None:
    async with Visitor(server) as visitor:
        await visitor.enter()
        assert visitor.cookie is not None
        name, value = visitor.cookie.split("=", 1)
        session, issued, mac = value.split(".")
        forged = [
            f"{'0' * len(session)}.{issued}.{mac}",          # another session, the old signature
            f"{session}.{int(issued) + 3600}.{mac}",         # a later date, the old signature
            f"{session}.{issued}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
            f"{session}.{issued}",
            "",
            "../../etc/passwd",
        ]
        for value in forged:
            visitor.cookie = f"{name}={value}"
            assert (await visitor.get("/")).status == 401, value
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await visitor.connect()
            assert refused.value.status == 401
    assert server.keepers() == []


async def test_a_cookie_replayed_to_a_server_started_again_gets_401(server: ServeProcess, tmp_path: Path) -> None:
    async with Visitor(server) as visitor:
        await visitor.enter()
        old_cookie = visitor.cookie
    # Another server with the same token (the same file): its key is new, the old cookie is nothing to it.
    with serving([], tmp_path) as again:
        async with Visitor(again) as replay:
            replay.cookie = old_cookie
            assert (await replay.get("/")).status == 401
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await replay.connect()
            assert refused.value.status == 401
        assert again.keepers() == []


async def test_a_websocket_from_another_origin_is_refused_before_any_console_starts(server: ServeProcess) -> None:
    async with Visitor(server) as visitor:
        await visitor.enter()
        port = server.base.rsplit(":", 1)[1]
        for origin in ("http://evil.example", f"http://127.0.0.2:{port}", f"http://127.0.0.1:{int(port) + 1}",
                       "null", f"{server.base}/path", None):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await visitor.connect(origin=origin)
            assert refused.value.status == 403, origin
    assert server.keepers() == []
    server.wait_log("websocket from another origin (http://evil.example)")
