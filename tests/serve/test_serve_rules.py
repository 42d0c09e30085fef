"""The rules of ``execdeck serve`` on their own: cookies, tokens, origins, limits, the command line's
refusals, and what a visitor's console offers. The server as a whole is tested in the other files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.serve.servetools import REPO
from tui.core.entries.loader import load_entries
from tui.core.policy import Gate
from tui.serve.guard import CookieSigner, TokenError, make_token, read_token_file, same_origin, token_matches
from tui.serve.limits import Limits, SessionTable
from tui.serve.visitor import clean_environment, gettable, repl_offered, visitor_access

SAMPLES = REPO / "sample_entries"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_cookie_names_its_session_until_it_expires() -> None:
    clock = Clock()
    signer = CookieSigner(b"k" * 32, max_age=3600, clock=clock)
    cookie = signer.issue("ab12cd34")
    assert signer.verify(cookie) == "ab12cd34"
    clock.now += 3600
    assert signer.verify(cookie) == "ab12cd34"
    clock.now += 1
    assert signer.verify(cookie) is None
    clock.now -= 7200  # issued "in the future": a clock set back, or a forged date
    assert signer.verify(cookie) is None


def test_a_cookie_of_another_key_or_with_any_change_is_refused() -> None:
    signer = CookieSigner()
    cookie = signer.issue()
    session = signer.verify(cookie)
    assert session is not None and len(session) == 8
    assert CookieSigner().verify(cookie) is None, "a server started again has a new key"
    for index in range(len(cookie)):
        changed = cookie[:index] + ("A" if cookie[index] != "A" else "B") + cookie[index + 1:]
        assert signer.verify(changed) is None, changed
    for junk in (None, "", ".", "..", "a.b.c", "é.1.x", cookie + ".x", cookie.replace(".", "..", 1)):
        assert signer.verify(junk) is None, junk


def test_every_new_cookie_is_a_new_visitor() -> None:
    signer = CookieSigner()
    assert len({signer.verify(signer.issue()) for _ in range(50)}) == 50


def test_the_token_matches_only_itself() -> None:
    token = make_token()
    assert len(token) >= 32 and token_matches(token, token)
    for other in ("", token[:-1], token + "x", token.upper(), " " + token, "\udcff"):
        assert not token_matches(other, token)


def test_a_token_file_must_hold_one_long_enough_word(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("  0123456789abcdefXYZ\n")
    assert read_token_file(path) == "0123456789abcdefXYZ"
    for text, says in (("", "at least 16"), ("short", "at least 16"), ("two words here!!", "one word"),
                       ("tab\tinside-the-token", "one word")):
        path.write_text(text)
        with pytest.raises(TokenError, match=says):
            read_token_file(path)
    with pytest.raises(TokenError, match="cannot read the token file"):
        read_token_file(tmp_path / "missing")


@pytest.mark.parametrize(("origin", "host", "same"), [
    ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
    ("http://LOCALHOST:8000", "localhost:8000", True),
    ("https://demo.example", "demo.example", True),
    ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
    ("http://evil.example", "127.0.0.1:8000", False),
    ("http://127.0.0.1:8000.evil.example", "127.0.0.1:8000", False),
    ("http://127.0.0.1:8000/x", "127.0.0.1:8000", False),
    ("file://127.0.0.1:8000", "127.0.0.1:8000", False),
    ("null", "127.0.0.1:8000", False),
    (None, "127.0.0.1:8000", False),
    ("http://127.0.0.1:8000", None, False),
])
def test_only_the_pages_own_origin_opens_a_websocket(origin: str | None, host: str | None, same: bool) -> None:
    assert same_origin(origin, host) is same


def test_places_are_counted_in_all_and_per_address_and_given_back_once() -> None:
    table = SessionTable(Limits(max_sessions=3, max_per_address=2))
    first = table.admit("a", "10.0.0.1")
    second = table.admit("b", "10.0.0.1")
    assert first is not None and second is not None
    assert table.admit("c", "10.0.0.1") is None
    assert "your address already has 2 consoles" in (table.refusal("10.0.0.1") or "")
    third = table.admit("c", "10.0.0.2")
    assert third is not None and len(table) == 3
    assert table.refusal("10.0.0.3") == "all 3 places are taken"
    table.release(first)
    table.release(first)
    assert len(table) == 2 and table.count("10.0.0.1") == 1
    assert table.admit("d", "10.0.0.3") is not None


@pytest.mark.parametrize("limits", [{"max_sessions": 0}, {"max_per_address": 0}, {"idle_timeout": 0}])
def test_limits_must_allow_something(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Limits(**limits)  # type: ignore[arg-type]


def test_the_repl_is_offered_only_when_a_visitor_may_get_an_executor() -> None:
    result = load_entries([SAMPLES])
    demo = Gate(visitor_access("ab12", "demo"), result.policies)
    assert gettable(demo, result.executors) == ["app:shell", "app:sandbox"]
    assert repl_offered(demo, result.executors)
    assert not repl_offered(Gate(visitor_access("ab12", "nobody"), result.policies), result.executors)


def test_a_visitors_environment_is_made_from_nothing(tmp_path: Path) -> None:
    server = {"PATH": "/opt/bin:/usr/bin", "SECRET": "x", "HOME": "/root", "DOCKER_HOST": "unix:///d.sock",
              "EXECDECK_ACTOR": "user:boss", "EXECDECK_SCOPE": "ops", "LD_PRELOAD": "/evil.so"}
    env = clean_environment(tmp_path, None, server)
    assert env == {"PATH": "/opt/bin:/usr/bin", "LANG": "C.UTF-8", "HOME": str(tmp_path),
                   "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
                   "EXECDECK_RECORDS": "off", "DOCKER_HOST": "unix:///d.sock"}


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "serve", "--entries", str(SAMPLES), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("args", "says"), [
    (["--max-sessions", "0"], "--max-sessions must be at least 1"),
    (["--idle-timeout", "-1"], "--idle-timeout must be more than 0 seconds"),
    (["--visitor-scope", " "], "--visitor-scope needs a policy group"),
    (["--token-file", "/nonexistent/token"], "cannot read the token file /nonexistent/token"),
])
def test_bad_options_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    done = _serve(*args)
    assert done.returncode == 2
    assert done.stdout == "" and says in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_port_in_use_is_one_line_and_exit_1() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve("--port", str(port))
    assert done.returncode == 1 and done.stdout == ""
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
