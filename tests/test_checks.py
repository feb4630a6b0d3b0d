"""The exercise checks: right answers pass, wrong ones fail with a hint, crashes are reported."""

import numpy as np
import pytest
import tensorflow as tf

import nst_teach as nst
from nst_teach import checks


def tutorial_gram(features):
    result = tf.linalg.einsum("bijc,bijd->bcd", features, features)
    shape = tf.shape(features)
    return result / tf.cast(shape[1] * shape[2], tf.float32)


def crash(*arguments):
    raise NotImplementedError


@pytest.mark.parametrize("check, right, wrong", [
    (checks.check_gram_matrix, tutorial_gram,
     lambda f: tf.linalg.einsum("bijc,bijd->bcd", f, f)),  # forgot to divide by H*W
    (checks.check_content_loss, lambda f, t: tf.reduce_mean((f - t) ** 2),
     lambda f, t: tf.reduce_sum((f - t) ** 2)),  # sum instead of mean
    (checks.check_style_loss, lambda f, g: tf.reduce_mean((tutorial_gram(f) - g) ** 2),
     lambda f, g: tf.reduce_mean(tf.abs(tutorial_gram(f) - g))),
    (checks.check_total_variation_loss, lambda x: tf.reduce_sum(tf.image.total_variation(x)),
     lambda x: tf.reduce_sum(tf.abs(x[:, 1:] - x[:, :-1]))),  # vertical neighbours only
    (checks.check_resize_to_max_size, nst.resize_to_max_size,
     lambda image, max_size: image[:, :max_size, :max_size]),  # crops instead of scaling
])
def test_right_answers_pass_and_wrong_ones_fail(check, right, wrong, capsys):
    assert check(right) is True
    assert "✗" not in capsys.readouterr().out
    assert check(wrong) is False
    output = capsys.readouterr().out
    assert "✗" in output


def test_a_crashing_stub_is_reported_not_raised(capsys):
    assert checks.check_gram_matrix(crash) is False
    assert "raised NotImplementedError" in capsys.readouterr().out


def test_compare_reports_exact_close_and_wrong(capsys):
    reference = np.array([1.0, 2.0, 3.0])
    assert checks.compare("same", reference.copy(), reference)
    assert checks.compare("close", reference + 1e-7, reference)
    assert not checks.compare("far", reference + 0.5, reference, hint="look again")
    assert not checks.compare("shape", reference[:2], reference)
    lines = capsys.readouterr().out.splitlines()
    assert "✓ exact" in lines[0] and "✓ close" in lines[1]
    assert "✗ wrong" in lines[2] and "max difference 0.5" in lines[2] and "look again" in lines[2]
    assert "shape (2,)" in lines[3]


def test_feature_shapes(capsys):
    right = {"block1_conv1": (224, 224, 64), "block3_pool": (28, 28, 256),
             "block5_conv1": (14, 14, 512)}
    assert checks.check_feature_shapes(right, backbone="vgg16")
    assert not checks.check_feature_shapes({"block3_pool": (56, 56, 256)}, backbone="vgg16")
    assert not checks.check_feature_shapes({"block3_pool": None}, backbone="vgg16")
    output = capsys.readouterr().out
    assert output.count("✗") == 2


# --- lesson 08: colour and guided Gram matrices ---------------------------------

def numpy_match_luminance(style, content, ddof=0, shift_only=False):
    weights = np.array([0.299, 0.587, 0.114])
    style_y, content_y = style[0] @ weights, content[0] @ weights
    scale = 1.0 if shift_only else content_y.std(ddof=ddof) / style_y.std(ddof=ddof)
    matched = scale * (style_y - style_y.mean()) + content_y.mean()
    return np.repeat(np.clip(matched, 0, 1)[None, ..., None], 3, axis=-1)


def masked_gram(features, mask):
    products = tf.einsum("bijc,bijd->bcd", features * mask, features)
    return products / tf.reduce_sum(mask)


@pytest.mark.parametrize("check, right, wrong", [
    (checks.check_match_luminance, numpy_match_luminance,
     lambda style, content: numpy_match_luminance(style, content, shift_only=True)),
    (checks.check_match_luminance, lambda s, c: numpy_match_luminance(s, c, ddof=1),
     lambda style, content: numpy_match_luminance(style, content)[..., :1]),  # one channel
    (checks.check_guided_gram_matrix, masked_gram,
     lambda f, m: tf.einsum("bijc,bijd->bcd", f * m, f * m) / tf.reduce_sum(m)),  # m squared
    (checks.check_guided_gram_matrix, masked_gram,
     lambda f, m: tf.einsum("bijc,bijd->bcd", f * m, f) / tf.cast(
         tf.shape(f)[1] * tf.shape(f)[2], tf.float32)),  # divided by H*W, not the mask's sum
])
def test_lesson_08_checks(check, right, wrong, capsys):
    assert check(right) is True
    assert "✗" not in capsys.readouterr().out
    assert check(wrong) is False
    assert "✗" in capsys.readouterr().out
    assert check(crash) is False
    assert "raised NotImplementedError" in capsys.readouterr().out


