"""``python -m diano`` is the ``diano`` command."""

import sys

from diano.cli import main

sys.exit(main())
