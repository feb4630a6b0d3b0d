"""Where the shipped networks' and AdaIN's distance from nst.stylize comes from (issue 16).

`bench_pretrained.py` scores the shipped networks on held-out photos. This script asks
why they are far from `nst.stylize` there, with the same scores (network / stylize, style
and content terms, hed loss, 256 px):

1. **Photos it trained on** (the training split of the offline photos, evenly spaced): if
   these are as far as the held-out ones, the network underfits (training is short), it
   does not overfit (more photos would not help).
2. **One photo alone**: the shipped network trained further, with `nst.fast.train`, on a
   single held-out photo (a 256 px square: the whole photo is the crop) for `--steps`
   steps, then scored on that photo. This bounds what a network of this width can paint
   for one photo; if it comes close to `stylize`, width is not what is missing.
3. **Wider networks' time**: one pass at 256x256 (float32) of the CPU network and of
   wider and deeper ones, up to Johnson et al.'s: how much width the 100 ms target allows.
4. **AdaIN with a perfect decoder**: for each unseen style x unseen photo of
   bench_pretrained, the shipped decoder's picture, then the picture that minimizes the
   decoder's own training loss for that pair (content to AdaIN's target at
   `block3_conv1`, mean/std style terms; `ADAIN_DEFAULTS` weights), found by Adam on the
   pixels from the decoder's picture (`--inversion-steps`): what a perfect decoder would
   paint. If that picture is far from `stylize` as well, the limit is AdaIN's objective
   at this layer, not the decoder's training.

`nst.stylize` results are cached as in bench_pretrained (`bench_pretrained-<version>`).
Run alone on the machine:  flock /tmp/tf.lock python benchmarks/bench_network_gap.py
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

import nst_teach as nst
from nst_teach import photos
from nst_teach.adain.training import ADAIN_DEFAULTS
from nst_teach.core.adain import (
    ADAIN_STYLE_LAYERS,
    ENCODER_LAYER,
    adain_content_loss,
    adain_style_loss,
    adaptive_instance_normalization,
)
from nst_teach.features import FeatureExtractor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_pretrained import (  # noqa: E402
    SIZE,
    default_adain_styles,
    reference,
    score,
    style_image,
    summary,
    time_it,
)

ARCHITECTURES = [(16, 3), (24, 3), (32, 3), (24, 5), (32, 5)]  # (base_filters, residual blocks)


def training_photo_files(count: int) -> list[pathlib.Path]:
    """`count` files of the offline training split, evenly spaced (photos and scenes)."""
    files = photos.photo_files("offline")
    if not 1 <= count <= len(files):
        raise ValueError(f"--training-photos must be between 1 and {len(files)}, got {count}.")
    return [files[int(index)] for index in np.linspace(0, len(files) - 1, count)]


def score_on_training_photos(style_name: str, count: int) -> list[tuple[float, float]]:
    """The shipped network's ratios on photos it was trained on."""
    style = style_image(style_name)[0]
    network = nst.fast.pretrained(style_name)
    ratios = []
    for path in training_photo_files(count):
        photo = photos.load_photo(path, SIZE)
        _, losses = reference(f"train_{path.stem}", photo, style_name, style)
        ratio = score(nst.fast.apply_network(network, photo), photo, style, losses)
        ratios.append(ratio)
        print(f"  {style_name} x {path.name} (trained on): style {ratio[0]:.2f}x, "
              f"content {ratio[1]:.2f}x", flush=True)
    return ratios


def square_photo(photo_name: str) -> np.ndarray:
    """The held-out photo's centre square, `SIZE` px: a crop of `SIZE` is the whole photo."""
    photo = photos.heldout_photo(photo_name, 2 * SIZE)
    height, width = photo.shape[1:3]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return nst.resize_image(photo[:, top:top + side, left:left + side], (SIZE, SIZE))


def score_on_one_photo(style_name: str, photo_name: str, num_steps: int) -> None:
    """Trains the shipped network further on one photo only; prints its ratios before and after."""
    style = style_image(style_name)[0]
    photo = square_photo(photo_name)
    _, losses = reference(f"square_{photo_name}", photo, style_name, style)
    network = nst.fast.pretrained(style_name)
    before = score(nst.fast.apply_network(network, photo), photo, style, losses)
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / f"{photo_name}.png"
        nst.save_image(photo, path)
        started = time.perf_counter()
        result = nst.fast.train(style, photos=[path], model=network, weights="hed",
                                precision="auto", crop_size=SIZE, batch_size=1,
                                num_steps=num_steps, learning_rate=1e-3, preview=None,
                                progress=False, verbose=False)
        seconds = time.perf_counter() - started
    after = score(nst.fast.apply_network(result.model, photo), photo, style, losses)
    print(f"  {style_name} x {photo_name} alone: style {before[0]:.2f}x -> {after[0]:.2f}x, "
          f"content {before[1]:.2f}x -> {after[1]:.2f}x after {result.step} steps on that "
          f"photo only ({seconds:.0f} s, {result.status})", flush=True)


