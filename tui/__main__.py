"""``python -m tui``: the same as the ``execdeck`` script."""

from tui.cli import script

script()
