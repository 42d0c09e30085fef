"""The exec module in-process: wrong argument types to every function are clear Lua errors, output is
byte-exact, reading from Lua takes nothing from other readers, and results have the reference's shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core.support import read_all
from tui.core.engine import Engine
from tui.core.process import Process
from tui.lua.exec_module import install_exec
from tui.lua.exec_service import ExecService
from tui.lua.runtime import LuaSandbox, LuaScriptError

SETUP = """
exec = require("exec")
ex = exec.get("t:native")
p = ex:exec("true")
s = p:stdout_stream()
"""


@pytest.fixture
def lua(engine: Engine) -> Iterator[tuple[LuaSandbox, ExecService]]:
    sandbox = LuaSandbox(max_memory=64 * 1024 * 1024)
    service = ExecService(engine)
    install_exec(sandbox, service.call, service.notify)
    sandbox.run_chunk(SETUP)
    yield sandbox, service
    service.close(grace=0.5)


def _message(sandbox: LuaSandbox, call: str) -> bytes:
    # `local r = {...}`: a call in a tail position would leave no caller line to point at.
    chunk = f"local ok, e = pcall(function() local r = {{{call}}} return r end) return ok, e, type(e)"
    ok, message, kind = sandbox.run_chunk(chunk)
    assert ok is False, f"{call} did not raise"
    assert kind == b"string", f"{call} raised a {kind!r}, not a Lua string"
    assert isinstance(message, bytes)
    return message


OPTS = "bad argument #2 to 'executor:exec' (opts."
WRONG_TYPES = {
    "exec.get()": "bad argument #1 to 'exec.get' (string expected, got no value)",
    "exec.get(nil)": "bad argument #1 to 'exec.get' (string expected, got nil)",
    "exec.get({})": "bad argument #1 to 'exec.get' (string expected, got table)",
    "exec.get(true)": "bad argument #1 to 'exec.get' (string expected, got boolean)",
    "exec.get(print)": "bad argument #1 to 'exec.get' (string expected, got function)",
    "exec.get(ex)": "bad argument #1 to 'exec.get' (string expected, got Executor)",
    "ex:exec()": "bad argument #1 to 'executor:exec' (string expected, got no value)",
    "ex:exec({})": "bad argument #1 to 'executor:exec' (string expected, got table)",
    "ex:exec('true', 'opts')": "bad argument #2 to 'executor:exec' (table expected, got string)",
    "ex:exec('true', {work_dir = {}})": OPTS + "work_dir: string expected, got table)",
    "ex:exec('true', {env = 'A=1'})": OPTS + "env: table expected, got string)",
    "ex:exec('true', {env = {A = {}}})": OPTS + "env.A: string expected, got table)",
    "ex:exec('true', {env = {[{}] = 'x'}})": OPTS + "env: keys must be strings, got table)",
    "ex:exec('true', {timeout = 'soon'})": OPTS + "timeout: number expected, got string)",
    "ex.exec('true')": "bad self for 'executor:exec' (Executor expected, got string)",
    "ex.exec(p, 'true')": "bad self for 'executor:exec' (Executor expected, got Process)",
    "ex.release()": "bad self for 'executor:release' (Executor expected, got no value)",
    "ex.release(s)": "bad self for 'executor:release' (Executor expected, got Stream)",
    "p.start()": "bad self for 'proc:start' (Process expected, got no value)",
    "p.start(ex)": "bad self for 'proc:start' (Process expected, got Executor)",
    "p.wait(1)": "bad self for 'proc:wait' (Process expected, got number)",
    "p:signal()": "bad argument #1 to 'proc:signal' (number expected, got no value)",
    "p:signal('TERM')": "bad argument #1 to 'proc:signal' (number expected, got string)",
    "p:signal(1.5)": "bad argument #1 to 'proc:signal' (number has no integer representation)",
    "p:signal({})": "bad argument #1 to 'proc:signal' (number expected, got table)",
    "p.signal(9)": "bad self for 'proc:signal' (Process expected, got number)",
    "p:write_stdin()": "bad argument #1 to 'proc:write_stdin' (string expected, got no value)",
    "p:write_stdin({})": "bad argument #1 to 'proc:write_stdin' (string expected, got table)",
    "p:write_stdin(true)": "bad argument #1 to 'proc:write_stdin' (string expected, got boolean)",
    "p.write_stdin('x')": "bad self for 'proc:write_stdin' (Process expected, got string)",
    "p.stdout_stream()": "bad self for 'proc:stdout_stream' (Process expected, got no value)",
    "p.stderr_stream(s)": "bad self for 'proc:stderr_stream' (Process expected, got Stream)",
    "p.close(true)": "bad self for 'proc:close' (Process expected, got boolean)",
    "s:read('x')": "bad argument #1 to 'stream:read' (number expected, got string)",
    "s:read({})": "bad argument #1 to 'stream:read' (number expected, got table)",
    "s:read(2.5)": "bad argument #1 to 'stream:read' (number has no integer representation)",
    "s.read(10)": "bad self for 'stream:read' (Stream expected, got number)",
    "s.close()": "bad self for 'stream:close' (Stream expected, got no value)",
    "s.close(p)": "bad self for 'stream:close' (Stream expected, got Process)",
}


@pytest.mark.parametrize(("call", "expected"), WRONG_TYPES.items(), ids=list(WRONG_TYPES))
def test_a_wrong_argument_type_is_a_lua_error_naming_function_and_argument(
    lua: tuple[LuaSandbox, ExecService], call: str, expected: str
) -> None:
    sandbox, _ = lua
    message = _message(sandbox, call).decode()
    # The error points at the script's line (level 2), like Lua's own argument errors.
    assert message == f"chunk:1: {expected}" or message.startswith(f"chunk:1: {expected}:"), message


def test_an_uncaught_type_error_ends_the_script_with_the_script_line(lua: tuple[LuaSandbox, ExecService]) -> None:
    sandbox, _ = lua
    with pytest.raises(LuaScriptError) as caught:
        sandbox.run_chunk("local x = 1\nexec.get({})", "@script.lua")
    assert caught.value.message == "script.lua:2: bad argument #1 to 'exec.get' (string expected, got table)"
    assert "script.lua:2: in main chunk" in caught.value.traceback


def test_numbers_are_accepted_where_strings_are_expected_as_lua_does(lua: tuple[LuaSandbox, ExecService]) -> None:
    sandbox, _ = lua
    value, kind, message = sandbox.run_chunk("local v, e = exec.get(42) return v, e:kind(), e:message()")
    assert (value, kind, message) == (None, b"Internal", b"resource not found")
    code, err = sandbox.run_chunk("local q = ex:exec(true and 'sleep 30.0421') q:start() q:signal('9') return q:wait()")
    assert (code, err) == (-1, None)


def test_error_methods_ignore_extra_arguments(lua: tuple[LuaSandbox, ExecService]) -> None:
    sandbox, _ = lua
    values = sandbox.run_chunk("local _, e = exec.get('') return e:kind(1, 2), e.message(), e:retryable({})")
    assert values == (b"Invalid", b"resource id is required", False)


def test_every_call_returns_two_values(lua: tuple[LuaSandbox, ExecService]) -> None:
    sandbox, _ = lua
    counts = sandbox.run_chunk("""
        local q = ex:exec("echo hi")
        local r = q:stdout_stream()
        return select('#', exec.get('t:native')), select('#', exec.get('')), select('#', ex:exec('')),
               select('#', q:start()), select('#', q:wait()), select('#', r:read()), select('#', q:close()),
               select('#', q:signal(1)), select('#', r:close()), select('#', r:close()), select('#', ex:release())
    """)
    assert counts == (2,) * 11


def test_binary_round_trip_through_cat(lua: tuple[LuaSandbox, ExecService]) -> None:
    sandbox, _ = lua
    data, code = sandbox.run_chunk("""
        local q = ex:exec("cat")
        local out = q:stdout_stream()
        q:start()
        q:write_stdin("\\255\\0")
        q:write_stdin("")
        local parts = {}
        while true do
          local chunk = out:read()
          if not chunk then break end
          parts[#parts + 1] = chunk
        end
        return table.concat(parts), (q:wait())
    """)
    assert data == b"\xff\x00" and code == 0


def test_reading_from_lua_takes_nothing_from_other_readers(lua: tuple[LuaSandbox, ExecService], engine: Engine) -> None:
    sandbox, _ = lua
    readers = []

    def listener(process: Process) -> None:
        readers.append(process.open_reader("stdout"))

    engine.add_listener(listener)
    lua_out, = sandbox.run_chunk("""
        local q = ex:exec("seq 1 3000")
        local out = q:stdout_stream()
        q:start()
        local parts = {}
        while true do
          local chunk = out:read(100)
          if not chunk then break end
          parts[#parts + 1] = chunk
        end
        q:wait()
        return table.concat(parts)
    """)
    expected = "".join(f"{i}\n" for i in range(1, 3001)).encode()
    assert lua_out == expected
    assert len(readers) == 1 and read_all(readers[0]) == expected


def test_python_objects_expose_only_the_api(lua: tuple[LuaSandbox, ExecService]) -> None:
    sandbox, _ = lua
    for attribute in ("core", "_methods", "__class__", "reader", "serial", "streams", "__init__"):
        with pytest.raises(LuaScriptError) as caught:
            sandbox.run_chunk(f"return p.{attribute}")
        assert "not available in the sandbox" in caught.value.message or "not allowed" in caught.value.message
    with pytest.raises(LuaScriptError, match="not allowed in the sandbox"):
        sandbox.run_chunk("p.start = 1")
    _, kind_error = sandbox.run_chunk(
        "local _, e = exec.get('') local ok, m = pcall(function() return e.error end) return ok, tostring(m)"
    )
    assert b"not available in the sandbox" in kind_error
