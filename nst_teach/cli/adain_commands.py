"""The commands ``train-adain`` and ``apply-adain`` (`nst_teach.adain`), with their parsers."""

from __future__ import annotations

import argparse
import pathlib
import time
from typing import Any

import nst_teach as nst
from nst_teach.cli.common import (
    IMAGE_SUFFIXES,
    INTERRUPTED_EXIT_CODE,
    HelpFormatter,
    UsageError,
    _add_training_arguments,
    _keras_output,
    _one_line_notices,
    _parse_weights,
    load_source,
    non_negative_float,
    positive_float,
    positive_int,
)


def _add_adain_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``train-adain -o DECODER.keras`` and ``apply-adain CONTENT STYLE... -o OUT``."""
    defaults = nst.adain.ADAIN_DEFAULTS
    train = commands.add_parser(
        "train-adain", parents=[common], help="train AdaIN's decoder (any style in one pass)",
        description="Trains the decoder of AdaIN (Huang & Belongie 2017) on photos and styles, "
                    "through the same run loop as train-fast, and saves it as a .keras file "
                    "(with a .json beside it) for apply-adain.", formatter_class=HelpFormatter)
    train.add_argument("-o", "--output", required=True, metavar="DECODER.keras")
    train.add_argument("--photos", default="offline", help="'offline', a folder, or a dataset")
    train.add_argument("--styles", default="offline", help="'offline' or a folder of styles")
    _add_training_arguments(train, str(defaults["num_steps"]))
    train.add_argument("--size", type=positive_int, metavar="PX",
                       help=f"side of the square crops (default: {defaults['crop_size']})")
    train.add_argument("--batch-size", type=positive_int,
                       help=f"crops per step (default: {defaults['batch_size']})")
    train.add_argument("--learning-rate", type=positive_float, metavar="RATE",
                       help=f"Adam's learning rate, also for a resumed run "
                            f"(default: {defaults['learning_rate']:g})")
    train.add_argument("--width", type=positive_float, default=1.0,
                       help="decoder channels as a fraction of VGG's")
    for term in ("content", "style", "reconstruction"):
        train.add_argument(f"--{term}-weight", type=non_negative_float, metavar="WEIGHT",
                           help=f"weight of the {term} term (default: "
                                f"{defaults[term + '_weight']:g})")
    train.add_argument("--precision", default="float32", choices=("float32", "bfloat16", "auto"),
                       help="dtype of the encoder's convolutions")
    train.add_argument("--weights", default="hed", help="encoder weights: hed, imagenet, .h5")
    train.set_defaults(handler=run_train_adain)
    apply = commands.add_parser(
        "apply-adain", parents=[common], help="stylize a photo with any style in one pass",
        description="Stylizes CONTENT with STYLE (several styles are blended) in one pass "
                    "through AdaIN's decoder (the shipped one by default).",
        formatter_class=HelpFormatter)
    apply.add_argument("content", metavar="CONTENT", help="photo: path, URL or sample")
    apply.add_argument("styles", nargs="+", metavar="STYLE", help="styles: paths, URLs, samples")
    apply.add_argument("-o", "--output", required=True, metavar="OUT.png")
    apply.add_argument("--alpha", type=non_negative_float, default=1.0,
                       help="content-style trade-off in [0, 1] (1: full style)")
    apply.add_argument("--style-weights", type=non_negative_float, nargs="+", metavar="W",
                       help="how much of each STYLE (default: equal)")
    apply.add_argument("--decoder", metavar="DECODER.keras", help="a decoder from train-adain")
    apply.add_argument("--size", type=positive_int, default=512, metavar="PX",
                       help="shrink the longer side of CONTENT and STYLE to PX")
    apply.set_defaults(handler=run_apply_adain)


def run_train_adain(args: argparse.Namespace) -> int:
    """Runs ``train-adain``: trains, saves the decoder and its .json, prints a summary."""
    output = _keras_output(args.output, "decoder")
    started = time.perf_counter()
    result = nst.adain.train_decoder(
        styles=args.styles, photos=args.photos, width=args.width,
        weights=_parse_weights(args.weights, "vgg16"), content_weight=args.content_weight,
        style_weight=args.style_weight, reconstruction_weight=args.reconstruction_weight,
        precision=args.precision, num_steps=args.steps,
        max_seconds=None if args.minutes is None else 60 * args.minutes, crop_size=args.size,
        batch_size=args.batch_size, learning_rate=args.learning_rate,
        checkpoint_dir=args.checkpoint_dir, seed=args.seed, progress=not args.quiet,
        verbose=not args.quiet)
    if result.status == "not finite":
        raise RuntimeError(result.message)
    nst.adain.save_decoder(result, output)
    last = result.history[-1] if result.history else {"content": float("nan"),
                                                      "style": float("nan")}
    print(output.resolve())
    print(f"{result.step} steps, last batch content {last['content']:.4g}, style "
          f"{last['style']:.4g}, {time.perf_counter() - started:.1f} s on {result.device}, "
          f"{result.settings['num_parameters']} parameters, {result.status}", flush=True)
    return INTERRUPTED_EXIT_CODE if result.status == "interrupted" else 0


def run_apply_adain(args: argparse.Namespace) -> int:
    """Runs ``apply-adain``: stylizes CONTENT and prints the path written and the time."""
    output = pathlib.Path(args.output).expanduser()
    if output.suffix.lower() not in IMAGE_SUFFIXES:
        raise UsageError(f"'{args.output}' is not a .png or .jpg file name")
    if args.style_weights is not None and len(args.style_weights) != len(args.styles):
        raise UsageError(f"give one --style-weights value per STYLE ({len(args.styles)}), "
                         f"not {len(args.style_weights)}")
    if args.alpha > 1:
        raise UsageError(f"--alpha must be in [0, 1], not {args.alpha:g}")
    with _one_line_notices():
        content = load_source(args.content, args.size)
        styles = [load_source(style, args.size) for style in args.styles]
    model = nst.adain.load_model(args.decoder)
    started = time.perf_counter()
    picture = nst.adain.stylize(content, styles, alpha=args.alpha,
                                style_weights=args.style_weights, model=model)
    seconds = time.perf_counter() - started
    nst.save_image(picture, output)
    print(f"{output.resolve()}  ({content.shape[2]}x{content.shape[1]} px, {seconds:.2f} s)",
          flush=True)
    return 0
