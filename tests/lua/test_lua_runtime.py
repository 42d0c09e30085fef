"""The sandbox runtime: strings as bytes, errors, memory cap, require, run_file, built-in modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.lua.runtime import LuaSandbox, LuaScriptError


def test_invalid_utf8_round_trips_through_a_python_callback_unchanged(sandbox: LuaSandbox) -> None:
    received: list[bytes] = []

    def echo(data: bytes) -> bytes:
        received.append(data)
        return data

    sandbox.set_global("echo", echo)
    same, length = sandbox.run_chunk('local s = "\\255\\0\\xfe ok" local r = echo(s) return r == s, #r')
    assert received == [b"\xff\x00\xfe ok"]
    assert (same, length) == (True, 6)


def test_lua_strings_come_back_to_python_as_bytes(sandbox: LuaSandbox) -> None:
    assert sandbox.run_chunk('return "h\\233llo", 1, 2.5, true, nil') == (b"h\xe9llo", 1, 2.5, True, None)


def test_print_decodes_invalid_bytes_with_a_replacement_character(
    sandbox: LuaSandbox, printed: list[str]
) -> None:
    sandbox.run_chunk('print("caf\\195\\169", 1, nil, true) print("\\255")')
    assert printed == ["café\t1\tnil\ttrue", "\ufffd"]


def test_a_runtime_error_carries_lua_message_and_lua_traceback(sandbox: LuaSandbox) -> None:
    with pytest.raises(LuaScriptError) as caught:
        sandbox.run_chunk("local function inner() error('boom') end\ninner()", "=demo")
    assert caught.value.message == "demo:1: boom"
    assert caught.value.traceback.startswith("demo:1: boom\nstack traceback:")
    assert "in local 'inner'" in caught.value.traceback
    assert "[sandbox]" not in caught.value.traceback


def test_a_syntax_error_is_a_script_error(sandbox: LuaSandbox) -> None:
    with pytest.raises(LuaScriptError, match="demo:1:"):
        sandbox.run_chunk("x = = 1", "=demo")


def test_an_error_from_a_python_callback_is_a_lua_error_without_python_traceback(sandbox: LuaSandbox) -> None:
    def fail() -> None:
        raise ValueError("bad value")

    sandbox.set_global("fail", fail)
    with pytest.raises(LuaScriptError) as caught:
        sandbox.run_chunk("fail()")
    assert "bad value" in caught.value.message
    assert "Traceback" not in caught.value.message
    assert sandbox.run_chunk("return pcall(fail)")[0] is False


def test_exhausting_memory_is_a_lua_error_and_the_same_sandbox_keeps_working() -> None:
    sandbox = LuaSandbox(max_memory=32 * 1024 * 1024)
    with pytest.raises(LuaScriptError) as caught:
        sandbox.run_chunk("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end")
    assert caught.value.message == "not enough memory"
    assert sandbox.run_chunk("local t = {} for i = 1, 1000 do t[i] = i end return #t") == (1000,)


def test_memory_exhaustion_inside_pcall_is_caught_like_any_error() -> None:
    sandbox = LuaSandbox(max_memory=32 * 1024 * 1024)
    ok, message = sandbox.run_chunk(
        "return pcall(function() local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end end)"
    )
    assert (ok, message) == (False, b"not enough memory")


def test_a_registered_module_is_built_once_on_first_require(sandbox: LuaSandbox) -> None:
    built: list[LuaSandbox] = []

    def factory(box: LuaSandbox) -> object:
        built.append(box)
        return box.to_lua({"name": "demo", "items": [1, 2]})

    sandbox.register_module("demo", factory)
    assert built == []
    same, name, count = sandbox.run_chunk(
        'local a = require("demo") local b = require("demo") return a == b, a.name, #a.items'
    )
    assert (same, name, count) == (True, b"demo", 2)
    assert built == [sandbox]


def test_set_global_converts_python_values(sandbox: LuaSandbox) -> None:
    sandbox.set_global("errors", {"INVALID": "Invalid", "INTERNAL": "Internal"})
    assert sandbox.run_chunk("return errors.INVALID, errors.INTERNAL") == (b"Invalid", b"Internal")


def test_require_loads_a_sibling_module_once_into_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "helper.lua").write_text(
        "loads = (loads or 0) + 1\nreturn {io_seen = rawget(_G, 'io'), x = 7}"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mod.lua").write_text("return ...")
    sandbox = LuaSandbox(module_dir=tmp_path)
    found = sandbox.run_chunk(
        'local h = require("helper") require("helper") local name = require("sub.mod") '
        "return h.x, h.io_seen, loads, name"
    )
    assert found == (7, None, 1, b"sub.mod")


def test_require_refuses_a_module_that_resolves_outside_the_folder_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.lua").write_text("return 1")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "link.lua").symlink_to(outside / "x.lua")
    sandbox = LuaSandbox(module_dir=scripts)
    with pytest.raises(LuaScriptError, match="resolves outside the script's folder"):
        sandbox.run_chunk('require("link")')
    with pytest.raises(LuaScriptError, match="is not allowed"):
        sandbox.run_chunk('require("../outside/x")')


def test_run_file_sets_arg_like_the_standalone_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "show.lua"
    script.write_text(
        "#!/usr/bin/env execdeck-lua\n"
        "local a, b = ...\n"
        "print(arg[-2], arg[-1], arg[0], arg[1], arg[2], #arg, a, b)\n"
    )
    printed: list[str] = []
    LuaSandbox(printed.append).run_file(script, ["one", "two"])
    assert printed == [f"execdeck\tlua\t{script}\tone\ttwo\t2\tone\ttwo"]


def test_run_file_reports_errors_with_the_script_name_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.lua").write_text("#!shebang\nlocal x = 1\nerror('nope')\n")
    with pytest.raises(LuaScriptError) as caught:
        LuaSandbox().run_file("bad.lua")
    assert caught.value.message == "bad.lua:3: nope"
    assert "bad.lua:3: in main chunk" in caught.value.traceback


def test_run_file_of_a_missing_file_is_a_script_error(tmp_path: Path) -> None:
    with pytest.raises(LuaScriptError, match="cannot open"):
        LuaSandbox().run_file(tmp_path / "absent.lua")


def test_run_file_loads_modules_from_the_script_folder(tmp_path: Path) -> None:
    (tmp_path / "lib.lua").write_text("return {greet = function() return 'hi' end}")
    (tmp_path / "main.lua").write_text("print(require('lib').greet())")
    printed: list[str] = []
    LuaSandbox(printed.append).run_file(tmp_path / "main.lua")
    assert printed == ["hi"]


def test_the_lua_package_imports_no_ui_library() -> None:
    for module in ("runtime", "repl", "pretty", "history", "completion", "sandbox_lua"):
        code = (
            f"import sys, tui.lua.{module}\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]\n"
            "assert not bad, bad\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
