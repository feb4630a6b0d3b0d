"""Exercise checks: compare a student's function with nst_teach's own.

Each check runs the student's function and the reference on the same inputs,
prints whether the results are exact, close, or how far apart they are, and a
hint when they are not close. It never prints the answer. Every check returns
True when the student's result is close enough, so a cell can also
`assert nst.checks.check_gram_matrix(gram_matrix)`.

In the spirit of Karpathy's `cmp(name, dt, t)` from nn-zero-to-hero.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import tensorflow as tf

from nst_teach import features, images, statistics
from nst_teach.core import gram, losses


def compare(name: str, student: Any, reference: Any, rtol: float = 1e-4,
            atol: float = 1e-5, hint: str = "") -> bool:
    """Prints how close a student's result is to the reference; True if close.

    Args:
        name: What is compared, e.g. `"gram_matrix"`.
        student: The student's result (array-like or tensor).
        reference: The expected result.
        rtol: Relative tolerance of "close".
        atol: Absolute tolerance of "close".
        hint: A sentence shown when the result is wrong (never the answer).

    Returns:
        True if the results have the same shape and are close.
    """
    try:
        student_array = np.asarray(student, dtype=np.float64)
    except (TypeError, ValueError):
        print(f"{name}: ✗ returned {type(student).__name__}, not an array or tensor. {hint}")
        return False
    reference_array = np.asarray(reference, dtype=np.float64)
    if student_array.shape != reference_array.shape:
        print(f"{name}: ✗ shape {student_array.shape}, expected {reference_array.shape}. {hint}")
        return False
    exact = bool(np.array_equal(student_array, reference_array))
    close = bool(np.allclose(student_array, reference_array, rtol=rtol, atol=atol))
    difference = float(np.max(np.abs(student_array - reference_array))) if student_array.size else 0.0
    verdict = "✓ exact" if exact else ("✓ close" if close else "✗ wrong")
    print(f"{name}: {verdict} | max difference {difference:.3g}" + ("" if close else f" | {hint}"))
    return close


def compare_shapes(name: str, student: Any, expected: tuple, hint: str = "") -> bool:
    """Prints whether a shape is the expected one; True if it is."""
    try:
        student = tuple(int(size) for size in student)
    except (TypeError, ValueError):
        print(f"{name}: ✗ {student!r} is not a shape such as (56, 56, 256). {hint}")
        return False
    if student == tuple(expected):
        print(f"{name}: ✓ {student}")
        return True
    print(f"{name}: ✗ got {student}, expected a different shape. {hint}")
    return False


def _run(name: str, function: Callable, *arguments) -> Any:
    """Calls the student's function on tensors, printing any exception it raises."""
    try:
        return function(*[tf.constant(argument) if isinstance(argument, np.ndarray)
                          else argument for argument in arguments])
    except Exception as error:  # noqa: BLE001 - shown to the student
        print(f"{name}: ✗ raised {type(error).__name__}: {error}")
        return None


def _test_images(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 1, (1, height, width, 3)).astype(np.float32)
            for height, width in ((8, 8), (13, 7), (32, 24))]


def check_resize_to_max_size(function: Callable) -> bool:
    """Checks `function(image, max_size) -> image` against `images.resize_to_max_size`.

    Compares the output shapes (the exact pixel values depend on the
    resampling filter, so only shapes and the value range are checked).
    """
    ok = True
    for height, width, max_size in ((300, 200, 100), (64, 256, 128), (50, 40, 100)):
        image = np.full((1, height, width, 3), 0.5, np.float32)
        result = _run("resize_to_max_size", function, image, max_size)
        if result is None:
            return False
        expected = images.resize_to_max_size(image, max_size)
        ok &= compare_shapes(f"resize_to_max_size {height}x{width} -> {max_size}",
                             np.shape(result), expected.shape,
                             hint="Scale both sides by max_size / longer side, round, and "
                                  "never enlarge.")
    return ok


def check_feature_shapes(answers: dict[str, tuple[int, int, int]], height: int = 224,
                         width: int = 224, backbone: str = "vgg19") -> bool:
    """Checks `{layer: (H, W, C)}` answers against the real VGG activation shapes."""
    ok = True
    for layer, answer in answers.items():
        features.check_layer_names(backbone, [layer])
        pools = int(layer[5]) - (0 if layer.endswith("_pool") else 1)
        expected = (height // 2 ** pools, width // 2 ** pools,
                    features.layer_channels(backbone, layer))
        ok &= compare_shapes(f"shape of {layer}", answer, expected,
                             hint="Each pooling halves H and W (rounding down); "
                                  "convolutions keep them; count the channels of the block.")
    return ok


