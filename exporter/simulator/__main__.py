"""``python -m exporter.simulator``."""

import sys

from exporter.simulator.cli import main

sys.exit(main())