def time_architectures() -> None:
    """One pass at 256x256 (float32, median of 20) of each network in `ARCHITECTURES`."""
    square = np.random.default_rng(0).random((1, SIZE, SIZE, 3), dtype=np.float32)
    shipped = nst.fast.pretrained_info(nst.fast.pretrained_styles()[0])["architecture"]
    for base_filters, num_residual_blocks in ARCHITECTURES:
        network = nst.transformer.build_transformer(base_filters, num_residual_blocks)
        milliseconds = time_it(lambda network=network: nst.fast.apply_network(network, square))
        same = (shipped["base_filters"], shipped["num_residual_blocks"]) == (
            base_filters, num_residual_blocks)
        print(f"  {base_filters} filters, {num_residual_blocks} residual blocks: "
              f"{network.count_params():,} parameters, {milliseconds:.0f} ms per 256x256 pass"
              f"{' (the shipped networks)' if same else ''}", flush=True)


def decoder_objective(extractor, target: tf.Tensor, style: np.ndarray, weights: dict):
    """The decoder's per-picture training loss (content to `target`, mean/std style terms)."""
    style_features = extractor(tf.constant(style))

    def objective(image) -> tf.Tensor:
        features = extractor(image)
        return (weights["content_weight"] * adain_content_loss(features[ENCODER_LAYER], target)
                + weights["style_weight"] * adain_style_loss(features, style_features))

    return objective


def perfect_picture(objective, start: np.ndarray, num_steps: int,
                    learning_rate: float = 0.02) -> tuple[np.ndarray, float, float]:
    """Adam on the pixels, from `start`, on the decoder's objective: a perfect decoder's picture.

    Returns the picture, float32 `(1, H, W, 3)` in [0, 1], and the objective at `start`
    and at the picture.
    """
    image = tf.Variable(start)
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function(autograph=False)
    def step():
        with tf.GradientTape() as tape:
            loss = objective(image)
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    before = float(objective(tf.constant(start)))
    for _ in range(num_steps):
        step()
    picture = image.numpy()
    return picture, before, float(objective(tf.constant(picture)))


def adain_bound(style_names: list[str], photo_names: list[str], num_steps: int) -> None:
    """The shipped decoder's ratios, then a perfect decoder's (`perfect_picture`), per pair."""
    model = nst.adain.load_model(precision="float32")
    extractor = FeatureExtractor(nst.load_weights(weights="hed", verbose=False),
                                 list(ADAIN_STYLE_LAYERS))
    weights = {name: ADAIN_DEFAULTS[name] for name in ("content_weight", "style_weight")}
    decoded, perfect = [], []
    for style_name in style_names:
        style = style_image(style_name)[0]
        for photo_name in photo_names:
            photo = photos.heldout_photo(photo_name, SIZE)
            _, losses = reference(photo_name, photo, style_name, style)
            picture = nst.adain.stylize(photo, style, model=model)
            target = adaptive_instance_normalization(model.encode(photo), model.encode(style))
            objective = decoder_objective(extractor, target, style, weights)
            best, before, after = perfect_picture(objective, picture, num_steps)
            decoded.append(score(picture, photo, style, losses))
            perfect.append(score(best, photo, style, losses))
            print(f"  adain {style_name} x {photo_name}: decoder style {decoded[-1][0]:.2f}x, "
                  f"content {decoded[-1][1]:.2f}x; perfect decoder style {perfect[-1][0]:.2f}x, "
                  f"content {perfect[-1][1]:.2f}x (decoder's loss {before:.3g} -> {after:.3g})",
                  flush=True)
    summary("AdaIN, the shipped decoder", decoded)
    summary(f"AdaIN, a perfect decoder ({num_steps} Adam steps on the pixels)", perfect)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="*", default=None, help="networks (default: all)")
    parser.add_argument("--training-photos", type=int, default=5, metavar="N",
                        help="how many training photos to score on")
    parser.add_argument("--photo", default="chelsea", choices=photos.heldout_names(),
                        help="the held-out photo trained on alone")
    parser.add_argument("--steps", type=int, default=200,
                        help="steps of training on that photo alone (0: skip)")
    parser.add_argument("--skip-networks", action="store_true")
    parser.add_argument("--skip-adain", action="store_true")
    parser.add_argument("--skip-times", action="store_true")
    parser.add_argument("--inversion-steps", type=int, default=300,
                        help="Adam steps of the perfect decoder's picture")
    args = parser.parse_args()
    if args.steps < 0 or args.inversion_steps < 1:
        parser.error(f"--steps must be 0 or more and --inversion-steps 1 or more, got "
                     f"{args.steps} and {args.inversion_steps}")
    print(f"machine: {nst.device_name()}", flush=True)
    for style_name in [] if args.skip_networks else args.styles or nst.fast.pretrained_styles():
        ratios = score_on_training_photos(style_name, args.training_photos)
        summary(f"network {style_name} on photos it trained on", ratios)
        if args.steps:
            score_on_one_photo(style_name, args.photo, args.steps)
    if not args.skip_times:
        time_architectures()
    if not args.skip_adain:
        adain_bound(default_adain_styles(), photos.heldout_names()[:3], args.inversion_steps)


if __name__ == "__main__":
    main()
