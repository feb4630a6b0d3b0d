"""Draws the lesson index's pictures (docs/images/lessons/NN_*.jpg) with nst_teach itself.

One small JPEG per lesson, each made by the functions that lesson teaches,
offline (hed VGG16 weights, the generated "swirls" and "waves" paintings, the
Grace Hopper photo that matplotlib ships), at 128 to 192 px on a CPU:

    00 a finished stylization            06 SGD at three learning rates
    01 an image and its three channels   07 L-BFGS, Adam and SGD racing
    02 activations of block1_conv2       08 a stylization at 192 px
    03 the photo rebuilt from two layers 09 the same, keeping the photo's colours
    04 a style's Gram matrix             10 three style scales
    05 the loss curves of that run       11 one style on several photos
    12 AdaIN: one decoder, three styles, on a held-out photo (the coffee cup)

Lesson 11 (fast style transfer) is still being written: its picture is drawn
with `nst.stylize` (one optimization per photo), not with the fast network;
redraw it once `nst.fast` is in place.

Usage (about 2 minutes; the machine is shared, so under the TensorFlow lock):
    flock /tmp/tf.lock python docs/make_lesson_pictures.py [--only 03 06]
"""

from __future__ import annotations

import argparse
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from matplotlib.figure import Figure

import nst_teach as nst
from nst_teach import photos as photo_sources

OUTPUT = pathlib.Path(__file__).resolve().parent / "images" / "lessons"
MAX_BYTES = 60_000
DPI = 72
PICTURES = {
    "00": "00_welcome.jpg",
    "01": "01_images_as_tensors.jpg",
    "02": "02_what_a_cnn_sees.jpg",
    "03": "03_content.jpg",
    "04": "04_style_as_statistics.jpg",
    "05": "05_losses_and_gradients.jpg",
    "06": "06_gradient_descent_on_pixels.jpg",
    "07": "07_optimizers_and_starting_points.jpg",
    "08": "08_style_transfer.jpg",
    "09": "09_colours_and_regions.jpg",
    "10": "10_scale_and_statistics.jpg",
    "11": "11_fast_style_transfer.jpg",
    "12": "12_adain.jpg",
}


def save(figure: Figure, number: str) -> pathlib.Path:
    """Saves a figure as a small JPEG, lowering the quality until it is under MAX_BYTES."""
    path = OUTPUT / PICTURES[number]
    for quality in (85, 75, 65, 55, 45):
        figure.savefig(path, dpi=DPI, format="jpg", bbox_inches="tight",
                       pil_kwargs={"quality": quality, "optimize": True})
        if path.stat().st_size <= MAX_BYTES:
            break
    print(f"{path.relative_to(OUTPUT.parents[2])}: {path.stat().st_size / 1000:.0f} kB "
          f"(quality {quality})", flush=True)
    return path


def channels_picture(photo: np.ndarray) -> Figure:
    """01: the photo and its red, green and blue channels, each in its own colour."""
    channels = []
    for index in range(3):
        tinted = np.zeros_like(photo)
        tinted[..., index] = photo[..., index]
        channels.append(tinted)
    height, width = photo.shape[1:3]
    return nst.show_images([photo, *channels],
                           [f"(1, {height}, {width}, 3)", "[..., 0] red", "[..., 1] green",
                            "[..., 2] blue"], size=2.2)


