-- Scripts in the style of the reference's documentation, unchanged apart from the executor id and the
-- commands (which must exist here). They print what they read; the Python test checks the output.

-- Example 1: run a command and stream its output.
local exec = require("exec")

local executor, err = exec.get("t:native")
if err then
  error("failed to get executor: " .. tostring(err))
end

local proc, err = executor:exec("ls /", { work_dir = "/" })
if err then
  error("failed to create process: " .. tostring(err))
end

local stdout = proc:stdout_stream()
local ok, err = proc:start()
if not ok then
  error("failed to start: " .. tostring(err))
end

local output = ""
while true do
  local chunk, err = stdout:read(4096)
  if err then error("read failed: " .. tostring(err)) end
  if not chunk then break end
  output = output .. chunk
end
stdout:close()

local code, err = proc:wait()
print("example 1 exit code: " .. tostring(code))
assert(output:find("usr"), "ls / did not list usr")

-- Example 2: feed stdin and read the result (the reference documents write_stdin("") as end of input).
local sorter = executor:exec("sort")
local sorted_out = sorter:stdout_stream()
sorter:start()
sorter:write_stdin("pear\napple\nfig\n")
sorter:write_stdin("")
local sorted = {}
while true do
  local chunk = sorted_out:read()
  if not chunk then break end
  sorted[#sorted + 1] = chunk
end
print("example 2 exit code: " .. tostring(sorter:wait()))
io_text = table.concat(sorted)
print("example 2 output: " .. io_text:gsub("\n", " "))

-- Example 3: errors are values, checked by kind.
local _, err = executor:exec("")
if err and err:kind() == errors.INVALID then
  print("example 3 invalid: " .. err:message())
end
local _, err = exec.get("app:nope")
if err and err:kind() == errors.INTERNAL then
  print("example 3 internal: " .. tostring(err))
end

-- Example 4: environment and a signal.
local sleeper = executor:exec("sleep 30.0421", { env = { MODE = "test" } })
sleeper:start()
sleeper:signal(15)
print("example 4 exit code: " .. tostring(sleeper:wait()))

executor:release()
