"""``python -m tui``: the same as the ``execdeck`` script."""

import sys

from tui.cli import main

sys.exit(main())
