"""Every exercise check accepts the right answer and rejects at least three common wrong ones.

The wrong answers are the mistakes students make (issue 12): a missing
normalisation, a sum for a mean, no clip, no bias correction, a constant
image, zeros of the right shape, an empty answer. `CASES` holds, per check,
one or more right answers and the wrong ones; a test makes sure that every
check of `nst.checks` is listed with at least three.
"""

import numpy as np
import pytest
import tensorflow as tf

import nst_teach as nst
from nst_teach import checks
from nst_teach.core import gram_matrix, style_loss


def gram(features, divide_by="positions", centred=False):
    features = tf.convert_to_tensor(features, tf.float32)
    if centred:
        features = features - tf.reduce_mean(features, axis=(1, 2), keepdims=True)
    products = tf.einsum("bijc,bijd->bcd", features, features)
    shape = tf.cast(tf.shape(features), tf.float32)
    scale = {"positions": shape[1] * shape[2], "all": shape[1] * shape[2] * shape[3],
             "nothing": 1.0}[divide_by]
    return products / scale


def zeros_like_first(*arguments):
    return np.zeros_like(np.asarray(arguments[0]))


# --- lesson 00 and 01: images ---------------------------------------------------------

def grayscale(image, weights=(1 / 3, 1 / 3, 1 / 3)):
    gray = np.asarray(image) @ np.asarray(weights, np.float32)
    return np.repeat(gray[..., None], 3, axis=-1)


def resized(image, max_size, method="bilinear", enlarge=False):
    height, width = image.shape[1:3]
    scale = max_size / max(height, width)
    if scale >= 1 and not enlarge:
        return image
    shape = (round(height * scale), round(width * scale))
    return tf.image.resize(image, shape, method=method)


# --- lessons 04 and 05: the objective ------------------------------------------------

def weighted_style(features, targets, layer_weights, combine="weighted"):
    terms = {name: style_loss(features[name], targets[name]) for name in layer_weights}
    if combine == "sum":
        return tf.add_n(list(terms.values()))
    if combine == "mean":
        return tf.add_n(list(terms.values())) / len(terms)
    total = tf.add_n([layer_weights[name] * terms[name] for name in terms])
    return total / sum(layer_weights.values()) if combine == "normalised" else total


def total_loss(image, features, content_targets, style_targets, content_weight, style_weight,
               tv_weight, mistake=None):
    content = [tf.reduce_mean(tf.square(features[name] - target))
               for name, target in content_targets.items()]
    style = [tf.reduce_mean(tf.square(gram(features[name]) - target))
             for name, target in style_targets.items()]
    average = tf.add_n if mistake == "sum over layers" else (lambda terms: tf.add_n(terms)
                                                             / len(terms))
    if mistake == "weights swapped":
        content_weight, style_weight = style_weight, content_weight
    tv = 0.0 if mistake == "no tv" else tv_weight * tf.reduce_sum(tf.image.total_variation(image))
    return content_weight * average(content) + style_weight * average(style) + tv


# --- lesson 06: the loop ---------------------------------------------------------------

def adam_loop(loss_function, start, num_steps, learning_rate, mistake=None):
    image = tf.Variable(start)
    m = v = tf.zeros_like(image)
    beta_1, beta_2, epsilon = 0.9, 0.9, 0.1
    for step in range(1, num_steps + (0 if mistake == "one step fewer" else 1)):
        if mistake == "moments reset":
            m = v = tf.zeros_like(image)
        with tf.GradientTape() as tape:
            total = loss_function(image)["total"]
        gradient = tape.gradient(total, image)
        m = beta_1 * m + (1 - beta_1) * gradient
        v = beta_2 * v + (1 - beta_2) * gradient ** 2
        correction = 1.0 if mistake == "no bias correction" else (
            np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step))
        new = image - learning_rate * correction * m / (tf.sqrt(v) + epsilon)
        image.assign(new if mistake == "no clip" else tf.clip_by_value(new, 0.0, 1.0))
    return image


