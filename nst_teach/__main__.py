"""Runs the command line: ``python -m nst_teach --help`` (see `nst_teach.cli`)."""

import sys

from nst_teach.cli import main

sys.exit(main())
