"""``python -m tui``: the same as the ``execdeck`` script."""

from tui.launch import script

script()
