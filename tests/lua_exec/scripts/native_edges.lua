-- executors.md section 8 on native executors: E1, E2, E4-E21.
local exec = require("exec")
local t = require("t")

local ex = t.ok("get t:native", exec.get("t:native"))

-- Whether any process's command line has `marker` as a whole word, asked through the executor itself.
local function running(marker)
  local proc = t.ok("exec pgrep", ex:exec("pgrep -f -x -- '" .. marker .. "'"))
  t.ok("start pgrep", proc:start())
  return proc:wait() == 0
end

t.case("E1 exec('')", function()
  t.err("exec('')", errors.INVALID, "command is required", ex:exec(""))
end)

t.case("E2 exec('   ') then start", function()
  local proc = t.ok("exec spaces", ex:exec("   "))
  t.err("start", errors.INTERNAL, "exec: no command", proc:start())
end)

t.case("E4 whitelist is an exact match", function()
  local strict = t.ok("get t:listed", exec.get("t:listed"))
  local err = t.err("ls  -l", errors.INVALID, "command not allowed", strict:exec("ls  -l"))
  t.eq(err:details().command, "ls  -l", "details().command")
  t.err("ls -l;", errors.INVALID, "command not allowed", strict:exec("ls -l;"))
  t.err(" ls -l", errors.INVALID, "command not allowed", strict:exec(" ls -l"))
  local code = t.run(strict, "ls -l", { work_dir = "/" })
  t.eq(code, 0, "the exact allowed string runs")
  -- BETTER: no loader variables on a whitelisted executor
  t.err("LD_PRELOAD", errors.INVALID, "LD_PRELOAD", strict:exec("true", { env = { LD_PRELOAD = "/x.so" } }))
end)

t.case("E5 no env configured: nothing inherited", function()
  local code, out = t.run(ex, "sh -c 'echo \"[$HOME]\"'")
  t.eq(code, 0, "exit code")
  t.eq(out, "[]\n", "HOME is not inherited")
end)

t.case("E6 per-call env wins", function()
  local e = t.ok("get t:env", exec.get("t:env"))
  local code, out = t.run(e, "sh -c 'echo $A'", { env = { A = "2" } })
  t.eq(code, 0, "exit code")
  t.eq(out, "2\n", "child sees A=2")
  local _, default = t.run(e, "sh -c 'echo $A'")
  t.eq(default, "1\n", "default A=1 without a per-call value")
end)

t.case("E7 the program is looked up on the console's PATH, not the child's", function()
  local e = t.ok("get t:env", exec.get("t:env"))
  local proc = t.ok("exec tool", e:exec("execdeck-e7-tool-0421"))
  t.err("start", errors.INTERNAL, "executable file not found", proc:start())
  -- the child's PATH is the configured one, and `echo` is still found on the console's PATH
  local code, out = t.run(e, "sh -c 'echo $PATH'")
  t.eq(code, 0, "exit code") t.eq(out, "/opt/x/bin\n", "child PATH")
end)

t.case("E8 missing work dir", function()
  local proc = t.ok("exec", ex:exec("true", { work_dir = "/nonexistent/execdeck-e8" }))
  t.err("start", errors.INTERNAL, "/nonexistent/execdeck-e8", proc:start())
  local default = t.ok("get t:missing_dir", exec.get("t:missing_dir"))
  local p2 = t.ok("exec", default:exec("true"))
  t.err("start with default_work_dir", errors.INTERNAL, "/nonexistent/execdeck-test-dir", p2:start())
end)

t.case("E9 start twice", function()
  local proc = t.ok("exec", ex:exec("true"))
  t.ok("start", proc:start())
  t.err("second start", errors.INVALID, "process already started", proc:start())
  t.eq(proc:wait(), 0, "wait")
end)

t.case("E10 wait before start", function()
  local proc = t.ok("exec", ex:exec("true"))
  t.err("wait", errors.INVALID, "process not started: call start() first", proc:wait())
  proc:close()
end)

t.case("E11 wait twice", function()
  local proc = t.ok("exec", ex:exec("true"))
  t.ok("start", proc:start())
  t.eq(proc:wait(), 0, "first wait")
  t.err("second wait", errors.INVALID, "process is closed", proc:wait())
end)

