"""Benchmark: nst_teach's loop against the TensorFlow tutorial's, on one objective.

Objective (the same for every contender): tutorial conventions, style weight 1,
content 1e4, TV 1, content layer block5_conv2, style layers block1_conv1 ..
block5_conv1, hed VGG16 weights, content image at 256 px, starting from the
content image.

Prints, from one run:
  1. step rate of the tutorial's Adam loop (written out below, Keras model and
     Keras Adam 0.02 / 0.99 / 0.1, clip to [0, 1]) and of nst_teach's Adam loop;
  2. the loss the tutorial loop reaches after 300 steps, and how long
     `nst.stylize` with its default optimizer takes to reach it;
  3. peak resident memory of `nst.stylize` at 256 px (in a fresh process).

Usage:
    python benchmarks/bench_stylize.py [--content PATH] [--style PATH] [--size 256]
        [--write-docs]   (writes the figures into docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

WEIGHTS = {"content_weight": 1e4, "style_weight": 1.0, "tv_weight": 1.0}
CONTENT_LAYERS = ["block5_conv2"]
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]


def load_pair(args):
    """The content and style images, and a sentence naming them (and any offline fallback)."""
    import warnings

    import nst_teach as nst

    def load(source):
        if os.path.exists(source):
            return nst.load_image(source, max_size=args.size)
        return nst.sample_image(source, max_size=args.size)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", nst.samples.SampleFallbackWarning)
        images = load(args.content), load(args.style)
    fallbacks = [str(warning.message) for warning in caught
                 if issubclass(warning.category, nst.samples.SampleFallbackWarning)]
    names = f"content {args.content}, style {args.style}" + (
        f" ({' '.join(fallbacks)})" if fallbacks else "")
    return images, names


def tutorial_loop(content, style, num_steps):
    """The TensorFlow core tutorial's loop, written out (hed weights in a Keras VGG16)."""
    import keras
    import tensorflow as tf

    import nst_teach as nst

    hed = nst.load_weights("vgg16", "hed")
    vgg = keras.applications.VGG16(include_top=False, weights=None)
    for name, (kernel, bias) in hed.convolutions.items():
        vgg.get_layer(name).set_weights([kernel, bias])
    vgg.trainable = False
    outputs = [vgg.get_layer(name).output for name in STYLE_LAYERS + CONTENT_LAYERS]
    model = keras.Model([vgg.input], outputs)

    def gram_matrix(input_tensor):
        result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
        input_shape = tf.shape(input_tensor)
        num_locations = tf.cast(input_shape[1] * input_shape[2], tf.float32)
        return result / num_locations

    def extract(inputs):
        preprocessed = keras.applications.vgg19.preprocess_input(inputs * 255.0)
        outs = model(preprocessed)
        style_outputs = [gram_matrix(o) for o in outs[: len(STYLE_LAYERS)]]
        return ({n: v for n, v in zip(CONTENT_LAYERS, outs[len(STYLE_LAYERS):])},
                {n: v for n, v in zip(STYLE_LAYERS, style_outputs)})

    content_targets = extract(tf.constant(content))[0]
    style_targets = extract(tf.constant(style))[1]

    def style_content_loss(image):
        content_outputs, style_outputs = extract(image)
        style_loss = tf.add_n([tf.reduce_mean((style_outputs[n] - style_targets[n]) ** 2)
                               for n in STYLE_LAYERS])
        style_loss *= WEIGHTS["style_weight"] / len(STYLE_LAYERS)
        content_loss = tf.add_n([tf.reduce_mean((content_outputs[n] - content_targets[n]) ** 2)
                                 for n in CONTENT_LAYERS])
        content_loss *= WEIGHTS["content_weight"] / len(CONTENT_LAYERS)
        return style_loss + content_loss + WEIGHTS["tv_weight"] * tf.image.total_variation(image)

    image = tf.Variable(content)
    opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function()
    def train_step(image):
        with tf.GradientTape() as tape:
            loss = style_content_loss(image)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    train_step(image)  # trace (not timed: steady-state rate)
    image.assign(content)
    started = time.perf_counter()
    for _ in range(num_steps):
        float(train_step(image)[0])
    elapsed = time.perf_counter() - started
    return image.numpy(), elapsed


def memory_child(args):
    """Runs `stylize` at the benchmark size and prints peak resident memory (MB)."""
    import nst_teach as nst

    (content, style), _ = load_pair(args)
    nst.stylize(content, style, weights="hed", content_layers=CONTENT_LAYERS,
                style_layers=STYLE_LAYERS, num_steps=args.memory_steps, progress=False,
                precision=args.memory_precision, **WEIGHTS)
    print(json.dumps({"peak_rss_mb": peak_resident_megabytes()}))


