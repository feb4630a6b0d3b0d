"""Checks of lesson 08 (strength, style weight), lesson 11 (the transformer's layers) and
lesson 12 (AdaIN and its target)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nst_teach.checks.compare import _run, compare


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
    """Checks `function(x) -> normalized x` against instance normalisation (lesson 11).

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
    """Checks `function(x) -> x twice as high and wide`, nearest neighbour (lesson 11).

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


def check_adain(function: Callable) -> bool:
    """Checks `function(content_features, style_features) -> AdaIN output` (lesson 12).

    Both are float32 `(batch, H, W, C)` activations (the style's of any size); the
    result `(batch, H, W, C)` is `sigma(y) * (x - mu(x)) / sigma(x) + mu(y)`, the
    statistics taken per image and channel over `H, W`, with 1e-5 added to the variances.
    """
    from nst_teach.core.adain import adaptive_instance_normalization

    rng = np.random.default_rng(12)
    ok = True
    for content_shape, style_shape in (((1, 6, 6, 3), (1, 8, 8, 3)), ((2, 5, 7, 4), (2, 9, 4, 4))):
        content = rng.normal(1.0, 2.0, content_shape).astype(np.float32)
        style = rng.normal(-3.0, 0.5, style_shape).astype(np.float32)
        result = _run("adain", function, content, style)
        if result is None:
            return False
        ok &= compare(f"adain {content_shape} with style {style_shape}", result,
                      adaptive_instance_normalization(content, style), rtol=1e-3, atol=1e-3,
                      hint="Normalize the content per channel (mean and standard deviation over "
                           "axes 1 and 2, keepdims=True), then scale by the style's standard "
                           "deviation and add its mean.")
    return ok


def check_adain_target(function: Callable) -> bool:
    """Checks `function(content_features, styles, style_weights, alpha) -> t` (lesson 12).

    `t = alpha * sum_k w_k AdaIN(x, y_k) + (1 - alpha) * x`, with `styles` a list of
    activations and `style_weights` numbers that sum to 1.
    """
    from nst_teach.core.adain import adaptive_instance_normalization

    rng = np.random.default_rng(13)
    content = rng.normal(1.0, 2.0, (1, 6, 6, 3)).astype(np.float32)
    styles = [rng.normal(mean, 1.0, (1, 7, 7, 3)).astype(np.float32) for mean in (-2.0, 4.0)]
    ok = True
    for style_weights, alpha in (([1.0, 0.0], 1.0), ([0.25, 0.75], 1.0), ([0.5, 0.5], 0.3)):
        result = _run("adain_target", function, content, styles, style_weights, alpha)
        if result is None:
            return False
        mixed = sum(weight * adaptive_instance_normalization(content, style)
                    for weight, style in zip(style_weights, styles))
        ok &= compare(f"adain_target weights={style_weights} alpha={alpha}", result,
                      alpha * mixed + (1 - alpha) * content, rtol=1e-3, atol=1e-3,
                      hint="Blend the AdaIN outputs with the style weights first, then mix the "
                           "blend with the content's own activations: alpha of one, 1 - alpha "
                           "of the other.")
    return ok
