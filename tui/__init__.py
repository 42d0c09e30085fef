"""execdeck: a terminal console for command executors.

It re-implements the executors of an existing runtime, "the reference" in comments here: entries of kind
``exec.native`` and ``exec.docker``, driven from Lua through ``require("exec")``. Scripts written for it
must run unchanged, so where a comment says "as the reference does", the behaviour is kept on purpose;
where it says the reference does otherwise, execdeck does better on purpose. ``docs/reference-contract.md``
is the whole contract, and the README's "Differences from the reference" the short list.
"""