def check_gram_matrix(function: Callable) -> bool:
    """Checks `function(features) -> (1, C, C)` against `gram.gram_matrix`."""
    rng = np.random.default_rng(1)
    ok = True
    for shape in ((1, 4, 4, 3), (1, 7, 5, 16)):
        activations = rng.uniform(0, 2, shape).astype(np.float32)
        result = _run("gram_matrix", function, activations)
        if result is None:
            return False
        ok &= compare(f"gram_matrix {shape}", result, gram.gram_matrix(activations),
                      hint="Multiply every pair of channels, sum over positions, divide by H*W.")
    return ok


def check_content_loss(function: Callable) -> bool:
    """Checks `function(features, target) -> scalar` against `losses.content_loss`."""
    rng = np.random.default_rng(2)
    features_a = rng.normal(size=(1, 6, 5, 8)).astype(np.float32)
    features_b = rng.normal(size=(1, 6, 5, 8)).astype(np.float32)
    result = _run("content_loss", function, features_a, features_b)
    if result is None:
        return False
    return compare("content_loss", result, losses.content_loss(features_a, features_b),
                   hint="The mean (not the sum) of the squared differences.")


def check_style_loss(function: Callable) -> bool:
    """Checks `function(features, target_gram) -> scalar` against `losses.style_loss`."""
    rng = np.random.default_rng(3)
    activations = rng.uniform(0, 1, (1, 6, 5, 8)).astype(np.float32)
    target = gram.gram_matrix(rng.uniform(0, 1, (1, 4, 4, 8)).astype(np.float32))
    result = _run("style_loss", function, activations, target)
    if result is None:
        return False
    return compare("style_loss", result, losses.style_loss(activations, target),
                   hint="Compare Gram matrices, not activations: mean of squared differences.")


def check_total_variation_loss(function: Callable) -> bool:
    """Checks `function(image) -> scalar` against `losses.total_variation_loss`."""
    ok = True
    for image in _test_images(4):
        result = _run("total_variation_loss", function, image)
        if result is None:
            return False
        ok &= compare(f"total_variation_loss {image.shape[1:3]}", result,
                      losses.total_variation_loss(image), rtol=1e-4,
                      hint="Sum of absolute differences between vertical and horizontal "
                           "neighbours, over every channel.")
    return ok


def _run_numpy(name: str, function: Callable, *arguments) -> Any:
    """Calls the student's function on NumPy arrays (copies), printing any exception it raises."""
    try:
        return function(*[np.array(argument) for argument in arguments])
    except Exception as error:  # noqa: BLE001 - shown to the student
        print(f"{name}: ✗ raised {type(error).__name__}: {error}")
        return None


def check_match_luminance(function: Callable) -> bool:
    """Checks `function(style, content) -> gray image` against `color.match_luminance`.

    The inputs are NumPy images `(1, H, W, 3)` of different sizes, chosen so
    that the result needs no clipping; the standard deviation may use N or
    N - 1 (the tolerance, 1e-3, accepts both).
    """
    from nst_teach import color

    rng = np.random.default_rng(5)
    pairs = [(rng.uniform(0.3, 0.7, (1, 12, 20, 3)), rng.uniform(0.1, 0.9, (1, 16, 14, 3))),
             (rng.uniform(0.0, 1.0, (1, 24, 24, 3)) ** 2, rng.uniform(0.4, 0.6, (1, 10, 30, 3)))]
    ok = True
    for style, content in pairs:
        style, content = style.astype(np.float32), content.astype(np.float32)
        result = _run_numpy("match_luminance", function, style, content)
        if result is None:
            return False
        ok &= compare(f"match_luminance style {style.shape[1:3]}, content {content.shape[1:3]}",
                      result, color.match_luminance(style, content), rtol=0.0, atol=1e-3,
                      hint="Take the luminance Y = 0.299 R + 0.587 G + 0.114 B of both images; "
                           "scale the style's by sigma_c / sigma_s around its mean, move it to "
                           "the content's mean; return it in 3 channels at the style's size.")
    return ok


def check_guided_gram_matrix(function: Callable) -> bool:
    """Checks `function(features, mask) -> (1, C, C)` against `statistics.guided_gram_matrix`.

    Tries a region mask of 0s and 1s, a soft mask (a ramp), and a mask of ones
    (which must give the plain Gram matrix).
    """
    rng = np.random.default_rng(6)
    activations = rng.uniform(0, 2, (1, 6, 8, 5)).astype(np.float32)
    region = np.zeros((1, 6, 8, 1), np.float32)
    region[:, 1:4, 2:7] = 1.0
    ramp = np.broadcast_to(np.linspace(0, 1, 8, dtype=np.float32)[None, None, :, None],
                           (1, 6, 8, 1)).copy()
    ok = True
    for name, mask in (("region mask", region), ("soft mask", ramp),
                       ("mask of ones", np.ones((1, 6, 8, 1), np.float32))):
        result = _run("guided_gram_matrix", function, activations, mask)
        if result is None:
            return False
        ok &= compare(f"guided_gram_matrix, {name}", result,
                      statistics.guided_gram_matrix(activations, mask),
                      hint="Weigh each position's products F[i, j, c] * F[i, j, d] by the mask "
                           "m[i, j] (once, not squared), sum over positions, divide by the "
                           "sum of the mask.")
    return ok