# --- lesson 09: means and standard deviations -------------------------------------

def numpy_mean_std(features, ddof=0, variance=False, axes=(1, 2)):
    features = np.asarray(features, np.float64)
    mean = features.mean(axis=axes)
    spread = features.var(axis=axes, ddof=ddof) + 1e-5
    return mean, spread if variance else np.sqrt(spread)


@pytest.mark.parametrize("wrong", [
    lambda f: numpy_mean_std(f, ddof=1),  # divided by H * W - 1
    lambda f: numpy_mean_std(f, variance=True),  # the variance, not the deviation
    lambda f: numpy_mean_std(f, axes=(1, 3))[0],  # one array, not a pair
    lambda f: tuple(np.swapaxes(a, 0, 1) for a in numpy_mean_std(f, axes=(3,))),  # over channels
    lambda f: (np.zeros((1, f.shape[-1])), np.ones((1, f.shape[-1]))),  # right shapes, no values
])
def test_lesson_09_mean_std_check(wrong, capsys):
    assert checks.check_mean_std(numpy_mean_std) is True
    assert "✗" not in capsys.readouterr().out
    assert checks.check_mean_std(wrong) is False
    assert "✗" in capsys.readouterr().out
    assert checks.check_mean_std(crash) is False
    assert "raised NotImplementedError" in capsys.readouterr().out


# --- lessons 06 and 07: optimizer steps, strength, choosing the style weight ----

def numpy_adam_step(image, gradient, m, v, step, learning_rate, beta_1, beta_2, epsilon,
                    paper_form=False):
    image, gradient, m, v = (np.asarray(value, np.float64) for value in (image, gradient, m, v))
    m = beta_1 * m + (1 - beta_1) * gradient
    v = beta_2 * v + (1 - beta_2) * gradient ** 2
    if paper_form:  # Kingma & Ba's epsilon, outside the bias correction: differs for epsilon 0.1
        update = learning_rate * (m / (1 - beta_1 ** step)) / (
            np.sqrt(v / (1 - beta_2 ** step)) + epsilon)
    else:
        update = (learning_rate * np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
                  * m / (np.sqrt(v) + epsilon))
    return np.clip(image - update, 0, 1), m, v


def strength_right(strength, loss_weights):
    return {**loss_weights, "style_weight": strength * loss_weights["style_weight"]}


@pytest.mark.parametrize("check, right, wrong", [
    (checks.check_gradient_step, lambda x, g, lr: tf.clip_by_value(x - lr * g, 0.0, 1.0),
     lambda x, g, lr: x - lr * g),  # no clip
    (checks.check_gradient_step, lambda x, g, lr: np.clip(x - lr * g, 0, 1),
     lambda x, g, lr: np.clip(x + lr * g, 0, 1)),  # up the gradient
    (checks.check_adam_step, numpy_adam_step,
     lambda *arguments: numpy_adam_step(*arguments, paper_form=True)),
    (checks.check_adam_step, numpy_adam_step,
     lambda *arguments: numpy_adam_step(*arguments)[0]),  # only the image
    (checks.check_strength_to_weights, strength_right,
     lambda strength, loss_weights: {name: strength * value  # scales every weight
                                     for name, value in loss_weights.items()}),
])
def test_lessons_06_07_checks(check, right, wrong, capsys):
    assert check(right) is True
    assert "✗" not in capsys.readouterr().out
    assert check(wrong) is False
    assert "✗" in capsys.readouterr().out
    assert check(crash) is False
    assert "raised NotImplementedError" in capsys.readouterr().out


def test_check_style_weight_has_a_window(hed_weights, tiny_image, capsys):
    content, style = tiny_image(32, 32, seed=1), tiny_image(32, 32, seed=2)
    arguments = (content, style, hed_weights)
    assert checks.check_style_weight(None, *arguments) is False
    assert "not a number" in capsys.readouterr().out
    assert checks.check_style_weight(-1.0, *arguments) is False
    tiny = checks.check_style_weight(1e-6, *arguments, num_steps=5)
    assert tiny is False and "larger style weight" in capsys.readouterr().out
    huge = checks.check_style_weight(1e6, *arguments, num_steps=5)
    assert huge is False and "smaller style weight" in capsys.readouterr().out
    assert checks.check_style_weight(1e6, *arguments, low=0.0, high=1.0, num_steps=5)
    assert "✓ the style term fell by" in capsys.readouterr().out


def test_style_loss_reduction_reads_the_best_step():
    result = nst.StyleTransferResult(
        image=np.zeros((1, 2, 2, 3), np.float32), status="completed", message="", device="CPU",
        settings={}, best_step=1,
        history=[{"style": 10.0}, {"style": 2.5}, {"style": 4.0}])
    assert checks.style_loss_reduction(result) == pytest.approx(0.75)
