"""Checks of the steps of lessons 01-06, 08 and 09, against `nst_teach.core` and its layers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from nst_teach import features, images, statistics
from nst_teach.checks.compare import (
    _run,
    _run_numpy,
    _test_images,
    compare,
    compare_shapes,
)
from nst_teach.core import gram, losses


def check_grayscale(function: Callable) -> bool:
    """Checks `function(image) -> image`: each pixel's three channels replaced by their mean.

    The images are random (every pixel different), so a constant grey image,
    one channel copied three times or a luminance-weighted grey do not pass.
    """
    ok = True
    for image in _test_images(11):
        result = _run_numpy("to_grayscale", function, image)
        if result is None:
            return False
        expected = np.repeat(image.mean(axis=-1, keepdims=True), 3, axis=-1)
        ok &= compare(f"to_grayscale {image.shape[1:3]}", result, expected,
                      hint="Average over the last axis (the channels), keep that axis "
                           "(keepdims=True), then repeat the result 3 times along it.")
    return ok


def smooth_test_image(height: int, width: int) -> np.ndarray:
    """float32 `(1, height, width, 3)` in [0, 1], varying slowly: any resampling agrees on it."""
    rows = np.linspace(0.0, 1.0, height)[:, None]
    columns = np.linspace(0.0, 1.0, width)[None, :]
    channels = [0.5 + 0.4 * np.sin(np.pi * (rows + 2 * columns) + phase) for phase in (0, 1, 2)]
    return np.stack(channels, axis=-1)[None].astype(np.float32)


def check_resize_to_max_size(function: Callable) -> bool:
    """Checks `function(image, max_size) -> image` against `images.resize_to_max_size`.

    Compares the output shapes exactly, and the pixels of a slowly varying
    image to within 0.05 (the exact values depend on the resampling filter).
    """
    ok = True
    hint = "Scale both sides by max_size / longer side, round, never enlarge, and resize."
    for height, width, max_size in ((300, 200, 100), (64, 256, 128), (50, 40, 100)):
        image = smooth_test_image(height, width)
        result = _run("resize_to_max_size", function, image, max_size)
        if result is None:
            return False
        expected = images.resize_to_max_size(image, max_size)
        name = f"resize_to_max_size {height}x{width} -> {max_size}"
        if not compare_shapes(name, np.shape(result), expected.shape, hint=hint):
            ok = False
            continue
        ok &= compare(f"{name}, pixels", result, expected, rtol=0.0, atol=0.05, hint=hint)
    return ok


def check_feature_shapes(answers: dict[str, tuple[int, int, int]], height: int = 224,
                         width: int = 224, backbone: str = "vgg19",
                         layers: Sequence[str] | None = None) -> bool:
    """Checks `{layer: (H, W, C)}` answers against the real VGG activation shapes.

    Args:
        answers: Layer name to the student's `(height, width, channels)`.
        height, width: The input image's size.
        backbone: `"vgg16"` or `"vgg19"`.
        layers: The layers the exercise asks about: each must be answered
            (default: at least one answer).
    """
    missing = [layer for layer in (layers or []) if layer not in answers]
    if missing or not answers:
        print(f"feature shapes: ✗ no answer for {', '.join(missing) or 'any layer'}; "
              "give each layer's (height, width, channels).")
        return False
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


def check_mean_std(function: Callable) -> bool:
    """Checks `function(features) -> (mean, std)` against `statistics.mean_std` (lesson 10).

    The activations `(1, H, W, C)` are small (a 3 x 4 map), so a standard deviation
    divided by `H * W - 1` instead of `H * W`, a variance for a deviation, or statistics
    over the channels instead of the positions are all told apart.
    """
    rng = np.random.default_rng(9)
    ok = True
    for shape in ((1, 3, 4, 5), (1, 6, 2, 8)):
        activations = rng.uniform(0, 2, shape).astype(np.float32)
        result = _run("mean_std_statistics", function, activations)
        if result is None:
            return False
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            print(f"mean_std_statistics: ✗ returned {type(result).__name__}, not a pair "
                  "(mean, std).")
            return False
        mean, std = statistics.mean_std(activations)
        hint = ("Average over the positions (axes 1 and 2), one value per channel; "
                "std = sqrt(mean of F^2 - mean^2 + 1e-5), dividing by H * W.")
        ok &= compare(f"mean {shape}", result[0], mean, rtol=1e-4, atol=1e-4, hint=hint)
        ok &= compare(f"std {shape}", result[1], std, rtol=1e-4, atol=1e-4, hint=hint)
    return ok


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