def race_picture(runs: dict[str, list[dict]], x_axis: str = "time",
                 title: str = "The same objective, three optimizers") -> Figure:
    """06 and 07: the total loss of each run against time (or step)."""
    figure = Figure(figsize=(4.8, 3.0))
    axes = figure.add_subplot()
    for name, history in runs.items():
        axes.plot([record[x_axis] for record in history],
                  [record["total"] for record in history], label=name)
    axes.set(xlabel="seconds" if x_axis == "time" else x_axis, ylabel="total loss",
             yscale="log", title=title)
    axes.legend()
    figure.tight_layout()
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(PICTURES), help="lesson numbers")
    wanted = set(parser.parse_args().only or PICTURES)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    weights = nst.load_weights("vgg16", "hed")
    options = {"weights": weights, "progress": False, "verbose": False}
    photo = nst.sample_image("grace_hopper", max_size=128)
    swirls = nst.sample_image("swirls", max_size=128)

    if wanted & {"00", "05"}:
        result = nst.stylize(photo, swirls, num_steps=80, **options)
        if "00" in wanted:
            save(nst.show_images([photo, swirls, result.image], ["photo", "painting", "result"],
                                 size=2.2), "00")
        if "05" in wanted:
            save(nst.plots.plot_losses(result.history, size=(3.4, 2.6), dpi=DPI), "05")
    if "01" in wanted:
        save(channels_picture(photo), "01")
    if "02" in wanted:
        activations = nst.FeatureExtractor(weights, ["block1_conv2"])(photo)["block1_conv2"]
        save(nst.plots.plot_activations(activations, columns=8, panel_size=1.0,
                                        title="block1_conv2: the 16 most active channels"), "02")
    if "03" in wanted:
        rebuilt = [nst.stylize(photo, swirls, content_layers=[layer], style_weight=0.0,
                               init="noise", num_steps=150, **options).image
                   for layer in ("block2_conv2", "block4_conv2")]
        save(nst.show_images([photo, *rebuilt], ["photo", "from block2_conv2",
                                                 "from block4_conv2"], size=2.2), "03")
    if "04" in wanted:
        features = nst.FeatureExtractor(weights, ["block2_conv1"])(swirls)["block2_conv1"]
        gram = nst.gram_matrix(features)
        save(nst.plots.plot_gram(gram, title="Gram matrix of swirls, block2_conv1",
                                 order=nst.plots.gram_channel_order(gram), size=3.4), "04")
    if "06" in wanted:
        good = 1e-5 * (128 / 256) ** 2  # lesson 06: the 256 px rate, scaled to 128 px
        rates = {"too small": good / 100, "good": good, "too large": good * 100}
        runs = {f"SGD, {label}": nst.stylize(photo, swirls, optimizer="sgd", learning_rate=rate,
                                             num_steps=20, **options).history
                for label, rate in rates.items()}
        save(race_picture(runs, "step", "One loop, three learning rates"), "06")
    if "07" in wanted:
        runs = {name: nst.stylize(photo, swirls, optimizer=name, num_steps=60, **options).history
                for name in ("lbfgs", "adam", "sgd")}
        save(race_picture(runs), "07")
    if wanted & {"08", "09"}:
        content = nst.sample_image("grace_hopper", max_size=192)
        waves = nst.sample_image("waves", max_size=192)
        result = nst.stylize(content, waves, num_steps=100, **options).image
        if "08" in wanted:
            save(nst.show_images([content, waves, result], ["photo", "painting", "result"],
                                 size=2.2), "08")
        if "09" in wanted:
            kept = nst.color.combine_luminance(result, content)
            save(nst.show_images([content, result, kept],
                                 ["photo", "result", "photo's colours kept"], size=2.2), "09")
    if "10" in wanted:
        mosaic = nst.sample_image("mosaic", max_size=256)
        scales = (0.5, 1.0, 2.0)
        results = [nst.stylize(photo, mosaic, style_scale=scale, num_steps=60, **options).image
                   for scale in scales]
        save(nst.show_images(results, [f"style_scale={scale:g}" for scale in scales],
                             size=2.2), "10")
    if "11" in wanted:  # drawn with stylize until nst.fast lands (see the docstring)
        photos = [photo, photo[:, :64], np.ascontiguousarray(photo[:, :, ::-1])]
        mosaic = nst.sample_image("mosaic", max_size=128)
        results = [nst.stylize(image, mosaic, num_steps=50, **options).image for image in photos]
        save(nst.show_images([mosaic, *results], ["style", "photo 1", "photo 2", "photo 3"],
                             size=2.0), "11")
    if "12" in wanted:  # the shipped decoder, one pass per style, a photo no training sees
        cup = photo_sources.heldout_photo("coffee", max_size=128)
        model = nst.adain.load_model()
        names = ("swirls", "mosaic", "waves")
        results = [nst.adain.stylize(cup, nst.sample_image(name, max_size=128), model=model)
                   for name in names]
        save(nst.show_images([cup, *results], ["held-out photo", *names], size=2.0), "12")


if __name__ == "__main__":
    main()
