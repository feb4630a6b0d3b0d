"""Checks of the objective and the loop the student writes (lessons 04-07), against the core.

Every check runs on seeded random activations or small images, so that a
missing normalisation, a sum for a mean, a forgotten term or a constant
result gives a different number from `nst_teach.core`'s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from nst_teach.checks.compare import _run, compare
from nst_teach.core import gram, loop, losses


def _random_layers(seed: int, layers: dict[str, tuple[int, int, int]]):
    """Activations of an image and Gram targets of a style, per layer, all float32."""
    rng = np.random.default_rng(seed)
    features = {name: tf.constant(rng.uniform(0, 2, (1, *shape)), tf.float32)
                for name, shape in layers.items()}
    targets = {name: gram.gram_matrix(tf.constant(rng.uniform(0, 2, (1, 5, 4, shape[2])),
                                                  tf.float32))
               for name, shape in layers.items()}
    return features, targets


def check_weighted_style_loss(function: Callable) -> bool:
    """Checks `function(features, style_targets, layer_weights) -> scalar`.

    The reference is `sum over layers of layer_weights[l] * style_loss(features[l],
    style_targets[l])` (`core.losses.style_loss`: the mean squared difference
    of the Gram matrices), the style term of `weighted_total` before
    `style_weight`. Layers of different sizes and unequal weights, so that
    leaving out the weights or averaging the layers shows.
    """
    features, targets = _random_layers(21, {"a": (6, 5, 4), "b": (3, 3, 8), "c": (2, 2, 16)})
    ok = True
    for layer_weights in ({"a": 0.2, "b": 0.3, "c": 0.5}, {"a": 1.0, "b": 0.0, "c": 2.0}):
        result = _run("weighted_style_loss", function, features, targets, layer_weights)
        if result is None:
            return False
        expected = sum(weight * losses.style_loss(features[name], targets[name])
                       for name, weight in layer_weights.items())
        ok &= compare(f"weighted_style_loss, weights {layer_weights}", result, expected,
                      hint="For each layer: the Gram matrix of its activations, the mean "
                           "squared difference to the target, times the layer's weight; "
                           "then add the layers up.")
    return ok


def check_total_loss(function: Callable) -> bool:
    """Checks `function(image, features, content_targets, style_targets, content_weight,
    style_weight, tv_weight) -> scalar` against `core.losses.style_transfer_loss`.

    The total of the TensorFlow tutorial plus total variation: `content_weight`
    times the mean of the content layers' losses, plus `style_weight` times the
    mean of the style layers' losses, plus `tv_weight` times the TV of the image.
    """
    features, style_targets = _random_layers(22, {"s1": (8, 8, 4), "s2": (4, 4, 8),
                                                   "c": (4, 4, 8)})
    content_targets = {"c": features["c"] + 0.3}
    style_targets = {name: style_targets[name] for name in ("s1", "s2")}
    image = tf.constant(np.random.default_rng(23).uniform(0, 1, (1, 8, 8, 3)), tf.float32)
    ok = True
    for weights in ((1e4, 1e-2, 30.0), (1.0, 5.0, 0.5)):
        result = _run("total_loss", function, image, features, content_targets, style_targets,
                      *weights)
        if result is None:
            return False
        expected = losses.style_transfer_loss(
            image, features, content_targets, style_targets, content_weight=weights[0],
            style_weight=weights[1], tv_weight=weights[2])["total"]
        ok &= compare(f"total_loss, weights {weights}", result, expected,
                      hint="content_weight x the mean over content layers of content_loss, "
                           "plus style_weight x the mean over style layers of style_loss "
                           "(Gram matrices), plus tv_weight x total_variation_loss(image).")
    return ok


def _toy_objective(target: tf.Tensor) -> Callable:
    """A cheap loss of the shape `stylize` uses: squared distance to `target` plus TV."""
    def loss_function(image):
        distance = 100.0 * tf.reduce_mean(tf.square(image - target))
        tv = 1e-3 * losses.total_variation_loss(image)
        return {"total": distance + tv, "content": distance, "tv": tv}
    return loss_function


def check_adam_loop(function: Callable) -> bool:
    """Checks `function(loss_function, start_image, num_steps, learning_rate) -> image`.

    The student's loop, driven by their own Adam step: from `start_image`,
    `num_steps` times, compute `loss_function(image)["total"]` and its
    gradient, take an Adam step (beta_1 0.9, beta_2 0.9, epsilon 0.1, as
    `nst.stylize`) and clip to [0, 1]. The reference is
    `core.loop.run_style_transfer` with `core.loop.Adam`, on a small
    quadratic objective whose minimum lies partly outside [0, 1].
    """
    rng = np.random.default_rng(24)
    ok = True
    for num_steps, learning_rate in ((1, 0.05), (7, 0.1)):
        target = tf.constant(rng.uniform(-0.3, 1.3, (1, 6, 5, 3)), tf.float32)
        start = rng.uniform(0, 1, (1, 6, 5, 3)).astype(np.float32)
        loss_function = _toy_objective(target)
        result = _run("adam_loop", function, loss_function, start, num_steps, learning_rate)
        if result is None:
            return False
        expected, _ = loop.run_style_transfer(loss_function, start,
                                              loop.Adam(learning_rate=learning_rate), num_steps)
        ok &= compare(f"adam_loop, {num_steps} steps, learning_rate {learning_rate}",
                      result, expected, rtol=1e-4, atol=1e-5,
                      hint="Keep m, v and the step count across steps (start them at 0 "
                           "and 1); compute the gradient of the total under a GradientTape "
                           "at every step; take exactly num_steps steps; clip to [0, 1].")
    return ok


def check_two_loop(function: Callable) -> bool:
    """Checks `function(gradient, steps, changes) -> H @ gradient`, L-BFGS' two-loop recursion.

    `gradient` has shape `(n,)`; `steps` and `changes` hold the last `k`
    pairs `s_i`, `y_i` (shape `(k, n)`, oldest first), taken on a random
    convex quadratic so that every `s_i . y_i > 0`. The reference is
    `nst_teach.lbfgs.two_loop_recursion` (Nocedal and Wright, Algorithm 7.4,
    started from `gamma I` with the newest pair's `gamma = s.y / y.y`). With
    `k = 1`, `3` and `6` pairs, a missing `gamma`, a loop in the wrong order or
    only the newest pair all give a different direction.
    """
    from nst_teach.lbfgs import two_loop_recursion

    rng = np.random.default_rng(74)
    size = 8
    basis = rng.normal(size=(size, size))
    hessian = basis @ basis.T / size + np.diag(rng.uniform(0.5, 3.0, size))  # convex
    ok = True
    for count in (1, 3, 6):
        steps = rng.normal(size=(count, size)).astype(np.float32)
        changes = (steps @ hessian).astype(np.float32)  # y = A s on a quadratic
        gradient = rng.normal(size=size).astype(np.float32)
        result = _run("two_loop", function, gradient.copy(), steps.copy(), changes.copy())
        if result is None:
            return False
        expected = two_loop_recursion(tf.constant(gradient), tf.constant(steps),
                                      tf.constant(changes))
        ok &= compare(f"two_loop with {count} pair{'s' if count > 1 else ''}", result,
                      expected, rtol=1e-3, atol=1e-5,
                      hint="First loop newest to oldest (alpha_i, q -= alpha_i y_i), then "
                           "r = gamma q with the newest pair's gamma = s.y / y.y, then "
                           "oldest to newest (beta, r += (alpha_i - beta) s_i).")
    return ok
