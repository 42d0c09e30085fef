"""Every way out of the sandbox fails with a Lua error that names what was refused, and leaves no trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.lua.runtime import LuaSandbox, LuaScriptError


class Gadget:
    """A Python object as a built-in module would hand it to Lua."""

    __lua_allowed__ = frozenset({"ping"})

    def ping(self) -> bytes:
        return b"pong"

    def secret(self) -> bytes:
        return b"leaked"


REFUSED = [
    ('io.open("pwned", "w")', "io is not available in the sandbox"),
    ('io.popen("touch pwned")', "io is not available in the sandbox"),
    ('os.execute("touch pwned")', "os.execute is not available in the sandbox"),
    ('os.remove("victim")', "os.remove is not available in the sandbox"),
    ('os.rename("victim", "pwned")', "os.rename is not available in the sandbox"),
    ('os.getenv("HOME")', "os.getenv is not available in the sandbox"),
    ("os.exit(3)", "os.exit is not available in the sandbox"),
    ("os.tmpname()", "os.tmpname is not available in the sandbox"),
    ("debug.sethook()", "debug is not available in the sandbox"),
    ("debug.getinfo(1)", "debug is not available in the sandbox"),
    ('package.loadlib("libc.so.6", "system")', "package is not available in the sandbox"),
    ('dofile("victim")', "dofile is not available in the sandbox"),
    ('loadfile("victim")', "loadfile is not available in the sandbox"),
    ('python.eval("1")', "python is not available in the sandbox"),
    ("return python.builtins.open", "python is not available in the sandbox"),
    ('_G.io.open("pwned", "w")', "io is not available in the sandbox"),
    ('_ENV.os.execute("touch pwned")', "os.execute is not available in the sandbox"),
    ("string.dump(print)", "string.dump is not available in the sandbox"),
    ('("x"):dump()', "string.dump is not available in the sandbox"),
    ('getmetatable("").__index.dump(print)', "string.dump is not available in the sandbox"),
    ('require("io")', "require: module 'io' is not available in the sandbox"),
    ('require("os")', "require: module 'os' is not available in the sandbox"),
    ('require("debug")', "require: module 'debug' is not available in the sandbox"),
    ('require("package")', "require: module 'package' is not available in the sandbox"),
    ('require("python")', "require: module 'python' is not available in the sandbox"),
    ('require("socket.core")', "require: module 'socket.core' not found"),
    ('require("../victim")', "require: module name '../victim' is not allowed"),
    ('require("/etc/passwd")', "require: module name '/etc/passwd' is not allowed"),
    ('assert(load("\\27LuaT\\0\\25\\147\\r\\n\\26\\n"))', "binary chunks are not available in the sandbox"),
    ('assert(load("return 1", "x", "b"))', "mode 'b' is not available in the sandbox"),
    (
        'local sent = false\n'
        'assert(load(function() if sent then return nil end sent = true return "\\27Lua" end))',
        "attempt to load a binary chunk",
    ),
    ('collectgarbage("stop")', "collectgarbage: option 'stop' is not available in the sandbox"),
    ('collectgarbage("generational")', "collectgarbage: option 'generational' is not available"),
    ("setmetatable({}, {__gc = function() end})", "__gc metamethods are not available in the sandbox"),
    ("setmetatable({}, {__gc = true})", "__gc metamethods are not available in the sandbox"),
    ("return gadget.__class__", "access to '__class__' is not allowed in the sandbox"),
    ("return gadget.__dict__", "access to '__dict__' is not allowed in the sandbox"),
    ("return gadget.ping.__globals__", "access to '__globals__' is not allowed in the sandbox"),
    ("return gadget.ping.__func__", "access to '__func__' is not allowed in the sandbox"),
    ("return gadget.secret()", "'secret' of a Gadget object is not available in the sandbox"),
    ("gadget.ping = 1", "setting 'ping' on a Gadget object is not allowed in the sandbox"),
    ("return getmetatable(gadget).__gc(gadget)", "attempt to index a nil value"),
    ("return print.__class__", "attempt to index a function value"),
]


@pytest.fixture
def jail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory of the escape attempts, holding one file that must survive."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "victim").write_text("still here")
    return tmp_path


@pytest.mark.parametrize(("code", "refusal"), REFUSED, ids=[code for code, _ in REFUSED])
def test_an_escape_attempt_fails_with_an_error_naming_what_was_refused(
    jail: Path, code: str, refusal: str
) -> None:
    sandbox = LuaSandbox(module_dir=jail)
    sandbox.set_global("gadget", Gadget())
    with pytest.raises(LuaScriptError) as caught:
        sandbox.run_chunk(code)
    assert refusal in caught.value.message
    assert "Traceback (most recent call last)" not in caught.value.message + caught.value.traceback
    assert sorted(p.name for p in jail.iterdir()) == ["victim"]
    assert (jail / "victim").read_text() == "still here"


def test_the_allowed_methods_of_a_python_object_still_work(sandbox: LuaSandbox) -> None:
    sandbox.set_global("gadget", Gadget())
    assert sandbox.run_chunk("return gadget.ping(), gadget:ping()") == (b"pong", b"pong")


def test_the_environment_holds_only_the_allow_list(sandbox: LuaSandbox) -> None:
    names = sandbox.run_chunk("local t = {} for k in pairs(_G) do t[#t + 1] = k end table.sort(t) "
                              "return table.concat(t, ' ')")[0]
    assert names.split() == sorted(
        b"assert error ipairs next pairs pcall xpcall select tonumber tostring type rawequal rawget rawset "
        b"rawlen setmetatable getmetatable _VERSION print string table math utf8 coroutine os load "
        b"require _G collectgarbage".split()
    )
    os_names = sandbox.run_chunk("local t = {} for k in pairs(os) do t[#t + 1] = k end table.sort(t) "
                                 "return table.concat(t, ' ')")[0]
    assert os_names == b"clock date time"


def test_replacing_the_metatable_of_the_globals_does_not_reach_the_real_globals(sandbox: LuaSandbox) -> None:
    found = sandbox.run_chunk(
        "setmetatable(_G, nil)\n"
        "setmetatable(_G, {__index = function(_, k) return nil end})\n"
        "return io, debug, package, python, dofile, rawget(_G, 'io'), _G == _ENV"
    )
    assert found == (None, None, None, None, None, None, True)


def test_env_tricks_reach_only_the_sandbox_environment(sandbox: LuaSandbox) -> None:
    assert sandbox.run_chunk("return load('return _ENV')() == _G, load('return _G')() == _G") == (True, True)
    with pytest.raises(LuaScriptError, match="attempt to index a nil value"):
        sandbox.run_chunk("return load('return io', 'x', 't', nil)()")
    assert sandbox.run_chunk("local _ENV = {x = 1} return x") == (1,)


def test_tampering_with_the_string_metatable_stays_inside_the_sandbox(sandbox: LuaSandbox) -> None:
    sandbox.run_chunk('getmetatable("").__index = {upper = function() return "hijacked" end}')
    assert sandbox.run_chunk('return ("x"):upper()') == (b"X",)
    assert LuaSandbox().run_chunk('return ("y"):upper()') == (b"Y",)


def test_python_objects_have_no_metatable_in_the_sandbox(sandbox: LuaSandbox) -> None:
    sandbox.set_global("gadget", Gadget())
    assert sandbox.run_chunk("return getmetatable(gadget)") == (None,)


def test_harmless_collectgarbage_options_work(sandbox: LuaSandbox) -> None:
    count, = sandbox.run_chunk('collectgarbage() collectgarbage("step") return collectgarbage("count")')
    assert isinstance(count, float) and count > 0


def test_a_huge_string_is_an_error_and_not_a_crash(sandbox: LuaSandbox) -> None:
    with pytest.raises(LuaScriptError, match=r"not enough memory|too large"):
        sandbox.run_chunk('return string.rep("x", 1 << 40)')
    assert sandbox.run_chunk("return 1") == (1,)


def test_a_chunk_loaded_with_load_sees_the_sandbox_globals_only(sandbox: LuaSandbox) -> None:
    assert sandbox.run_chunk("return load('return rawget(_G, \"io\"), type(print)')()") == (None, b"function")


def test_a_gc_metamethod_added_after_setmetatable_never_runs(sandbox: LuaSandbox) -> None:
    """Finalizers run with hooks off, so one could loop beyond cancel(): none may ever run."""
    ran = sandbox.run_chunk(
        "ran = false\n"
        "do local mt = {} setmetatable({}, mt) mt.__gc = function() ran = true end end\n"
        "collectgarbage() collectgarbage() return ran"
    )
    assert ran == (False,)
