"""Settings read from environment variables: the fast mode and the cache folder.

This is the single place where ``nst_teach`` reads its environment variables:

* ``NST_TEACH_FAST``: set it to ``1``, ``true``, ``yes`` or ``on`` (any case) to
  run lessons and tests in fast mode (small images, few steps).
* ``NST_TEACH_CACHE``: folder for downloaded and generated files. Defaults to
  ``~/.cache/nst_teach``.

Both are read each time a function is called, so changing ``os.environ`` (for
example in a test) takes effect at once.
"""

from __future__ import annotations

import os
import pathlib

FAST_MODE_VARIABLE = "NST_TEACH_FAST"
CACHE_VARIABLE = "NST_TEACH_CACHE"
TRUTHY_VALUES = frozenset({"1", "true", "yes", "on"})


def fast_mode() -> bool:
    """Tells whether the fast mode is on.

    Returns:
        True when the environment variable ``NST_TEACH_FAST`` holds ``1``,
        ``true``, ``yes`` or ``on`` (case-insensitive, surrounding spaces
        ignored); False when it is unset or holds anything else.
    """
    value = os.environ.get(FAST_MODE_VARIABLE, "")
    return value.strip().lower() in TRUTHY_VALUES


def cache_dir(subdir: str | None = None) -> pathlib.Path:
    """Returns the cache folder, creating it if needed.

    Args:
        subdir: Optional name of a subfolder inside the cache folder, such as
            ``"samples"``. It is created too.

    Returns:
        The absolute path of ``$NST_TEACH_CACHE`` (or ``~/.cache/nst_teach``
        when that variable is unset or empty), joined with ``subdir``.
    """
    configured = os.environ.get(CACHE_VARIABLE, "").strip()
    if configured:
        folder = pathlib.Path(configured).expanduser()
    else:
        folder = pathlib.Path.home() / ".cache" / "nst_teach"
    if subdir:
        folder = folder / subdir
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()
