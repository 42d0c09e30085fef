-- Run as a demo visitor: app:free is locked, app:shell is open for "echo hi" only.
local exec = require("exec")

local function check_denial(message, value, err)
  assert(value == nil, "expected nil, got " .. tostring(value))
  assert(err ~= nil, "expected an error")
  assert(err:kind() == errors.INVALID, "kind: " .. tostring(err:kind()))
  assert(err:message() == message, "message: " .. err:message())
  assert(tostring(err) == message, "tostring: " .. tostring(err))
  assert(err:retryable() == false, "retryable")
end

-- exec.get on a locked executor, and on an id that does not exist: the same denial, no existence leak
check_denial("permission denied: access executor", exec.get("app:free"))
check_denial("permission denied: access executor", exec.get("app:nope"))
-- an empty id is still the reference's own error
local none, empty = exec.get("")
assert(none == nil and empty:message() == "resource id is required")

local shell, err = exec.get("app:shell")
assert(shell, err)
-- exec.run: a denied command, and one that no policy allows (not whitelisted either: the check comes first)
check_denial("permission denied: execute command", shell:exec("rm -rf /tmp/policy-test-never"))
check_denial("permission denied: execute command", shell:exec("id"))
check_denial("permission denied: execute command", shell:exec(""))
-- an allowed one runs
local proc = assert(shell:exec("echo hi"))
local out = proc:stdout_stream()
assert(proc:start())
assert(proc:wait() == 0)
assert(out:read() == "hi\n")
-- a released executor is still asked first
shell:release()
check_denial("permission denied: execute command", shell:exec("id"))
local _, released = shell:exec("echo hi")
assert(released:message() == "executor is released")
local details = select(2, exec.get("app:free")):details()
assert(details.action == "exec.get" and details.resource == "app:free" and details.policy == "")
print("denials ok")
