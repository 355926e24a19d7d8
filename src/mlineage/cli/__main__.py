"""``python -m mlineage.cli``: the ``mlineage`` command."""

import sys

from mlineage.cli import main

sys.exit(main())
