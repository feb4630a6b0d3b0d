"""Benchmark: time to the tutorial's quality on a panel of content x style pairs.

For every pair of the panel (photos and paintings of different kinds), at
256 px, starting from the content image, on bench_stylize's objective (hed
VGG16 weights, tutorial conventions, style 1, content 1e4, TV 1, content
block5_conv2, style block1..5_conv1):

  1. the TensorFlow tutorial's Adam loop (0.02 / 0.99 / 0.1) runs 300 steps in
     float32; its time (steady state, tracing not counted) and its final loss
     are the target (cached in `--cache`, keyed by pair, size and TensorFlow);
  2. each contender (an optimizer, a precision, optionally a coarse stage)
     runs until its image, judged by the float32 objective after every step,
     is at least as good as the tutorial's; its time counts tracing and the
     coarse stage, not the judging. Speed-up = tutorial seconds / seconds.

Prints a table per contender (one row per pair), then the median and the
worst pair. A contender that does not reach the target within `--max-steps`
counts as 0x.

Contenders (`--contenders`, default: the first four):
  adam, adam-f32       the default optimizer, default precision / float32
  lbfgs, lbfgs-f32     L-BFGS
  c2f-*, c2f-*-f32     a coarse stage at `--coarse-size` (`--coarse-steps` steps) first,
                       then the full size from the content plus the upsampled
                       (coarse result - coarse content): `c2f-adam`, `c2f-lbfgs`;
                       `up-adam`, `up-lbfgs` start the full size from the upsampled
                       coarse result instead (what `sizes=` did before)
  adam-lbfgs[-f32]     `--adam-steps` Adam steps, then L-BFGS
`--learning-rate` sets Adam's rate (last stage) for every contender;
`--schedule cosine:START:STEPS:FLOOR` makes it a schedule instead (Keras'
CosineDecay from START to START * FLOOR over STEPS steps), `--schedule
warmup:START:STEPS:PEAK` a linear warm-up from START to PEAK over STEPS steps, then
PEAK; `--option NAME=VALUE` passes optimizer options (e.g. `memory=20` for L-BFGS,
`beta_2=0.99` for Adam) to the last stage.

Images: contents and styles are the project's samples (downloaded online, or
generated offline), scikit-image's bundled photos (`pip install scikit-image`)
and, for tubingen/starry_night/shipwreck, `--images` when it holds them.

Usage:
    python benchmarks/bench_panel.py [--contenders adam adam-f32 ...] [--pairs 0 1 ...]
        [--size 256] [--max-steps 300] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_stylize import CONTENT_LAYERS, STYLE_LAYERS, WEIGHTS, tutorial_loop  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
# (content, style, what the pair tests)
PANEL = (
    ("tubingen", "starry_night", "city x swirls"),
    ("tubingen", "shipwreck", "city x stormy sea"),
    ("grace_hopper", "starry_night", "portrait x swirls"),
    ("astronaut", "mosaic", "portrait x mosaic"),
    ("coffee", "waves", "still life x waves"),
    ("chelsea", "gravel", "animal x fine texture"),
    ("scene", "flat_colour", "landscape x flat colour"),
    ("rocket", "swirls", "landscape x generated swirls"),
)
SKIMAGE = {"astronaut", "coffee", "chelsea", "rocket", "gravel"}
SHARED = {"tubingen": "tubingen.jpg", "starry_night": "starry_night.jpg",
          "shipwreck": "shipwreck.jpg"}
SAMPLE = {"tubingen": "tuebingen", "starry_night": "starry_night", "grace_hopper": "grace_hopper",
          "mosaic": "mosaic", "waves": "waves", "swirls": "swirls"}


def load_source(name: str, size: int, images: pathlib.Path):
    """An image of the panel, `(1, H, W, 3)` float32 in [0, 1], longer side `size`."""
    import numpy as np

    import nst_teach as nst

    if name in SHARED and (images / SHARED[name]).exists():
        return nst.load_image(images / SHARED[name], max_size=size)
    if name in SKIMAGE:
        try:
            import skimage.data
        except ImportError as error:
            raise SystemExit("The panel uses scikit-image's bundled photos: "
                             "pip install scikit-image") from error
        array = getattr(skimage.data, name)()
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        return nst.resize_image(array[None].astype("float32") / 255.0, _shape(array, size))
    if name == "scene":
        return _fit(nst.photos.generate_scene(seed=7, size=size), size)
    if name == "flat_colour":
        return _fit(flat_colour_painting(size), size)
    return nst.sample_image(SAMPLE[name], max_size=size)


def flat_colour_painting(size: int, seed: int = 1921):
    """Flat red, yellow, blue and white rectangles between black bars (after Mondrian)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    image = np.ones((size, size, 3), dtype="float32")
    colours = [(0.8, 0.1, 0.1), (0.95, 0.8, 0.1), (0.1, 0.2, 0.6)] + [(0.95, 0.95, 0.92)] * 3
    boxes = [(0, 0, size, size)]
    for _ in range(9):  # split the largest box across its longer side
        top, left, bottom, right = boxes.pop(int(np.argmax(
            [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes])))
        if bottom - top > right - left:
            cut = int(rng.uniform(0.3, 0.7) * (bottom - top)) + top
            boxes += [(top, left, cut, right), (cut, left, bottom, right)]
        else:
            cut = int(rng.uniform(0.3, 0.7) * (right - left)) + left
            boxes += [(top, left, bottom, cut), (top, cut, bottom, right)]
    bar = max(2, size // 48)
    for top, left, bottom, right in boxes:
        image[top:bottom, left:right] = 0.05
        image[top + bar:bottom - bar, left + bar:right - bar] = colours[rng.integers(len(colours))]
    return image[None]


def _shape(array, size: int) -> tuple[int, int]:
    height, width = array.shape[:2]
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _fit(image, size: int):
    import numpy as np

    import nst_teach as nst

    image = np.asarray(image, dtype="float32")
    image = image if image.ndim == 4 else image[None]
    return nst.resize_image(image, _shape(image[0], size))


def tutorial_target(pair: tuple, content, style, args, objective) -> dict:
    """The tutorial loop's seconds and its final float32 loss (cached)."""
    import tensorflow as tf

    key = f"{pair[0]}|{pair[1]}|{args.size}|{args.tutorial_steps}|{tf.__version__}"
    cache = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    if key not in cache:
        image, seconds = tutorial_loop(content, style, args.tutorial_steps)
        cache[key] = {"seconds": seconds, "loss": float(objective(tf.constant(image)))}
        args.cache.write_text(json.dumps(cache, indent=1))
    return cache[key]


def run_contender(name: str, content, style, target: float, objective, common: dict, args):
    """Seconds (judging excluded) and steps until the float32 loss <= target, or None."""
    import nst_teach as nst

    precision = "float32" if name.endswith("-f32") else "auto"
    base = name.removesuffix("-f32")
    spent = {"judging": 0.0, "before": 0.0, "steps": 0}
    reached = {}

    def judge(run):
        started = time.perf_counter()
        image = run.get_image()
        if image.shape == content.shape and objective(image) <= target:
            reached.update(seconds=spent["before"] + run.elapsed - spent["judging"],
                           steps=spent["steps"] + run.step)
            run.stop_event.set()
        spent["judging"] += time.perf_counter() - started

    options = dict(precision=precision, callbacks=[judge], **common)
    init = "content"
    if base.startswith(("c2f-", "up-")):
        optimizer = base.split("-", 1)[1]
        small = nst.resize_image(content, _shape(content[0], args.coarse_size))
        started = time.perf_counter()
        coarse = nst.stylize(small, style, optimizer=optimizer, num_steps=args.coarse_steps,
                             **{**options, "callbacks": []})
        upsampled = nst.resize_image(coarse.image, content.shape[1:3])
        init = upsampled if base.startswith("up-") else (
            content + upsampled - nst.resize_image(small, content.shape[1:3])).clip(0, 1)
        spent.update(before=time.perf_counter() - started, steps=args.coarse_steps)
    elif base == "adam-lbfgs":
        warm = nst.stylize(content, style, optimizer="adam", num_steps=args.adam_steps,
                           **options)
        spent.update(before=warm.history[-1]["time"] - spent["judging"], judging=0.0,
                     steps=args.adam_steps)
        init, optimizer = warm.image, "lbfgs"
    else:
        optimizer = base
    if not reached:
        rate = {"learning_rate": learning_rate(args)} if optimizer == "adam" else {}
        nst.stylize(content, style, optimizer=optimizer, num_steps=args.max_steps, init=init,
                    optimizer_options=optimizer_options(args, optimizer), **rate, **options)
    return reached or None


def learning_rate(args):
    """Adam's rate for the last stage: None (the default), a number or a schedule."""
    if args.schedule is None:
        return args.learning_rate
    kind, start, steps, last = args.schedule.split(":")
    if kind == "cosine":
        import keras
        return keras.optimizers.schedules.CosineDecay(float(start), int(steps), alpha=float(last))
    if kind == "warmup":
        start, steps, peak = float(start), int(steps), float(last)
        return lambda step: start + (peak - start) * min(step, steps) / steps
    raise ValueError(f"Unknown schedule {kind!r}: use cosine:START:STEPS:FLOOR or "
                     "warmup:START:STEPS:PEAK.")


def optimizer_options(args, optimizer: str) -> dict:
    """`--option NAME=VALUE` as numbers, for the optimizer of the last stage."""
    options = {}
    for option in args.option:
        name, value = option.split("=")
        options[name] = int(value) if value.isdigit() else float(value)
    return options


def summarize(report, name: str, rows: list) -> None:
    speedups = [row["speedup"] for row in rows]
    worst = min(rows, key=lambda row: row["speedup"])
    report.line(f"{name}: median {statistics.median(speedups):.2f}x, worst "
                f"{worst['speedup']:.2f}x ({worst['pair']})")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contenders", nargs="+",
                        default=["adam", "adam-f32", "lbfgs", "lbfgs-f32"])
    parser.add_argument("--pairs", nargs="+", type=int, default=list(range(len(PANEL))))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--tutorial-steps", type=int, default=300)
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--coarse-size", type=int, default=128)
    parser.add_argument("--coarse-steps", type=int, default=100)
    parser.add_argument("--adam-steps", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam's rate in the (last) stage (default: nst_teach's default)")
    parser.add_argument("--schedule", default=None,
                        help="cosine:START:STEPS:FLOOR or warmup:START:STEPS:PEAK (Adam)")
    parser.add_argument("--option", action="append", default=[],
                        help="NAME=VALUE, an optimizer option of the last stage")
    parser.add_argument("--images", type=pathlib.Path,
                        default=HERE.parent.parent / "shared" / "images")
    parser.add_argument("--cache", type=pathlib.Path, default=pathlib.Path(
        os.environ.get("TMPDIR", "/tmp")) / "nst_teach_panel_targets.json")
    parser.add_argument("--section", default="bench_panel")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    import tensorflow as tf
    from report import Report

    import nst_teach as nst

    report = Report(args.section, script="bench_panel")
    weights = nst.load_weights("vgg16", "hed")
    common = dict(weights=weights, content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                  progress=False, verbose=False, **WEIGHTS)
    report.line(f"{args.size} px; target: the tutorial's float32 loss after "
                f"{args.tutorial_steps} steps; cap {args.max_steps} steps; "
                f"coarse stage {args.coarse_size} px x {args.coarse_steps} steps; Adam rate "
                f"{args.learning_rate or 'default'}, schedule {args.schedule}, options "
                f"{optimizer_options(args, '')}")
    results = {name: [] for name in args.contenders}
    for index in args.pairs:
        pair = PANEL[index]
        content = load_source(pair[0], args.size, args.images)
        style = load_source(pair[1], args.size, args.images)
        loss = nst.StyleTransferLoss(weights, content, style, content_layers=CONTENT_LAYERS,
                                     style_layers=STYLE_LAYERS, **WEIGHTS)
        total = tf.function(lambda image, loss=loss: loss(image)["total"])
        objective = lambda image, total=total: float(total(tf.constant(image)))  # noqa: E731
        target = tutorial_target(pair, content, style, args, objective)
        label = f"{pair[0]} x {pair[1]}"
        report.line(f"[{index}] {label} ({pair[2]}), content {content.shape[1:3]}: tutorial "
                    f"{target['seconds']:.1f} s, loss {target['loss']:.4g}")
        for name in args.contenders:
            reached = run_contender(name, content, style, target["loss"], objective, common,
                                    args)
            speedup = target["seconds"] / reached["seconds"] if reached else 0.0
            results[name].append({"pair": label, "speedup": speedup})
            report.line(f"    {name:14s} " + (
                f"{reached['steps']:4d} steps {reached['seconds']:6.1f} s  {speedup:5.2f}x"
                if reached else f"not reached in {args.max_steps} steps"))
    report.line("")
    for name, rows in results.items():
        summarize(report, name, rows)
    report.write()


if __name__ == "__main__":
    main()
