"""Root pytest configuration, loaded before any test or notebook is collected.

The lessons read `NST_TEACH_FAST` (through `nst.fast_mode()`) in their first cell. nbval
starts each notebook's kernel as a child of this pytest process, and a child inherits the
environment it is started with, so the variable must be in `os.environ` before the first
kernel starts, which is why it is set here at import time and not in a fixture. Fast mode
makes every lesson work on 64 px images with few steps, so the whole course runs in CI in
a few minutes. `setdefault` keeps an explicit choice: `NST_TEACH_FAST=0 python -m pytest
lessons` runs the lessons at full size.
"""

import os

os.environ.setdefault("NST_TEACH_FAST", "1")
