"""``python -m remediators``: the estate CLI (see :mod:`remediators.cli`)."""
import sys

from remediators.cli import main

sys.exit(main())