# ----- lessons 06 and 07: optimizer steps, strength, choosing the style weight -----

def check_gradient_step(function: Callable) -> bool:
    """Checks `function(image, gradient, learning_rate) -> image`: one clipped SGD step.

    The reference is `clip(image - learning_rate * gradient, 0, 1)`, the step
    `nst.stylize(optimizer="sgd")` takes (`core.loop.SGD` without momentum).
    Pixels near 0 and 1 are pushed out of range, so a missing clip shows.
    """
    rng = np.random.default_rng(7)
    ok = True
    for image, learning_rate in zip(_test_images(8), (0.1, 0.5, 2.0)):
        gradient = rng.normal(size=image.shape).astype(np.float32)
        result = _run("gradient_step", function, image, gradient, learning_rate)
        if result is None:
            return False
        expected = np.clip(image - np.float32(learning_rate) * gradient, 0.0, 1.0)
        ok &= compare(f"gradient_step {image.shape[1:3]}, learning_rate {learning_rate}",
                      result, expected,
                      hint="Move against the gradient (minus), scaled by the learning rate, "
                           "then clip every pixel to [0, 1].")
    return ok


def check_adam_step(function: Callable) -> bool:
    """Checks `function(image, gradient, m, v, step, learning_rate, beta_1, beta_2, epsilon)`.

    The function returns `(new_image, new_m, new_v)` after Adam's step number
    `step` (1 for the first), compared with `nst_teach.core.loop.Adam`, which
    is written as Keras implements it:
    `m = beta_1 m + (1 - beta_1) g`, `v = beta_2 v + (1 - beta_2) g^2`,
    `image = clip(image - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon), 0, 1)`.
    """
    from nst_teach.core.loop import Adam

    rng = np.random.default_rng(9)
    ok = True
    for image, step in zip(_test_images(10), (1, 2, 10)):
        gradient = rng.normal(size=image.shape).astype(np.float32)
        m = (0.0 if step == 1 else 0.1) * rng.normal(size=image.shape).astype(np.float32)
        v = (0.0 if step == 1 else 0.1) * rng.uniform(size=image.shape).astype(np.float32)
        options = {"learning_rate": 0.05, "beta_1": 0.9, "beta_2": 0.99, "epsilon": 0.1}
        result = _run("adam_step", function, image, gradient, m, v, step, *options.values())
        if result is None:
            return False
        if not (isinstance(result, (tuple, list)) and len(result) == 3):
            print("adam_step: ✗ return three values: (new_image, new_m, new_v).")
            return False
        reference = Adam(**options)
        reference.m, reference.v, reference.iterations = tf.constant(m), tf.constant(v), step - 1
        variable = tf.Variable(image)
        reference.apply_gradient(variable, tf.constant(gradient))
        for name, student, expected in zip(("m", "v", "image"), (result[1], result[2], result[0]),
                                           (reference.m, reference.v, variable)):
            ok &= compare(f"adam_step {name}, step {step}", student, expected,
                          hint="Update m and v first (running means of g and g**2), then "
                               "scale by sqrt(1 - beta_2**step) / (1 - beta_1**step), divide "
                               "m by sqrt(v) + epsilon, step against it and clip to [0, 1].")
    return ok


def check_strength_to_weights(function: Callable) -> bool:
    """Checks `function(strength, loss_weights) -> loss weights` (the Studio's knob).

    `loss_weights` is a dict such as `nst.default_loss_weights(weights)`; the
    result must multiply its `style_weight` by `strength` and keep the other
    weights, as `nst.presets.strength_to_weights` does.
    """
    from nst_teach.presets import strength_to_weights
    from nst_teach.settings import default_loss_weights

    ok = True
    for source in ("hed", "imagenet"):
        for strength in (1.0, 10.0, 0.01):
            defaults = default_loss_weights(source)
            try:
                result = function(strength, dict(defaults))
            except Exception as error:  # noqa: BLE001 - shown to the student
                print(f"strength_to_weights: ✗ raised {type(error).__name__}: {error}")
                return False
            if not isinstance(result, dict) or set(result) != set(defaults):
                print(f"strength_to_weights: ✗ return a dict with the keys {sorted(defaults)}.")
                return False
            expected = strength_to_weights(strength, source)
            ok &= compare(f"strength_to_weights({strength}) for {source}",
                          [result[key] for key in sorted(expected)],
                          [expected[key] for key in sorted(expected)], rtol=1e-6,
                          hint="Multiply the style weight by the strength; keep the content "
                               "and total-variation weights.")
    return ok


