"""``python -m r1lab``: the same as the ``r1lab`` command."""

import sys

from r1lab.cli import main

sys.exit(main())
