-- A tiny test helper for the exec scripts: `local t = require("t")`.
-- Every check fails the script with a message naming the case and what differed; `t.case` prints
-- "ok <name>" after each passing case and `t.done()` prints the count, which the Python side checks.
local t = { passed = 0, current = "?" }

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function t.fail(what, level)
  error(string.format("[%s] %s", t.current, what), (level or 1) + 1)
end

function t.eq(got, want, what)
  if got ~= want then t.fail(string.format("%s: expected %s, got %s", what, show(want), show(got)), 2) end
end

function t.truthy(v, what)
  if not v then t.fail(what .. ": expected a true value, got " .. show(v), 2) end
end

function t.contains(text, part, what)
  if type(text) ~= "string" or not string.find(text, part, 1, true) then
    t.fail(string.format("%s: expected text containing %s, got %s", what, show(part), show(text)), 2)
  end
end

-- `value, err` (the call goes last, so that both its results arrive) must be `nil, err` with err of
-- `kind` whose message contains `part`.
function t.err(what, kind, part, value, err)
  if value ~= nil then t.fail(what .. ": expected nil, got " .. show(value), 2) end
  if type(err) ~= "userdata" then t.fail(what .. ": expected an error userdata, got " .. show(err), 2) end
  if err:kind() ~= kind then t.fail(string.format("%s: kind %s, expected %s (%s)", what, err:kind(), kind,
    err:message()), 2) end
  if not string.find(err:message(), part, 1, true) then
    t.fail(string.format("%s: message %s does not contain %s", what, show(err:message()), show(part)), 2)
  end
  if tostring(err) ~= err:message() then t.fail(what .. ": tostring(err) is not the message", 2) end
  if err:retryable() ~= false then t.fail(what .. ": retryable() should be false", 2) end
  return err
end

-- `value, err` (the call goes last) must be a success: returns the value.
function t.ok(what, value, err)
  if err ~= nil then t.fail(what .. ": unexpected error: " .. tostring(err), 2) end
  return value
end

-- Read a stream to its end; returns everything read.
function t.read_all(stream, size)
  local parts = {}
  while true do
    local chunk, err = stream:read(size)
    if err then t.fail("read: " .. tostring(err), 2) end
    if chunk == nil then break end
    parts[#parts + 1] = chunk
  end
  return table.concat(parts)
end

-- Start `cmd` on `executor`, wait, and return exit code, stdout, stderr.
function t.run(executor, cmd, opts)
  local proc = t.ok("exec " .. cmd, executor:exec(cmd, opts))
  local out, err = proc:stdout_stream(), proc:stderr_stream()
  t.ok("start " .. cmd, proc:start())
  local code = t.ok("wait " .. cmd, proc:wait())
  return code, t.read_all(out), t.read_all(err)
end

-- Seconds since `start` (os.time has 1 s resolution: good enough for "quickly" bounds of a few seconds).
function t.elapsed(start) return os.time() - start end

function t.case(name, fn)
  t.current = name
  fn()
  t.passed = t.passed + 1
  print("ok " .. name)
end

function t.done()
  print(string.format("passed %d", t.passed))
end

return t