def adam_step(image, gradient, m, v, step, learning_rate, beta_1, beta_2, epsilon, mistake=None):
    image, gradient, m, v = (np.asarray(value, np.float64) for value in (image, gradient, m, v))
    new_m = beta_1 * m + (1 - beta_1) * gradient
    new_v = beta_2 * v + (1 - beta_2) * gradient ** 2
    correction = 1.0 if mistake == "no bias correction" else (
        np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step))
    new = image - learning_rate * correction * new_m / (np.sqrt(new_v) + epsilon)
    new = new if mistake == "no clip" else np.clip(new, 0, 1)
    return (new, m, v) if mistake == "old moments" else (new, new_m, new_v)


# --- lessons 09 to 11 ------------------------------------------------------------------

def two_loop(gradient, steps, changes, mistake=None):
    """L-BFGS' two-loop recursion in NumPy (Nocedal and Wright, Algorithm 7.4)."""
    steps, changes = np.asarray(steps, np.float64), np.asarray(changes, np.float64)
    if mistake == "newest pair only":
        steps, changes = steps[-1:], changes[-1:]
    rho = 1.0 / np.sum(steps * changes, axis=1)
    q = np.asarray(gradient, np.float64).copy()
    alphas = np.zeros(len(steps))
    first = range(len(steps)) if mistake == "loops swapped" else reversed(range(len(steps)))
    for i in first:
        alphas[i] = rho[i] * steps[i] @ q
        q -= alphas[i] * changes[i]
    gamma = 1.0 if mistake == "no gamma" else steps[-1] @ changes[-1] / (changes[-1] @ changes[-1])
    r = gamma * q
    second = reversed(range(len(steps))) if mistake == "loops swapped" else range(len(steps))
    for i in second:
        r += (alphas[i] - rho[i] * changes[i] @ r) * steps[i]
    return r


def match_luminance(style, content, mistake=None):
    weights = np.array([0.299, 0.587, 0.114])
    style_y, content_y = style[0] @ weights, content[0] @ weights
    if mistake == "constant":
        matched = np.full_like(style_y, content_y.mean())
    elif mistake == "unmatched":
        matched = style_y
    else:
        scale = 1.0 if mistake == "shift only" else content_y.std() / style_y.std()
        matched = scale * (style_y - style_y.mean()) + content_y.mean()
    return np.repeat(np.clip(matched, 0, 1)[None, ..., None], 3, axis=-1)


def guided_gram(features, mask, mistake=None):
    if mistake == "mask ignored":
        return gram(features)
    weighted = features * mask * (mask if mistake == "mask squared" else 1.0)
    products = tf.einsum("bijc,bijd->bcd", weighted, features)
    if mistake == "divided by positions":
        return products / tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return products / tf.reduce_sum(mask)


def mean_std(features, ddof=0, variance=False, axes=(1, 2)):
    features = np.asarray(features, np.float64)
    mean = features.mean(axis=axes)
    spread = features.var(axis=axes, ddof=ddof) + 1e-5
    return mean, spread if variance else np.sqrt(spread)


def instance_norm(x, axes=(1, 2), root=True):
    mean, variance = tf.nn.moments(x, axes=list(axes), keepdims=True)
    spread = tf.sqrt(variance + 1e-5) if root else variance + 1e-5
    return (x - mean) / spread


def strength(value, loss_weights, mistake=None):
    if mistake == "every weight":
        return {name: value * weight for name, weight in loss_weights.items()}
    if mistake == "unchanged":
        return dict(loss_weights)
    style = loss_weights["style_weight"]
    style = style / value if mistake == "divided" else style * value
    return {**loss_weights, "style_weight": style}


def adain_numpy(content, style, mistake=None):
    content, style = np.asarray(content, np.float64), np.asarray(style, np.float64)
    axes = (0, 1, 2) if mistake == "over the batch" else (1, 2)
    content_mean = content.mean(axis=axes, keepdims=True)
    content_std = np.sqrt(content.var(axis=axes, keepdims=True) + 1e-5)
    style_mean = style.mean(axis=(1, 2), keepdims=True)
    style_std = np.sqrt(style.var(axis=(1, 2), keepdims=True) + 1e-5)
    if mistake == "variance for the scale":
        style_std = style_std ** 2
    if mistake == "only normalized":
        return (content - content_mean) / content_std
    return (style_std * (content - content_mean) / content_std + style_mean).astype(np.float32)


