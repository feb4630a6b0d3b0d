"""The command line: ``python -m nst_teach`` (or the ``nst-teach`` console script).

Subcommands:

* ``stylize CONTENT STYLE -o OUT``: paints CONTENT in the style of STYLE (paths,
  URLs or sample names) with every option of `nst_teach.stylize`.
* ``demo``: stylizes two sample images, offline if need be.
* ``doctor``: prints versions, devices, weights, memory and settings, for bug reports.
* ``fetch-weights``: fills the Keras ImageNet cache and checks the hed weights.
* ``fetch-samples``: downloads the sample images into the cache.
* ``samples``: lists the sample images with their titles and licenses.
* ``train-fast STYLE -o MODEL.keras``: trains a fast style-transfer network (nst_teach.fast).
* ``apply-fast MODEL.keras IMAGE... -o OUT``: stylizes photos with it in one pass.

Every error is one line on stderr, ``nst-teach: error: <message>``, with exit
code 2 for a mistake in the command line and 1 for a failure while running.
``--debug`` shows the full traceback instead.

Modules: `parser` (the argument parser), `commands` (stylize, demo, fetch-weights,
fetch-samples, samples), `fast_commands` (train-fast, apply-fast), `doctor`, and
`common` (exit codes, defaults, argument types, one-line errors).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from nst_teach.cli.common import (
    INTERRUPTED_EXIT_CODE,
    RUNTIME_ERRORS,
    RUNTIME_EXIT_CODE,
    USAGE_EXIT_CODE,
    UsageError,
    _fail,
    _first_sentence,
)
from nst_teach.cli.parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line.

    Args:
        argv: The arguments after the program name; None reads ``sys.argv[1:]``.

    Returns:
        The exit code: 0 on success, 1 when running failed, 2 for a mistake in
        the command line, 130 when interrupted with Ctrl-C. Errors are printed
        as one line on stderr; ``--debug`` raises them instead.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        return _fail(error, USAGE_EXIT_CODE)
    except SystemExit as exit_request:  # --help and --version print, then ask to exit
        code = exit_request.code
        return code if isinstance(code, int) else 0
    try:
        return args.handler(args)
    except UsageError as error:
        if args.debug:
            raise
        return _fail(error, USAGE_EXIT_CODE)
    except KeyboardInterrupt:
        if args.debug:
            raise
        return _fail("interrupted", INTERRUPTED_EXIT_CODE)
    except RUNTIME_ERRORS + _tensorflow_errors() as error:
        if args.debug:
            raise
        return _fail(_explain(error), RUNTIME_EXIT_CODE)


def _tensorflow_errors() -> tuple[type[BaseException], ...]:
    """TensorFlow's out-of-memory error, which is not a RuntimeError."""
    import tensorflow as tf

    return (tf.errors.ResourceExhaustedError,)


def _explain(error: BaseException) -> str:
    """The message of an error, with a hint for out-of-memory errors."""
    if isinstance(error, (MemoryError, *_tensorflow_errors())):
        return ("out of memory: use a smaller --size (such as 128) or fewer style layers "
                f"({type(error).__name__}: {_first_sentence(error)})")
    return str(error) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
