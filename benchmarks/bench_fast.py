"""Benchmark of fast style transfer (nst_teach.fast) against pixel optimization (nst.stylize).

Prints two figures (issue 6's targets):

(a) Speed: one pass of a trained transformer at 256 px versus `nst.stylize` with its
    defaults (L-BFGS, 100 steps) on the same photo and style, same device.
    Target: at least 100 x faster.
(b) Quality after a short training: train with a time budget (default 170 s, so the
    whole `train` call stays under 3 minutes), then stylize a photo that was never
    used in training and compare its style loss with the photo's own style loss
    (same loss as `stylize`: hed weights, default layers, style at 256 px).
    Target: at least 30 % lower.

The photo is tubingen.jpg and the style starry_night.jpg from /work/shared/images
when that folder exists (else the samples "tuebingen" and "starry_night", with their
offline fallbacks). Training uses the offline photo set (Grace Hopper + generated
scenes), so the test photo is unseen. Saves photo | fast | pixel optimization side by
side under /tmp.

Run it alone on the machine (it uses every core), e.g.:
    flock /tmp/tf.lock python benchmarks/bench_fast.py
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import time

import numpy as np
import tensorflow as tf

import nst_teach as nst
from nst_teach.losses import StyleTransferLoss

SHARED = pathlib.Path("/work/shared/images")


def load(file_name: str, sample: str, size: int) -> tuple[np.ndarray, str]:
    path = SHARED / file_name
    if path.is_file():
        return nst.load_image(path, max_size=size), str(path)
    return nst.sample_image(sample, max_size=size), f"sample {sample}"


def train_and_apply(style, weights, photo, precision: str, seconds: float):
    """Trains on the offline photos for `seconds`; returns the result and the stylized photo."""
    result = nst.fast.train(style, photos="offline", weights=weights, precision=precision,
                            max_seconds=seconds, preview=None, progress=False, verbose=False)
    return result, nst.fast.apply_network(result.model, photo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="photo size (longer side)")
    parser.add_argument("--seconds", type=float, default=170.0, help="training time budget")
    parser.add_argument("--skip-pixel", action="store_true", help="skip the nst.stylize timing")
    parser.add_argument("--output", default="/tmp/bench_fast.png")
    parser.add_argument("--precisions", nargs="+", default=["float32"],
                        help="train once per precision of the loss network's convolutions "
                             "(float32, bfloat16, auto), same budget; (a) uses the last")
    parser.add_argument("--section", default="bench_fast")
    parser.add_argument("--write-docs", action="store_true",
                        help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args()
    from report import Report

    report = Report(args.section, script="bench_fast")

    weights = nst.load_weights("vgg16", "hed", verbose=False)
    settings = nst.fast.default_settings()
    photo, photo_name = load("tubingen.jpg", "tuebingen", args.size)
    style, style_name = load("starry_night.jpg", "starry_night", settings["style_size"])
    report.line(f"device {nst.device_name()}, photo {photo_name} {photo.shape[1:3]}, "
                f"style {style_name} {style.shape[1:3]}, training defaults {settings}")

    # (b) A short training run on the offline photos (the test photo is not among them).
    loss = StyleTransferLoss(weights, photo, style, **nst.default_loss_weights(weights))
    own = float(loss(tf.constant(photo))["style"])
    for precision in args.precisions:
        started = time.perf_counter()
        result, stylized = train_and_apply(style, weights, photo, precision, args.seconds)
        training_seconds = time.perf_counter() - started
        after = float(loss(tf.constant(stylized))["style"])
        report.line(f"{precision}: {result.step} steps in {training_seconds:.1f} s "
                    f"({result.status}), {result.settings['num_parameters']} parameters, "
                    f"{result.settings['num_photos']} training photos")
        report.line(f"(b) {precision}: style loss on the unseen photo: its own {own:.4g}, "
                    f"fast-stylized {after:.4g}: {100 * (1 - after / own):.1f} % lower "
                    f"(target >= 30 %); content term "
                    f"{float(loss(tf.constant(stylized))['content']):.4g}")

    # (a) One pass versus pixel optimization, same photo and style.
    nst.fast.apply_network(result.model, photo)  # warm-up (tracing)
    passes = []
    for _ in range(10):
        begin = time.perf_counter()
        nst.fast.apply_network(result.model, photo)
        passes.append(time.perf_counter() - begin)
    one_pass = statistics.median(passes)
    report.line(f"(a) one pass at {photo.shape[2]}x{photo.shape[1]} px: {1000 * one_pass:.1f} ms "
                f"(median of 10)")
    panels, titles = [photo, stylized], ["photo (unseen)", f"fast ({1000 * one_pass:.0f} ms)"]
    if not args.skip_pixel:
        begin = time.perf_counter()
        pixel = nst.stylize(photo, style, weights=weights, progress=False, verbose=False)
        pixel_seconds = time.perf_counter() - begin
        pixel_style = float(loss(tf.constant(pixel.image))["style"])
        report.line(f"(a) nst.stylize with its defaults ({pixel.settings['optimizer']}, "
                    f"{pixel.settings['precision']}, {len(pixel.history) - 1} steps): "
                    f"{pixel_seconds:.1f} s -> fast is {pixel_seconds / one_pass:.0f} x faster "
                    f"(target >= 100 x); its style loss {pixel_style:.4g} "
                    f"({100 * (1 - pixel_style / own):.1f} % lower than the photo's)")
        panels.append(pixel.image)
        titles.append(f"nst.stylize ({pixel_seconds:.0f} s)")
    height = min(panel.shape[1] for panel in panels)
    row = np.concatenate([nst.resize_image(panel, (height, panel.shape[2])) for panel in panels],
                         axis=2)
    nst.save_image(row, args.output)
    report.line(f"saved {args.output}: {' | '.join(titles)}")
    report.write()


if __name__ == "__main__":
    main()