def adain_target(content, styles, style_weights, alpha, mistake=None):
    mixed = sum(weight * adain_numpy(content, style) for weight, style in zip(style_weights, styles))
    if mistake == "alpha swapped":
        alpha = 1 - alpha
    if mistake == "first style only":
        mixed = adain_numpy(content, styles[0])
    if mistake == "no content mix":
        return mixed
    return alpha * mixed + (1 - alpha) * np.asarray(content)


CASES = {
    "check_grayscale": ([grayscale], [
        ("a constant grey", lambda image: np.full_like(image, image.mean())),
        ("the red channel copied", lambda image: np.repeat(image[..., :1], 3, axis=-1)),
        ("luminance weights", lambda image: grayscale(image, (0.299, 0.587, 0.114))),
        ("one channel", lambda image: image.mean(axis=-1, keepdims=True)),
        ("the image unchanged", lambda image: image),
    ]),
    "check_resize_to_max_size": ([nst.resize_to_max_size, resized,
                                  lambda image, size: resized(image, size, "area")], [
        ("a crop", lambda image, size: image[:, :size, :size]),
        ("zeros of the right shape",
         lambda image, size: np.zeros(nst.resize_to_max_size(image, size).shape)),
        ("enlarges small images", lambda image, size: resized(image, size, enlarge=True)),
        ("the image unchanged", lambda image, size: image),
    ]),
    "check_gram_matrix": ([lambda f: gram(f), gram_matrix], [
        ("no normalisation", lambda f: gram(f, "nothing")),
        ("divided by H*W*C", lambda f: gram(f, "all")),
        ("a covariance (centred)", lambda f: gram(f, centred=True)),
        ("zeros of the right shape", lambda f: tf.zeros((1, f.shape[-1], f.shape[-1]))),
    ]),
    "check_content_loss": ([lambda f, t: tf.reduce_mean((f - t) ** 2)], [
        ("a sum for a mean", lambda f, t: tf.reduce_sum((f - t) ** 2)),
        ("Gatys' half sum", lambda f, t: 0.5 * tf.reduce_sum((f - t) ** 2)),
        ("absolute differences", lambda f, t: tf.reduce_mean(tf.abs(f - t))),
        ("zero", lambda f, t: tf.constant(0.0)),
    ]),
    "check_style_loss": ([lambda f, g: tf.reduce_mean((gram(f) - g) ** 2)], [
        ("unnormalised Gram", lambda f, g: tf.reduce_mean((gram(f, "nothing") - g) ** 2)),
        ("a sum for a mean", lambda f, g: tf.reduce_sum((gram(f) - g) ** 2)),
        ("absolute differences", lambda f, g: tf.reduce_mean(tf.abs(gram(f) - g))),
        ("zero", lambda f, g: tf.constant(0.0)),
    ]),
    "check_total_variation_loss": ([lambda x: tf.reduce_sum(tf.image.total_variation(x))], [
        ("vertical neighbours only", lambda x: tf.reduce_sum(tf.abs(x[:, 1:] - x[:, :-1]))),
        ("squared differences", lambda x: tf.reduce_sum((x[:, 1:] - x[:, :-1]) ** 2)
         + tf.reduce_sum((x[:, :, 1:] - x[:, :, :-1]) ** 2)),
        ("a mean for a sum", lambda x: tf.reduce_mean(tf.abs(x[:, 1:] - x[:, :-1]))
         + tf.reduce_mean(tf.abs(x[:, :, 1:] - x[:, :, :-1]))),
        ("zero", lambda x: tf.constant(0.0)),
    ]),
    "check_weighted_style_loss": ([weighted_style], [
        ("weights left out", lambda f, t, w: weighted_style(f, t, w, "sum")),
        ("a mean over layers", lambda f, t, w: weighted_style(f, t, w, "mean")),
        ("divided by the weights' sum", lambda f, t, w: weighted_style(f, t, w, "normalised")),
        ("zero", lambda f, t, w: tf.constant(0.0)),
    ]),
    "check_total_loss": ([total_loss], [
        ("no total variation", lambda *a: total_loss(*a, mistake="no tv")),
        ("a sum over layers", lambda *a: total_loss(*a, mistake="sum over layers")),
        ("content and style weights swapped",
         lambda *a: total_loss(*a, mistake="weights swapped")),
        ("zero", lambda *a: tf.constant(0.0)),
    ]),
    "check_gradient_step": ([lambda x, g, lr: tf.clip_by_value(x - lr * g, 0.0, 1.0)], [
        ("no clip", lambda x, g, lr: x - lr * g),
        ("up the gradient", lambda x, g, lr: np.clip(x + lr * g, 0, 1)),
        ("no learning rate", lambda x, g, lr: np.clip(x - g, 0, 1)),
        ("the image unchanged", lambda x, g, lr: x),
    ]),
    "check_adam_step": ([adam_step], [
        ("no bias correction", lambda *a: adam_step(*a, mistake="no bias correction")),
        ("no clip", lambda *a: adam_step(*a, mistake="no clip")),
        ("the old moments returned", lambda *a: adam_step(*a, mistake="old moments")),
        ("only the image", lambda *a: adam_step(*a)[0]),
    ]),
    "check_adam_loop": ([adam_loop], [
        ("no bias correction", lambda *a: adam_loop(*a, mistake="no bias correction")),
        ("no clip", lambda *a: adam_loop(*a, mistake="no clip")),
        ("moments reset every step", lambda *a: adam_loop(*a, mistake="moments reset")),
        ("one step fewer", lambda *a: adam_loop(*a, mistake="one step fewer")),
        ("the start image", lambda loss_function, start, *rest: start),
    ]),
    "check_two_loop": ([two_loop], [
        ("no gamma scaling", lambda *a: two_loop(*a, mistake="no gamma")),
        ("the loops in the wrong order", lambda *a: two_loop(*a, mistake="loops swapped")),
        ("the newest pair only", lambda *a: two_loop(*a, mistake="newest pair only")),
        ("the gradient itself", lambda g, s, y: g),
    ]),
    "check_match_luminance": ([match_luminance], [
        ("only the mean shifted", lambda s, c: match_luminance(s, c, "shift only")),
        ("a constant", lambda s, c: match_luminance(s, c, "constant")),
        ("the style's luminance unmatched", lambda s, c: match_luminance(s, c, "unmatched")),
        ("one channel", lambda s, c: match_luminance(s, c)[..., :1]),
    ]),
    "check_guided_gram_matrix": ([guided_gram], [
        ("the mask squared (Gatys 2017)", lambda f, m: guided_gram(f, m, "mask squared")),
        ("divided by H*W", lambda f, m: guided_gram(f, m, "divided by positions")),
        ("the mask ignored", lambda f, m: guided_gram(f, m, "mask ignored")),
        ("zeros", lambda f, m: tf.zeros((1, f.shape[-1], f.shape[-1]))),
    ]),
    "check_mean_std": ([mean_std], [
        ("divided by H*W - 1", lambda f: mean_std(f, ddof=1)),
        ("the variance", lambda f: mean_std(f, variance=True)),
        ("over the channels", lambda f: tuple(np.swapaxes(a, 0, 1)
                                              for a in mean_std(f, axes=(3,)))),
        ("zeros and ones", lambda f: (np.zeros((1, f.shape[-1])), np.ones((1, f.shape[-1])))),
    ]),
    "check_strength_to_weights": ([strength], [
        ("every weight scaled", lambda s, w: strength(s, w, "every weight")),
        ("the weights unchanged", lambda s, w: strength(s, w, "unchanged")),
        ("divided by the strength", lambda s, w: strength(s, w, "divided")),
        ("an empty answer", lambda s, w: {}),
    ]),
    "check_instance_normalization": ([instance_norm], [
        ("over the batch too", lambda x: instance_norm(x, axes=(0, 1, 2))),
        ("over the channels", lambda x: instance_norm(x, axes=(3,))),
        ("divided by the variance", lambda x: instance_norm(x, root=False)),
        ("zeros", zeros_like_first),
    ]),
    "check_upsample_nearest": ([lambda x: np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)], [
        ("bilinear", lambda x: tf.image.resize(x, (2 * x.shape[1], 2 * x.shape[2]))),
        ("tiled, not repeated", lambda x: np.tile(x, (1, 2, 2, 1))),
        ("rows only", lambda x: np.repeat(x, 2, axis=1)),
        ("zeros of the right shape",
         lambda x: np.zeros((x.shape[0], 2 * x.shape[1], 2 * x.shape[2], x.shape[3]))),
    ]),
    "check_adain": ([adain_numpy], [
        ("statistics over the batch too", lambda c, s: adain_numpy(c, s, "over the batch")),
        ("the variance as the scale", lambda c, s: adain_numpy(c, s, "variance for the scale")),
        ("normalized, not restyled", lambda c, s: adain_numpy(c, s, "only normalized")),
        ("the content unchanged", lambda c, s: c),
    ]),
    "check_adain_target": ([adain_target], [
        ("alpha swapped", lambda *a: adain_target(*a, mistake="alpha swapped")),
        ("the first style only", lambda *a: adain_target(*a, mistake="first style only")),
        ("no mix with the content", lambda *a: adain_target(*a, mistake="no content mix")),
        ("the content unchanged", lambda c, *rest: c),
    ]),
}


