"""The argument parser of ``nst-teach``: one sub-parser per command, options in groups."""

from __future__ import annotations

import argparse
import pathlib
from typing import Any

import nst_teach as nst
from nst_teach import samples
from nst_teach.cli.commands import (
    run_demo,
    run_fetch_samples,
    run_fetch_weights,
    run_samples,
    run_stylize,
)
from nst_teach.cli.common import (
    DEMO_CONTENT,
    DEMO_OUTPUT,
    DEMO_STYLE,
    FAST_SIZE,
    FAST_STEPS,
    KERAS_FOLDER,
    PROG,
    SAMPLES_FOLDER,
    ArgumentParser,
    HelpFormatter,
    _defaults_per_weights,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from nst_teach.cli.adain_commands import _add_adain_parsers
from nst_teach.cli.doctor import run_doctor
from nst_teach.cli.fast_commands import _add_fast_parsers
from nst_teach.settings import DEFAULT_OPTIMIZER, OPTIMIZER_DEFAULTS


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
    _add_adain_parsers(commands, common)
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
    _add_control_options(stylize.add_argument_group("controls (lessons 09 and 10)"))
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
    """Adds the controls of lessons 09 and 10 (see nst_teach.controls)."""
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
