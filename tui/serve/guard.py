"""Who may reach a served console: the demo's token, the visitor's signed cookie, the websocket's Origin.

* The **token** is the demo's shared secret: made at start (:func:`make_token`) or read from a file
  (:func:`read_token_file`), printed once as a URL. It is only ever accepted on the page (``/?token=``),
  and every visitor exchanges the same one.
* The exchange answers with a **cookie** (:class:`CookieSigner`) naming a visitor session of its own,
  HttpOnly (no script reads it) and SameSite=Strict (no other site's page sends it), signed with a key
  made at start: a server started again, or a cookie with any byte changed, is refused.
* :func:`guard` is the middleware that turns all of it into one rule: a request without a valid cookie
  gets 401, whatever it asks for (page, asset, websocket, download), before any handler runs.

Every secret is compared in constant time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

COOKIE_NAME = "execdeck_visitor"
COOKIE_MAX_AGE = 12 * 3600
"""Seconds a visitor's cookie is good for: a day's demo; after it, the link opens the demo again."""

MIN_TOKEN_LENGTH = 16
"""Characters a token from a file needs at least: a short one could be guessed by anyone on the network."""

VISITOR_KEY = web.RequestKey("execdeck_visitor", str)
"""Where :func:`guard` leaves the visitor's session id on a request it let through."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenError(Exception):
    """The token file cannot be used; the message is the one line to show."""


def make_token() -> str:
    """A fresh random token (URL-safe, 192 bits)."""
    return secrets.token_urlsafe(24)


def read_token_file(path: Path) -> str:
    """The token in ``path`` (surrounding whitespace dropped).

    Raises:
        TokenError: the file cannot be read, or the token is empty, too short, or not printable.
    """
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise TokenError(f"cannot read the token file {path}: {getattr(err, 'strerror', None) or err}") from None
    if not token.isprintable() or any(char.isspace() for char in token):
        raise TokenError(f"the token in {path} has spaces or control characters: use one word")
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenError(
            f"the token in {path} is {len(token)} characters long; use at least {MIN_TOKEN_LENGTH} "
            "(for example: python3 -c 'import secrets; print(secrets.token_urlsafe())')")
    return token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class CookieSigner:
    """Issues and checks visitor cookies: ``<session>.<issued>.<mac>``, an HMAC-SHA256 over the first two.

    ``key`` defaults to a random one, so cookies die with the server that issued them; ``clock`` is
    injectable for tests of the expiry.
    """

    def __init__(self, key: bytes | None = None, *, max_age: float = COOKIE_MAX_AGE,
                 clock: Callable[[], float] = time.time) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self.max_age = max_age
        self._clock = clock

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, session: str | None = None) -> str:
        """A cookie value for ``session`` (a new random session id when none is given)."""
        payload = f"{session or secrets.token_hex(4)}.{int(self._clock())}"
        return f"{payload}.{self._mac(payload)}"

    def verify(self, value: str | None) -> str | None:
        """The session id of a cookie this signer issued and that has not expired; ``None`` otherwise."""
        if not value or not value.isascii():
            return None
        session, _, rest = value.partition(".")
        issued, _, mac = rest.partition(".")
        if not (session.isalnum() and issued.isdigit() and mac):
            return None
        if not hmac.compare_digest(mac.encode("ascii"), self._mac(f"{session}.{issued}").encode("ascii")):
            return None
        age = self._clock() - int(issued)
        return session if 0 <= age <= self.max_age else None


def token_matches(given: str, token: str) -> bool:
    """Whether ``given`` is the demo's token (in constant time, whatever the lengths)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode("utf-8"))


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether a websocket's ``Origin`` is this server's own page (``http(s)://`` + the ``Host`` asked for).

    A browser always sends ``Origin`` on a websocket; a page of another site that tries to open ours
    carries its own, and a missing or ``null`` one is refused too.
    """
    if not origin or not host or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and not parts.path.strip("/") and \
        hmac.compare_digest(parts.netloc.lower().encode(), host.lower().encode())


def unauthorized() -> web.Response:
    """401, for every request without a valid cookie: says what to do, names nothing of the demo."""
    return web.Response(status=401, content_type="text/html", headers={"Cache-Control": "no-store"}, text=(
        "<!DOCTYPE html><title>execdeck demo</title><p>This demo opens with the link the presenter "
        "shared (the one with <code>?token=</code>). Open that link again.</p>"))


def entered(cookie: str | None, signer: CookieSigner) -> web.Response:
    """The answer to a good token: sets the cookie, and sends the browser on to ``/`` without the token.

    The move is a ``Refresh`` to ``/``, not a 303: a browser that followed the link from another site
    (a chat, a mail) treats a redirect chain started there as cross-site and would not send the new
    SameSite=Strict cookie to ``/``; a refresh is this page's own navigation, and it does. It replaces
    the address at once, so the token leaves the address bar and the session history.
    """
    response = web.Response(content_type="text/html", text=(
        "<!DOCTYPE html><title>execdeck demo</title><p><a href=\"/\">Open the demo</a></p>"), headers={
        "Refresh": "0; url=/", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    if cookie is None:
        response.set_cookie(COOKIE_NAME, signer.issue(), max_age=int(signer.max_age), path="/",
                            httponly=True, samesite="Strict")
    return response


def guard(token: str, signer: CookieSigner) -> Middleware:
    """The middleware: exchanges the token on ``GET /?token=``, and lets through only requests with a valid
    cookie (their session id under :data:`VISITOR_KEY`). A wrong token gets 401 even with a good cookie:
    the address carries a bad credential, and nothing should go on from it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        session = signer.verify(request.cookies.get(COOKIE_NAME))
        given = request.query.get("token")
        if given is not None and request.method == "GET" and request.path == "/":
            if not token_matches(given, token):
                return unauthorized()
            # A visitor who opens the link again keeps the session (and its limits) it has.
            return entered(request.cookies.get(COOKIE_NAME) if session else None, signer)
        if session is None:
            return unauthorized()
        request[VISITOR_KEY] = session
        return await handler(request)

    return middleware
