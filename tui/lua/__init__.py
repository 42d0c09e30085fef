"""The Lua layer: sandboxed runtime (runtime.py), REPL engine (repl.py). No UI imports."""
