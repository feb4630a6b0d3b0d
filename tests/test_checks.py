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
