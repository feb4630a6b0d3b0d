"""Scores the shipped networks (nst.fast.pretrained, nst.adain) on pictures they never saw.

For each shipped feed-forward network and each held-out photo (`nst.photos.heldout_names()`,
at 256 px), the network's picture and `nst.stylize`'s default result are scored with
the same loss (`nst.compute_losses`: hed weights, default layers and weights); the
ratios network / stylize of the style and content terms are printed per pair, with
their median and worst. Targets (issue 16): style within 3x, content within 2x.

AdaIN (the shipped decoder) is scored the same way on held-out photos and styles it
never saw: the held-out generated paintings and, when /work/shared/images has it, a
real painting outside the training set (Turner's Shipwreck). Target: style within 5x.

Times: one pass at 256x256 (median of 20 after a warm-up), float32; AdaIN also in the
default precision ("auto": bfloat16 on CPUs that have it).

`nst.stylize` results are cached in nst_teach's cache folder (`nst.cache_dir()`), in
`bench_pretrained-<nst_teach version>` (delete it to recompute).
`--network STYLE=FILE` scores a network you trained (a .keras file) in place of the shipped one.
Run alone on the machine:  flock /tmp/tf.lock python benchmarks/bench_pretrained.py
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import statistics
import time

import numpy as np

import nst_teach as nst
from nst_teach import photos

SHARED = pathlib.Path("/work/shared/images")
SIZE = 256


def style_image(name: str) -> tuple[np.ndarray, str]:
    if name == "shipwreck":
        return nst.load_image(SHARED / "shipwreck.jpg", max_size=SIZE), "Turner, The Shipwreck"
    if name in nst.adain.heldout_style_names():
        return nst.adain.heldout_style(name, SIZE), "generated, held-out seed"
    image = nst.sample_image(name, max_size=SIZE)
    return image, nst.sample_credit(name)


def default_adain_styles() -> list[str]:
    """The styles AdaIN is scored on: three held-out generated ones, and Turner's if present."""
    names = [f"{manner}_9001" for manner in ("swirls", "mosaic", "waves")]
    return names + (["shipwreck"] if (SHARED / "shipwreck.jpg").is_file() else [])


def reference(photo_name: str, photo: np.ndarray, style_name: str, style: np.ndarray):
    """`nst.stylize`'s default result for the pair (cached on disk) and its loss terms."""
    path = nst.cache_dir(f"bench_pretrained-{nst.__version__}") / f"{photo_name}__{style_name}.npy"
    if path.is_file():
        image = np.load(path)
    else:
        image = nst.stylize(photo, style, weights="hed", progress=False, verbose=False).image
        np.save(path, image)
    return image, nst.compute_losses(image, photo, style, weights="hed", verbose=False)


def score(picture, photo, style, reference_losses) -> tuple[float, float]:
    losses = nst.compute_losses(picture, photo, style, weights="hed", verbose=False)
    return (losses["style"] / reference_losses["style"],
            losses["content"] / reference_losses["content"])


def summary(label: str, ratios: list[tuple[float, float]]) -> None:
    styles, contents = [r[0] for r in ratios], [r[1] for r in ratios]
    print(f"{label}: style ratio median {statistics.median(styles):.2f}, worst {max(styles):.2f}; "
          f"content ratio median {statistics.median(contents):.2f}, worst {max(contents):.2f} "
          f"({len(ratios)} pairs)", flush=True)


