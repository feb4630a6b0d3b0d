"""The commands ``train-fast`` and ``apply-fast`` (`nst_teach.fast`), with their parsers."""

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


def _add_fast_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``train-fast STYLE -o MODEL.keras`` (and ``apply-fast``)."""
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
    _add_training_arguments(train, both("num_steps"))
    train.add_argument("--size", type=positive_int, metavar="PX",
                       help=f"side of the square training crops (default: {both('crop_size')})")
    train.add_argument("--batch-size", type=positive_int,
                       help=f"crops per step (default: {both('batch_size')})")
    train.add_argument("--learning-rate", type=positive_float, metavar="RATE",
                       help=f"Adam's learning rate, also for a resumed run "
                            f"(default: {both('learning_rate')})")
    train.add_argument("--style-size", type=positive_int, metavar="PX",
                       help=f"longer side of the style image (default: {both('style_size')})")
    train.add_argument("--base-filters", type=positive_int,
                       help=f"network width (default: {both('base_filters')})")
    train.add_argument("--residual-blocks", type=positive_int,
                       help=f"network depth (default: {both('num_residual_blocks')})")
    for term in ("content", "style", "tv"):
        train.add_argument(f"--{term}-weight", type=non_negative_float, metavar="WEIGHT",
                           help=f"weight of the {term} term (default per weights)")
    train.add_argument("--init-from", metavar="NETWORK",
                       help="train this network further instead of a new one: a .keras file "
                            "from train-fast, or a shipped network's style name (its width "
                            "and depth are kept; steps count from 0, Adam starts afresh)")
    train.add_argument("--start-from-photo", action="store_true",
                       help="the new network paints a change to the photo (starts as the "
                            "identity, like stylize from the content image)")
    train.add_argument("--precision", default="float32", choices=("float32", "bfloat16", "auto"),
                       help="dtype of VGG's convolutions in the loss (bfloat16 is faster on "
                            "CPUs that have it; Gram matrices stay float32)")
    train.add_argument("--weights", default="auto", metavar="WEIGHTS",
                       help="auto, imagenet, hed (offline VGG16), random, or an .h5 file")
    train.set_defaults(handler=run_train_fast)
    _add_apply_fast_parser(commands, common)


def _add_apply_fast_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Adds ``apply-fast MODEL.keras IMAGE... -o OUT``."""
    apply = commands.add_parser(
        "apply-fast", parents=[common], help="stylize photos with a network from train-fast",
        description="Stylizes each IMAGE in one pass through MODEL.keras (or a shipped "
                    "network, named by its style). OUT is a file for "
                    "one image, else a folder (IMAGE's name + '_stylized.png').",
        formatter_class=HelpFormatter)
    apply.add_argument("model", metavar="MODEL.keras",
                       help="a network saved by train-fast, or the name of a shipped one ("
                            + ", ".join(nst.fast.pretrained_styles()) + ")")
    apply.add_argument("images", nargs="+", metavar="IMAGE", help="photos: paths, URLs, samples")
    apply.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="output file (.png/.jpg, one image) or folder")
    apply.add_argument("--size", type=positive_int, metavar="PX",
                       help="shrink each photo's longer side to at most PX first")
    apply.set_defaults(handler=run_apply_fast)


def run_train_fast(args: argparse.Namespace) -> int:
    """Runs ``train-fast``: trains, saves the .keras file, prints a summary."""
    output = _keras_output(args.output, "network")
    weights = _parse_weights(args.weights, None)
    model = None if args.init_from is None else _initial_network(args)
    with _one_line_notices(quiet=args.quiet):
        style = load_source(args.style, args.style_size or nst.fast.default_settings()["style_size"])
    started = time.perf_counter()
    result = nst.fast.train(
        style, photos=args.photos, model=model, weights=weights, num_steps=args.steps,
        max_seconds=None if args.minutes is None else 60 * args.minutes,
        crop_size=args.size, batch_size=args.batch_size, learning_rate=args.learning_rate,
        style_size=args.style_size, base_filters=args.base_filters,
        num_residual_blocks=args.residual_blocks, content_weight=args.content_weight,
        style_weight=args.style_weight, tv_weight=args.tv_weight,
        checkpoint_dir=args.checkpoint_dir, seed=args.seed, preview=None,
        precision=args.precision, start_from_photo=args.start_from_photo,
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


def _network(name_or_path: str):
    """A shipped network (named by its style) or a .keras file from train-fast."""
    shipped = (name_or_path in nst.fast.pretrained_styles()
               and not pathlib.Path(name_or_path).exists())
    return nst.fast.pretrained(name_or_path) if shipped else nst.fast.load(name_or_path)


def _holds_checkpoints(folder: str) -> bool:
    import tensorflow as tf

    return tf.train.latest_checkpoint(str(pathlib.Path(folder).expanduser())) is not None


def _initial_network(args: argparse.Namespace):
    """The network ``--init-from`` names, after checking the options that would contradict it."""
    given = [option for option, value in (("--base-filters", args.base_filters),
                                          ("--residual-blocks", args.residual_blocks),
                                          ("--start-from-photo", args.start_from_photo))
             if value]
    if given:
        raise UsageError(f"--init-from keeps the network's own architecture: drop "
                         f"{', '.join(given)}")
    if args.checkpoint_dir and _holds_checkpoints(args.checkpoint_dir):
        raise UsageError(f"--init-from starts a new run, but '{args.checkpoint_dir}' holds the "
                         f"checkpoints of a run that would resume instead: use another "
                         f"--checkpoint-dir, or drop --init-from to resume that run")
    return _network(args.init_from)


def run_apply_fast(args: argparse.Namespace) -> int:
    """Runs ``apply-fast``: stylizes each image and prints the paths written."""
    output = pathlib.Path(args.output).expanduser()
    to_file = output.suffix.lower() in IMAGE_SUFFIXES
    if to_file and len(args.images) > 1:
        raise UsageError(f"{len(args.images)} images need an output folder, not the file "
                         f"'{args.output}'")
    if not to_file and output.suffix:
        raise UsageError(f"'{args.output}' is neither a folder nor a .png/.jpg file name")
    model = _network(args.model)
    for source in args.images:
        with _one_line_notices():
            photo = load_source(source, args.size or 1 << 16)  # no --size: the photo's own size
        started = time.perf_counter()
        stylized = nst.fast.apply_network(model, photo)
        seconds = time.perf_counter() - started
        target = output if to_file else output / f"{pathlib.Path(source).stem}_stylized.png"
        nst.save_image(stylized, target)
        print(f"{target.resolve()}  ({photo.shape[2]}x{photo.shape[1]} px, {seconds:.2f} s)",
              flush=True)
    return 0