def style_loss_reduction(result) -> float:
    """The fraction by which a run lowered the style term, `1 - last / first`.

    Args:
        result: A `StyleTransferResult` (its `history`; step 0 is the start).

    Returns:
        1 - style term of the best image / style term of the starting image.
        The weight cancels, so this is also the unweighted style loss's fall.
    """
    return 1.0 - result.losses["style"] / result.history[0]["style"]


def check_style_weight(style_weight: Any, content: np.ndarray, style: np.ndarray, weights: Any,
                       low: float = 0.5, high: float = 0.8, num_steps: int = 20) -> bool:
    """Runs `nst.stylize` with a chosen `style_weight`; passes if the style loss falls enough.

    The content, total-variation weights and everything else are `stylize`'s
    defaults, with L-BFGS for `num_steps` steps, starting from the content
    image (L-BFGS lowers the loss from its first step, so few steps suffice).
    The check passes when the style term falls by at least `low` and at
    most `high` (a fraction, see `style_loss_reduction`): too small a weight
    leaves the photo as it was, too large a one overpaints it.

    Args:
        style_weight: The student's choice (a number > 0).
        content: The content image, float32 `(1, H, W, 3)` in [0, 1].
        style: The style image.
        weights: The backbone weights (`nst.load_weights(...)`).
        low: Smallest accepted fall of the style term, in (0, 1).
        high: Largest accepted fall.
        num_steps: L-BFGS steps of the run.

    Returns:
        True if the fall is in `[low, high]`.
    """
    from nst_teach.optimize import stylize

    try:
        style_weight = float(style_weight)
    except (TypeError, ValueError):
        print(f"style_weight: ✗ {style_weight!r} is not a number: set it to a number > 0.")
        return False
    if not style_weight > 0:
        print(f"style_weight: ✗ {style_weight} must be > 0.")
        return False
    result = stylize(content, style, weights=weights, style_weight=style_weight,
                     optimizer="lbfgs", num_steps=num_steps, progress=False, verbose=False)
    reduction = style_loss_reduction(result)
    verdict = "✓" if low <= reduction <= high else "✗"
    hint = "" if verdict == "✓" else (" | a larger style weight lowers it more" if reduction < low
                                      else " | a smaller style weight keeps more of the photo")
    print(f"style_weight {style_weight:.3g}: {verdict} the style term fell by {reduction:.0%} "
          f"(target {low:.0%} to {high:.0%}){hint}")
    return verdict == "✓"


def check_instance_normalization(function: Callable) -> bool:
    """Checks `function(x) -> normalized x` against instance normalisation (lesson 09).

    `x` is float32 `(batch, H, W, C)`; every image's every channel must come
    out with mean 0 and variance 1 over `H, W`: `(x - mean) / sqrt(variance +
    1e-5)` (no learned scale or offset).
    """
    from nst_teach.transformer import InstanceNormalization

    rng = np.random.default_rng(9)
    ok = True
    for shape in ((1, 8, 8, 3), (2, 5, 7, 4)):
        x = rng.normal(1.5, 2.0, shape).astype(np.float32)
        result = _run("instance_normalization", function, x)
        if result is None:
            return False
        layer = InstanceNormalization(epsilon=1e-5)
        ok &= compare(f"instance_normalization {shape}", result, layer(x), rtol=1e-3, atol=1e-3,
                      hint="Take the mean and variance over axes 1 and 2 (height and width) "
                           "with keepdims=True, separately for every image and channel.")
    return ok


def check_upsample_nearest(function: Callable) -> bool:
    """Checks `function(x) -> x twice as high and wide`, nearest neighbour (lesson 09).

    `x` is float32 `(batch, H, W, C)`; the result `(batch, 2H, 2W, C)` repeats
    every value in a 2x2 square, like `keras.layers.UpSampling2D(2)`.
    """
    import keras

    rng = np.random.default_rng(10)
    ok = True
    for shape in ((1, 3, 4, 2), (2, 5, 5, 3)):
        x = rng.uniform(0, 1, shape).astype(np.float32)
        result = _run("upsample_nearest", function, x)
        if result is None:
            return False
        reference = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
        ok &= compare(f"upsample_nearest {shape}", result, reference,
                      hint="Repeat every row twice (axis 1), then every column twice (axis 2).")
    return ok