def time_it(function, repeats: int = 20) -> float:
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def bench_networks(styles: list[str], photo_names: list[str],
                   files: dict[str, str] | None = None) -> None:
    """Scores and times each style's network: shipped, or `files[style]` (a .keras file)."""
    square = photos.heldout_photo(photo_names[0], SIZE)[:, :SIZE, :SIZE]
    square = nst.resize_image(square, (SIZE, SIZE)) if square.shape[1] != SIZE else square
    for style_name in styles:
        style, credit = style_image(style_name)
        path = (files or {}).get(style_name)
        network = nst.fast.load(path) if path else nst.fast.pretrained(style_name)
        ratios = []
        for photo_name in photo_names:
            photo = photos.heldout_photo(photo_name, SIZE)
            _, losses = reference(photo_name, photo, style_name, style)
            ratio = score(nst.fast.apply_network(network, photo), photo, style, losses)
            ratios.append(ratio)
            print(f"  {style_name} x {photo_name}: style {ratio[0]:.2f}x, content {ratio[1]:.2f}x",
                  flush=True)
        milliseconds = time_it(lambda network=network: nst.fast.apply_network(network, square))
        summary(f"network {path or style_name} ({credit}); {milliseconds:.0f} ms per 256x256 pass "
                f"(float32)", ratios)


def bench_adain(style_names: list[str], photo_names: list[str]) -> None:
    models = {precision: nst.adain.load_model(precision=precision)
              for precision in ("float32", "auto")}
    ratios = []
    for style_name in style_names:
        style, credit = style_image(style_name)
        for photo_name in photo_names:
            photo = photos.heldout_photo(photo_name, SIZE)
            _, losses = reference(photo_name, photo, style_name, style)
            picture = nst.adain.stylize(photo, style, model=models["auto"])
            ratio = score(picture, photo, style, losses)
            ratios.append(ratio)
            print(f"  adain {style_name} ({credit}) x {photo_name}: style {ratio[0]:.2f}x, "
                  f"content {ratio[1]:.2f}x", flush=True)
    summary("AdaIN, unseen styles x unseen photos", ratios)
    square = nst.resize_image(photos.heldout_photo(photo_names[0], SIZE), (SIZE, SIZE))
    style = nst.resize_image(style_image(style_names[0])[0], (SIZE, SIZE))
    photos_in_turn = itertools.cycle([np.clip(square + 1e-3 * index, 0, 1) for index in range(7)])
    for precision, model in models.items():
        def both_encoded(model=model):
            model.encodings.clear()  # nothing remembered: photo and style encoded
            return nst.adain.stylize(square, style, model=model)

        def style_remembered(model=model):  # a new photo each time, the same style
            return nst.adain.stylize(next(photos_in_turn), style, model=model)

        for label, function in (("photo and style encoded", both_encoded),
                                ("style encoded once, a new photo", style_remembered)):
            print(f"AdaIN: {time_it(function):.0f} ms per 256x256 picture with a 256x256 style, "
                  f"{label} (encoder {model.encoder.precision}, precision={precision!r})",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="*", default=None, help="networks (default: all)")
    parser.add_argument("--photos", nargs="*", default=photos.heldout_names())
    parser.add_argument("--adain-styles", nargs="*", default=None)
    parser.add_argument("--network", action="append", default=[], metavar="STYLE=FILE",
                        help="score a trained .keras file instead of STYLE's shipped network")
    parser.add_argument("--skip-networks", action="store_true")
    parser.add_argument("--skip-adain", action="store_true")
    parser.add_argument("--references-only", action="store_true",
                        help="only compute (and cache) nst.stylize's results")
    args = parser.parse_args()
    if any("=" not in item for item in args.network):
        parser.error(f"--network takes STYLE=FILE, got {args.network}")
    files = dict(item.split("=", 1) for item in args.network)
    if args.references_only:
        styles = (args.styles or nst.fast.pretrained_styles()) + (args.adain_styles or [])
        for style_name in styles:
            style = style_image(style_name)[0]
            for photo_name in args.photos:
                reference(photo_name, photos.heldout_photo(photo_name, SIZE), style_name, style)
                print("reference", style_name, photo_name, flush=True)
        return
    print(f"machine: {nst.device_name()}; held-out photos: {args.photos}", flush=True)
    if not args.skip_networks:
        bench_networks(args.styles or list(files) or nst.fast.pretrained_styles(), args.photos,
                       files)
    if not args.skip_adain:
        bench_adain(args.adain_styles or default_adain_styles(), args.photos[:3])


if __name__ == "__main__":
    main()
