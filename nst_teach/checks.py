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

from nst_teach import features, gram, images, losses


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