def peak_resident_megabytes() -> float:
    """This process's peak resident memory, in MB (2**20 bytes).

    Reads VmHWM from /proc/self/status on Linux: `getrusage`'s ru_maxrss is kept
    across execve, so a child started by a large parent would report the
    parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", default="tuebingen")
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--tutorial-steps", type=int, default=300)
    parser.add_argument("--rate-steps", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=300,
                        help="cap on the default optimizer's steps while chasing the target")
    parser.add_argument("--memory-steps", type=int, default=50)
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--memory-precision", default="auto",
                        help="precision of the --memory-only child (auto or float32)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--write-docs", action="store_true",
                        help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args()
    if args.memory_only:
        return memory_child(args)

    import tensorflow as tf
    from report import Report

    import nst_teach as nst

    report = Report("bench_stylize")
    (content, style), names = load_pair(args)
    report.line(names)
    report.line(f"content {content.shape[1:3]}, style {style.shape[1:3]}, "
                f"device {nst.device_name()}")
    common = dict(weights=nst.load_weights("vgg16", "hed"), content_layers=CONTENT_LAYERS,
                  style_layers=STYLE_LAYERS, progress=False, verbose=False, **WEIGHTS)

    # 1. Step rates (float32, as the tutorial computes).
    tutorial_image, tutorial_seconds = tutorial_loop(content, style, args.tutorial_steps)
    tutorial_rate = args.tutorial_steps / tutorial_seconds
    adam = nst.stylize(content, style, optimizer="adam", num_steps=args.rate_steps + 1,
                       precision="float32",
                       optimizer_options={k: v for k, v in nst.core.loop.TUTORIAL_ADAM.items()
                                          if k != "learning_rate"}, **common)
    times = [record["time"] for record in adam.history]
    adam_rate = args.rate_steps / (times[-1] - times[1])  # steady state, after tracing
    report.line(f"tutorial Adam loop: {tutorial_rate:.2f} steps/s ({args.tutorial_steps} steps, "
                f"{tutorial_seconds:.1f} s)")
    report.line(f"nst_teach Adam loop (float32): {adam_rate:.2f} steps/s -> ratio "
                f"{adam_rate / tutorial_rate:.3f} (target >= 0.95)")

    # 2. Time to reach the tutorial's loss after its steps. Every step's image is
    # kept and its loss computed afterwards in float32 (the objective itself, not
    # the loop's own estimate, which is bfloat16 arithmetic with precision="auto").
    objective = nst.StyleTransferLoss(common["weights"], content, style,
                                      content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                                      **WEIGHTS)
    exact_total = tf.function(lambda image: objective(image)["total"])
    target = float(exact_total(tf.constant(tutorial_image)))
    report.line(f"tutorial loss after {args.tutorial_steps} steps: {target:.6g}")
    contenders = [("default", {}), ("adam, float32", {"optimizer": "adam", "precision": "float32"}),
                  ("lbfgs", {"optimizer": "lbfgs"}),
                  ("lbfgs, float32", {"optimizer": "lbfgs", "precision": "float32"})]
    for label, options in contenders:
        snapshots = []  # (step, seconds, image) after every step

        def keep(run, snapshots=snapshots):
            snapshots.append((run.step, run.history[-1]["time"], run.get_image()))

        result = nst.stylize(content, style, num_steps=args.max_steps, callbacks=[keep],
                             **options, **common)
        name = (f"{label} ({result.settings['optimizer']}, "
                f"{result.settings.get('precision', 'float32')})")
        reached = next(((step, seconds) for step, seconds, image in snapshots
                        if float(exact_total(tf.constant(image))) <= target), None)
        if reached is None:
            report.line(f"{name}: did not reach it in {args.max_steps} steps")
            continue
        step, seconds = reached
        report.line(f"{name}: reached it at step {step} after {seconds:.1f} s (tracing included) "
                    f"-> {tutorial_seconds / seconds:.2f} x faster (target >= 5 for the default)")

    # 3. Peak memory of the default stylize, in a fresh process, in both precisions.
    if not args.skip_memory:
        for precision in ("auto", "float32"):
            child = subprocess.run([sys.executable, __file__, "--memory-only", "--content",
                                    args.content, "--style", args.style, "--size",
                                    str(args.size), "--memory-precision", precision],
                                   capture_output=True, text=True, check=True)
            peak = json.loads(child.stdout.strip().splitlines()[-1])["peak_rss_mb"]
            report.line(f"peak resident memory of stylize at {args.size} px, precision "
                        f"{precision}: {peak:.0f} MB (target <= 1000 MB)")
    report.write()


if __name__ == "__main__":
    main()
