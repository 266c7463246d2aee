"""``python -m ranet`` is the ``ranet`` command."""

import sys

from ranet.cli import main

sys.exit(main())
