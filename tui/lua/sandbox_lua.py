"""The Lua half of the sandbox: the code that builds the allow-list environment.

It runs once per :class:`~tui.lua.runtime.LuaSandbox`, with lupa's real globals, so it can keep private
references to what scripts must never reach (``debug.sethook``, ``debug.traceback``, the raw
``getmetatable``, the real ``load``) before building the environment. Scripts only ever see the table it
returns as ``env``; every function in that table is either a harmless standard function or a wrapper
defined here. Python callables are captured as upvalues only, never stored in a table a script can index.
"""

from __future__ import annotations

BOOTSTRAP = r"""
local is_cancelled, emit, resolve_module, hook_count = ...

-- Private references, taken before anything reaches a script.
local sethook, traceback, raw_getmetatable = debug.sethook, debug.traceback, debug.getmetatable
local real_load, real_pcall, real_xpcall, real_error = load, pcall, xpcall, error
local real_setmetatable, real_getmetatable = setmetatable, getmetatable
local real_tostring, real_type, real_select, real_rawget = tostring, type, select, rawget
local real_collectgarbage = collectgarbage
local co_create, co_resume, co_close = coroutine.create, coroutine.resume, coroutine.close
local concat, pack, unpack = table.concat, table.pack, table.unpack
local sbyte, sformat = string.byte, string.format

local CANCELLED = "cancelled"

local function hook()
  if is_cancelled() then real_error(CANCELLED, 0) end
end

local function check()
  if is_cancelled() then real_error(CANCELLED, 0) end
end

-- A failed protected call re-raises once the run is cancelled, so pcall cannot swallow it.
local function repack(ok, ...)
  if not ok and is_cancelled() then real_error(CANCELLED, 0) end
  return ok, ...
end

local function refuse(what)
  real_error(what .. " is not available in the sandbox", 3)
end

-- A table whose missing keys listed in `refused` raise an error that names them.
local function with_refusals(t, prefix, refused)
  return real_setmetatable(t, {
    __index = function(_, k)
      if refused[k] then refuse(prefix .. real_tostring(k)) end
      return nil
    end,
  })
end

local function copy(src, names)
  local t = {}
  for _, name in ipairs(names) do t[name] = src[name] end
  return t
end

local env = {}

local s_string = {}
for k, v in pairs(string) do
  if k ~= "dump" then s_string[k] = v end
end
with_refusals(s_string, "string.", { dump = true })
-- Method calls on strings go through the string metatable: point it at the sandbox copy, and hide the
-- real metatable behind __metatable so `getmetatable("").__index` gives the sandbox copy too.
local string_mt = real_getmetatable("")
string_mt.__index = s_string
string_mt.__metatable = { __index = s_string }

local s_table = copy(table, { "concat", "insert", "move", "pack", "remove", "sort", "unpack" })
local s_math = {}
for k, v in pairs(math) do s_math[k] = v end
local s_utf8 = {}
for k, v in pairs(utf8) do s_utf8[k] = v end

local s_os = with_refusals(copy(os, { "time", "clock", "date" }), "os.", {
  execute = true, remove = true, rename = true, tmpname = true, getenv = true, exit = true,
  setlocale = true, difftime = true,
})

-- Hooks are per coroutine: every coroutine a script makes gets the cancellation hook.
local function s_create(f)
  local co = co_create(f)
  sethook(co, hook, "", hook_count)
  return co
end

local function wrap_results(co, ok, ...)
  if ok then return ... end
  if is_cancelled() then real_error(CANCELLED, 0) end
  co_close(co)
  local err = ...
  real_error(err, real_type(err) == "string" and 2 or 0)
end

local s_coroutine = copy(coroutine, { "close", "isyieldable", "running", "status", "yield" })
s_coroutine.create = s_create
s_coroutine.resume = function(co, ...)
  check()
  return repack(co_resume(co, ...))
end
s_coroutine.wrap = function(f)
  local co = s_create(f)
  return function(...)
    check()
    return wrap_results(co, co_resume(co, ...))
  end
end

local function s_pcall(f, ...)
  check()
  return repack(real_pcall(f, ...))
end

local function s_xpcall(f, handler, ...)
  check()
  if handler == nil then real_error("bad argument #2 to 'xpcall' (value expected)", 2) end
  -- Once cancelled, the script's handler is skipped: it could loop or return something else.
  local function guarded(e)
    if is_cancelled() then return CANCELLED end
    return handler(e)
  end
  return repack(real_xpcall(f, guarded, ...))
end

local function s_setmetatable(t, mt)
  -- Finalizers run with hooks off (lgc.c, GCTM), so a looping __gc could never be cancelled. An object
  -- is marked for finalization only if its metatable has __gc when set, so refusing it here is enough.
  if real_type(mt) == "table" and real_rawget(mt, "__gc") ~= nil then
    real_error("setmetatable: __gc metamethods are not available in the sandbox", 2)
  end
  return real_setmetatable(t, mt)
end

local function s_getmetatable(v)
  -- The metatable of a Python object holds lupa's C functions (its __gc frees the object): hidden.
  if real_type(v) == "userdata" then return nil end
  return real_getmetatable(v)
end

local gc_allowed = { collect = true, count = true, step = true, isrunning = true }
local function s_collectgarbage(opt, ...)
  opt = opt == nil and "collect" or opt
  if not gc_allowed[opt] then
    real_error("collectgarbage: option '" .. real_tostring(opt) .. "' is not available in the sandbox", 2)
  end
  return real_collectgarbage(opt, ...)
end

local function s_load(chunk, chunkname, mode, ...)
  if real_type(chunk) == "string" and sbyte(chunk, 1) == 27 then
    return nil, "load: binary chunks are not available in the sandbox (text only)"
  end
  if mode == "b" then
    return nil, "load: mode 'b' is not available in the sandbox (text only)"
  end
  local chunk_env = env
  if real_select("#", ...) > 0 then chunk_env = ... end
  return real_load(chunk, chunkname, "t", chunk_env)
end

local function s_print(...)
  local n = real_select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = real_tostring((real_select(i, ...))) end
  emit(concat(parts, "\t"))
end

local loaded = {
  string = s_string, table = s_table, math = s_math, utf8 = s_utf8, coroutine = s_coroutine,
}

local function s_require(name)
  if real_type(name) ~= "string" then
    real_error("bad argument #1 to 'require' (string expected, got " .. real_type(name) .. ")", 2)
  end
  local cached = loaded[name]
  if cached ~= nil then return cached end
  local kind, a, b = resolve_module(name)
  if kind == "builtin" then
    if a == nil then a = true end
    loaded[name] = a
    return a
  elseif kind == "error" then
    real_error(a, 2)
  end
  local chunk, err = real_load(a, "@" .. b, "t", env)
  if not chunk then real_error(err, 0) end
  local result = chunk(name, b)
  if result ~= nil then loaded[name] = result elseif loaded[name] == nil then loaded[name] = true end
  return loaded[name], b
end

for _, name in ipairs({
  "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawset", "rawlen", "select",
  "tonumber", "tostring", "type", "_VERSION",
}) do
  env[name] = _G[name]
end
env.print = s_print
env.pcall = s_pcall
env.xpcall = s_xpcall
env.setmetatable = s_setmetatable
env.getmetatable = s_getmetatable
env.collectgarbage = s_collectgarbage
env.load = s_load
env.require = s_require
env.string, env.table, env.math, env.utf8 = s_string, s_table, s_math, s_utf8
env.coroutine, env.os = s_coroutine, s_os
env._G = env
with_refusals(env, "", {
  io = true, debug = true, package = true, python = true, dofile = true, loadfile = true,
  loadstring = true,
})

local function message_of(e)
  if real_type(e) == "string" then return e end
  local mt = raw_getmetatable(e)
  if real_type(e) == "userdata" or (mt and mt.__tostring) then
    local ok, s = real_pcall(real_tostring, e)
    if ok and real_type(s) == "string" then return s end
  end
  return sformat("(error object is a %s value)", real_type(e))
end

-- The sandbox's own frames say nothing to the script's author: keep the script's frames only.
local function clean_traceback(tb)
  local lines = {}
  for line in string.gmatch(tb, "[^\n]+") do
    if not string.find(line, "[sandbox]", 1, true) and line ~= "\t[C]: in function 'xpcall'" then
      lines[#lines + 1] = line
    end
  end
  return concat(lines, "\n")
end

-- Runs f(...) under the hook; returns true, results... or false, message, traceback.
local function run(f, ...)
  sethook(hook, "", hook_count)
  local tb = ""
  local function handler(e)
    local msg = message_of(e)
    tb = clean_traceback(traceback(msg, 2))
    return msg
  end
  local r = pack(real_xpcall(f, handler, ...))
  if r[1] then return unpack(r, 1, r.n) end
  local msg = r[2]
  if real_type(msg) ~= "string" then msg = message_of(msg) end
  return false, msg, tb
end

local function compile(text, chunkname)
  return real_load(text, chunkname, "t", env)
end

local function identity(v)
  return sformat("%p", v)
end

local function metafield(v, name)
  local mt = raw_getmetatable(v)
  if real_type(mt) ~= "table" then return nil end
  return real_rawget(mt, name)
end

return {
  env = env, loaded = loaded, run = run, compile = compile, identity = identity, metafield = metafield,
  rawget = real_rawget, type = real_type,
}
"""