t.case("E12 exit 42", function()
  t.eq((t.run(ex, "sh -c 'exit 42'")), 42, "exit code")
end)

t.case("E13 signal(15) then wait returns -1 quickly", function()
  local start = os.time()
  local proc = t.ok("exec", ex:exec("sleep 30.0421"))
  t.ok("start", proc:start())
  t.ok("signal", proc:signal(15))
  t.eq(proc:wait(), -1, "wait")
  t.truthy(t.elapsed(start) <= 2, "quickly")
end)

t.case("E14 (native) signal(9)", function()
  local proc = t.ok("exec", ex:exec("sleep 30.0421"))
  t.ok("start", proc:start())
  t.ok("signal", proc:signal(9))
  t.eq(proc:wait(), -1, "wait")
end)

t.case("E15 close(true) then start / signal / stdout_stream", function()
  local proc = t.ok("exec", ex:exec("sleep 30.0421"))
  t.ok("start", proc:start())
  t.eq(proc:close(true), true, "close(true)")
  t.err("start", errors.INVALID, "process is closed", proc:start())
  t.err("signal", errors.INVALID, "process is closed", proc:signal(15))
  t.err("stdout_stream", errors.INVALID, "process is closed", proc:stdout_stream())
  local fresh = t.ok("exec", ex:exec("true"))
  t.eq(fresh:close(true), true, "close(true) before start")
  t.err("start", errors.INVALID, "process is closed", fresh:start())
  t.err("signal", errors.INVALID, "process is closed", fresh:signal(15))
  t.err("stdout_stream", errors.INVALID, "process is closed", fresh:stdout_stream())
end)

t.case("E16 cat with end of input", function()
  local proc = t.ok("exec", ex:exec("cat"))
  local out = proc:stdout_stream()
  t.ok("start", proc:start())
  t.ok("write", proc:write_stdin("a\n"))
  t.ok("end of input", proc:write_stdin(""))
  t.eq(t.read_all(out), "a\n", "output")
  t.eq(proc:wait(), 0, "exit code")
end)

t.case("E17 stream taken before start, read after wait", function()
  local proc = t.ok("exec", ex:exec("seq 1 20000"))
  local out = proc:stdout_stream()
  t.ok("start", proc:start())
  t.eq(proc:wait(), 0, "wait")
  local text = t.read_all(out)
  local lines = 0
  for _ in text:gmatch("\n") do lines = lines + 1 end
  t.eq(lines, 20000, "every line")
  t.eq(text:sub(-6), "20000\n", "the last line")
end)

t.case("E18 a megabyte on stderr while only stdout is read", function()
  local proc = t.ok("exec", ex:exec("sh -c 'head -c 1048576 /dev/zero >&2; echo done'"))
  local out = proc:stdout_stream()
  t.ok("start", proc:start())
  t.eq(t.read_all(out), "done\n", "stdout reaches its end")
  t.eq(proc:wait(), 0, "exit code")
end)

t.case("E19 close(true) ends the process group", function()
  local marker = string.format("sleep 100.%d", math.random(100000, 999999))
  local proc = t.ok("exec", ex:exec("sh -c '" .. marker .. " & wait'"))
  t.ok("start", proc:start())
  local deadline = os.time() + 5
  while not running(marker) do
    t.truthy(os.time() <= deadline, "the grandchild sleep never showed up")
  end
  t.eq(proc:close(true), true, "close(true)")
  deadline = os.time() + 5
  while running(marker) do
    t.truthy(os.time() <= deadline, "a sleep of the group is still running")
  end
end)

t.case("E20 release then exec", function()
  local e = t.ok("get", exec.get("t:native"))
  t.eq(e:release(), true, "release")
  t.err("exec", errors.INVALID, "executor is released", e:exec("echo"))
  t.eq(e:release(), true, "second release")
end)

t.case("E21 unknown ids and no default namespace", function()
  t.err("nonexistent:resource", errors.INTERNAL, "resource not found", exec.get("nonexistent:resource"))
  t.err("shell", errors.INTERNAL, "resource not found", exec.get("shell"))
  t.err("native (no namespace)", errors.INTERNAL, "resource not found", exec.get("native"))
end)

t.done()
