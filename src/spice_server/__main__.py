"""``python -m spice_server`` runs the ``spice-server`` command."""

import sys

from .cli import main

sys.exit(main())
