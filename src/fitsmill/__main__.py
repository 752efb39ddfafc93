"""``python -m fitsmill`` runs the command line."""

import sys

from fitsmill.cli import main

sys.exit(main())
