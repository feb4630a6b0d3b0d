"""The commands ``stylize``, ``demo``, ``fetch-weights``, ``fetch-samples`` and ``samples``."""

from __future__ import annotations

import argparse
import functools
import json
import pathlib
import shutil
import sys
import time
import warnings
from typing import Any, Sequence

import numpy as np

import nst_teach as nst
from nst_teach import backbone_weights, config, profiles, samples
from nst_teach.cli.common import (
    DEMO_CONTENT,
    DEMO_DOWNLOAD_TIMEOUT,
    DEMO_STYLE,
    INTERRUPTED_EXIT_CODE,
    KERAS_FOLDER,
    PROG,
    SAMPLES_FOLDER,
    UsageError,
    _check_output_path,
    _json_safe,
    _one_line_notices,
    _parse_layers,
    _parse_weights,
    load_source,
)
from nst_teach.cli.doctor import _describe_hed, _fetch_imagenet, _status
from nst_teach.estimate import memory_warning
from nst_teach.settings import DEFAULT_OPTIMIZER


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
    warning = memory_warning(content.shape[1:3], layer_backbone, args.optimizer, num_steps,
                             args.precision, profile.memory_budget_mb)
    if warning and not args.quiet:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
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


def run_fetch_weights(args: argparse.Namespace) -> int:
    """Runs ``fetch-weights``: fills the ImageNet cache, then checks hed; one line each.

    Raises:
        RuntimeError: If any weights could not be loaded (after every line is printed).
    """
    keras_models = backbone_weights.imagenet_cache_path("vgg16").parent
    if args.source is not None:
        names = [backbone_weights.IMAGENET_FILES[backbone] for backbone in args.backbone]
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
        names = [backbone_weights.IMAGENET_FILES[backbone] for backbone in args.backbone
                 if backbone_weights.imagenet_cache_path(backbone).is_file()]
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