# Checks of answers that are not functions, tested below and in test_checks.py.
OTHER_CHECKS = {"check_feature_shapes", "check_style_weight"}
RIGHT = [(name, index) for name, (rights, _) in CASES.items() for index in range(len(rights))]
WRONG = [(name, label) for name, (_, wrongs) in CASES.items() for label, _ in wrongs]


def test_every_check_is_tried_with_at_least_three_wrong_answers():
    listed = {name for name in checks.__all__ if name.startswith("check_")}
    assert listed - OTHER_CHECKS == set(CASES)
    for name, (rights, wrongs) in CASES.items():
        assert len(wrongs) >= 3, name


@pytest.mark.parametrize("name, index", RIGHT)
def test_the_right_answer_passes(name, index, capsys):
    assert getattr(checks, name)(CASES[name][0][index]) is True
    assert "✗" not in capsys.readouterr().out


@pytest.mark.parametrize("name, label", WRONG)
def test_a_wrong_answer_fails_with_a_hint(name, label, capsys):
    wrong = dict(CASES[name][1])[label]
    assert getattr(checks, name)(wrong) is False
    assert "✗" in capsys.readouterr().out


@pytest.mark.parametrize("answers", [
    {},  # an empty answer
    {"block1_conv2": (0, 0, 0), "block2_pool": (0, 0, 0), "block3_conv1": (0, 0, 0),
     "block5_conv1": (0, 0, 0)},  # the stub's zeros
    {"block1_conv2": (224, 224, 64), "block2_pool": (112, 112, 128)},  # layers missing
    {"block1_conv2": (224, 224, 64), "block2_pool": (112, 112, 128),  # one pooling too few
     "block3_conv1": (56, 56, 256), "block5_conv1": (14, 14, 512)},
])
def test_feature_shapes_rejects_empty_zero_and_partial_answers(answers, capsys):
    layers = ["block1_conv2", "block2_pool", "block3_conv1", "block5_conv1"]
    assert checks.check_feature_shapes(answers, backbone="vgg16", layers=layers) is False
    assert "✗" in capsys.readouterr().out
    right = {"block1_conv2": (224, 224, 64), "block2_pool": (56, 56, 128),
             "block3_conv1": (56, 56, 256), "block5_conv1": (14, 14, 512)}
    assert checks.check_feature_shapes(right, backbone="vgg16", layers=layers) is True


def crash(*arguments):
    raise NotImplementedError


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_crashing_stub_is_reported_not_raised(name, capsys):
    assert getattr(checks, name)(crash) is False
    assert "raised NotImplementedError" in capsys.readouterr().out
