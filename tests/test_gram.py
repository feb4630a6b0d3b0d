"""Gram matrices: values, symmetry, dtype, and the "forgets where" property."""

import re

import numpy as np
import pytest
import tensorflow as tf

from nst_teach.core.gram import gram_matrix
from nst_teach.statistics import guided_gram_matrix, mean_std


def numpy_gram(features):
    """The definition, written out: per image, F of shape (H*W, C), F^T F / (H*W)."""
    features = np.asarray(features, np.float64)
    batch, height, width, channels = features.shape
    grams = []
    for image in features:
        flat = image.reshape(height * width, channels)
        grams.append(flat.T @ flat / (height * width))
    return np.stack(grams)


@pytest.mark.parametrize("shape", [(1, 4, 5, 3), (2, 7, 3, 6), (3, 1, 1, 2), (1, 16, 9, 32)])
def test_matches_numpy_write_out(rng, shape):
    features = rng.normal(size=shape).astype(np.float32)
    gram = gram_matrix(features)
    assert gram.shape == (shape[0], shape[3], shape[3])
    np.testing.assert_allclose(gram.numpy(), numpy_gram(features), rtol=1e-5, atol=1e-6)


def test_normalised_by_positions_not_channels():
    # Constant maps of value 2 in every channel: each entry is 2*2 = 4 whatever H, W, C.
    for shape in [(1, 3, 3, 2), (1, 10, 4, 5)]:
        np.testing.assert_allclose(gram_matrix(np.full(shape, 2.0, np.float32)).numpy(),
                                   np.full((1, shape[3], shape[3]), 4.0), rtol=1e-6)


def test_symmetric_with_non_negative_diagonal(rng):
    # Signed activations (not just ReLU outputs): the diagonal is a mean of squares.
    features = rng.normal(size=(2, 6, 5, 8)).astype(np.float32)
    gram = gram_matrix(features).numpy()
    np.testing.assert_allclose(gram, np.transpose(gram, (0, 2, 1)), rtol=1e-6, atol=1e-7)
    diagonal = np.diagonal(gram, axis1=1, axis2=2)
    assert (diagonal >= 0).all()
    np.testing.assert_allclose(diagonal, np.mean(features ** 2, axis=(1, 2)), rtol=1e-5)


@pytest.mark.parametrize("dtype", [tf.float16, tf.float64, tf.bfloat16])
def test_output_is_float32(rng, dtype):
    features = tf.cast(rng.uniform(0, 2, size=(1, 5, 4, 3)), dtype)
    gram = gram_matrix(features)
    assert gram.dtype == tf.float32
    # Computed from the values the input holds (after its own rounding).
    expected = numpy_gram(tf.cast(features, tf.float64).numpy())
    np.testing.assert_allclose(gram.numpy(), expected, rtol=1e-5)


def test_float16_does_not_overflow():
    # 300 * 300 = 90000 exceeds float16's maximum (65504): computing in float16 gives inf.
    features = tf.fill((1, 4, 4, 2), tf.constant(300.0, tf.float16))
    gram = gram_matrix(features).numpy()
    assert np.isfinite(gram).all()
    np.testing.assert_allclose(gram, np.full((1, 2, 2), 90000.0), rtol=1e-6)


def test_shuffling_positions_leaves_gram_unchanged(rng):
    """The Gram matrix forgets *where* features occur: any permutation of the
    H*W positions (the same for every channel) gives the same matrix."""
    features = rng.uniform(0, 1, size=(1, 6, 8, 5)).astype(np.float32)
    flat = features.reshape(1, 48, 5)
    shuffled = flat[:, rng.permutation(48), :].reshape(1, 6, 8, 5)
    assert not np.allclose(shuffled, features)
    np.testing.assert_allclose(gram_matrix(shuffled).numpy(), gram_matrix(features).numpy(),
                               rtol=1e-5)
    # Even the layout's shape is forgotten: the same positions as 4 x 12 or 48 x 1.
    for height, width in [(4, 12), (48, 1)]:
        np.testing.assert_allclose(gram_matrix(flat.reshape(1, height, width, 5)).numpy(),
                                   gram_matrix(features).numpy(), rtol=1e-5)


def test_permuting_channels_permutes_the_gram_matrix(rng):
    # ... but it remembers *which* features occur together: a channel permutation P
    # gives P G P^T, not G (so the test above is not trivially satisfied).
    features = rng.uniform(0, 1, size=(1, 5, 5, 4)).astype(np.float32)
    order = np.array([2, 0, 3, 1])
    gram = gram_matrix(features).numpy()[0]
    permuted = gram_matrix(features[..., order]).numpy()[0]
    np.testing.assert_allclose(permuted, gram[np.ix_(order, order)], rtol=1e-5)
    assert not np.allclose(permuted, gram)


def test_dynamic_spatial_shape_in_tf_function(rng):
    # Inside a tf.function with unknown H and W, the division uses the runtime shape.
    function = tf.function(gram_matrix, input_signature=[
        tf.TensorSpec((None, None, None, 3), tf.float32)])
    for shape in [(1, 4, 4, 3), (2, 9, 2, 3)]:
        features = rng.normal(size=shape).astype(np.float32)
        np.testing.assert_allclose(function(features).numpy(), numpy_gram(features),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(5, 5, 3), (2, 5, 5, 3, 1), (7,)])
def test_wrong_rank_raises_with_shape(shape):
    with pytest.raises(ValueError, match=re.escape(f"got shape {shape}")):
        gram_matrix(np.zeros(shape, np.float32))


# --- guided Gram matrices (lesson 09) and mean/std (lesson 10) -----------------------------------


def numpy_guided_gram(features, mask):
    """sum_p m_p F_p F_p^T / sum_p m_p, per image, written out in float64."""
    features, mask = np.asarray(features, np.float64), np.asarray(mask, np.float64)
    grams = []
    for image, weights in zip(features, np.broadcast_to(mask, features.shape[:3] + (1,))):
        flat, weights = image.reshape(-1, image.shape[-1]), weights.reshape(-1)
        grams.append((flat * weights[:, None]).T @ flat / weights.sum())
    return np.stack(grams)


def test_guided_gram_matches_numpy_write_out(rng):
    features = rng.normal(size=(2, 6, 5, 4)).astype(np.float32)
    mask = rng.uniform(0, 1, size=(1, 6, 5, 1)).astype(np.float32)  # soft, shared by the batch
    gram = guided_gram_matrix(features, mask)
    assert gram.dtype == tf.float32 and gram.shape == (2, 4, 4)
    np.testing.assert_allclose(gram.numpy(), numpy_guided_gram(features, mask), rtol=1e-5,
                               atol=1e-6)


def test_guided_gram_of_a_binary_mask_is_the_gram_of_the_region(rng):
    features = rng.normal(size=(1, 8, 6, 5)).astype(np.float32)
    mask = np.zeros((1, 8, 6, 1), np.float32)
    mask[:, 2:7, 1:4] = 1.0
    region = features[:, 2:7, 1:4]
    np.testing.assert_allclose(guided_gram_matrix(features, mask).numpy(),
                               gram_matrix(region).numpy(), rtol=1e-5, atol=1e-6)
    for constant in (1.0, 0.3):  # a constant mask: the plain Gram matrix
        np.testing.assert_allclose(guided_gram_matrix(features, np.full_like(mask, constant)),
                                   gram_matrix(features).numpy(), rtol=1e-5, atol=1e-6)
    assert not np.any(guided_gram_matrix(features, np.zeros_like(mask)).numpy())


def test_guided_gram_shape_errors(rng):
    features = rng.normal(size=(1, 4, 4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"mask must have shape \(batch or 1, 4, 4, 1\)"):
        guided_gram_matrix(features, np.ones((1, 4, 5, 1), np.float32))
    with pytest.raises(ValueError, match=r"expects activations of shape \(batch, H, W, C\)"):
        guided_gram_matrix(features[0], np.ones((1, 4, 4, 1), np.float32))


def test_mean_std_matches_numpy(rng):
    features = rng.normal(2.0, 3.0, size=(2, 7, 5, 6)).astype(np.float32)
    mean, std = mean_std(features)
    np.testing.assert_allclose(mean.numpy(), features.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std.numpy(), np.sqrt(features.var(axis=(1, 2)) + 1e-5), rtol=1e-5)
    mask = np.zeros((1, 7, 5, 1), np.float32)
    mask[:, 1:5, 2:] = 1.0
    region = features[:, 1:5, 2:]
    mean, std = mean_std(features, mask)
    np.testing.assert_allclose(mean.numpy(), region.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std.numpy(), np.sqrt(region.var(axis=(1, 2)) + 1e-5), rtol=1e-5)
    constant = mean_std(np.full((1, 3, 3, 2), 4.0, np.float32))
    np.testing.assert_allclose(constant[1].numpy(), np.sqrt(1e-5), rtol=1e-4)  # finite at 0


def test_gram_views_survive_a_large_mean(rng):
    """A channel whose mean dwarfs its spread: E[F F] - E[F] E[F] would cancel in float32."""
    from nst_teach.statistics import gram_view

    features = rng.uniform(0, 2, size=(1, 16, 16, 3)).astype(np.float32)
    features[..., 2] = 10.0 + features[..., 0] / 20  # correlation 1 with channel 0
    flat = features[0].reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(gram_view(features, "centred").numpy()[0],
                               np.cov(flat, rowvar=False, bias=True), rtol=1e-3, atol=1e-6)
    correlation = gram_view(features, "correlation").numpy()[0]
    np.testing.assert_allclose(correlation, np.corrcoef(flat, rowvar=False), atol=1e-3)


def test_gram_views_match_numpy(rng):
    from nst_teach.statistics import gram_view, most_different_pairs

    features = rng.uniform(0, 2, size=(1, 5, 6, 4)).astype(np.float32)
    features[..., 3] = 0.7  # a constant channel: no variance, correlation 0
    flat = features[0].reshape(-1, 4).astype(np.float64)
    covariance = np.cov(flat, rowvar=False, bias=True)
    np.testing.assert_allclose(gram_view(features, "raw").numpy()[0], flat.T @ flat / len(flat),
                               rtol=1e-5)
    np.testing.assert_allclose(gram_view(features, "centred").numpy()[0], covariance,
                               rtol=1e-4, atol=1e-5)
    std = np.sqrt(np.diag(covariance)[:3])
    correlation = gram_view(features, "correlation").numpy()[0]
    np.testing.assert_allclose(correlation[:3, :3], covariance[:3, :3] / np.outer(std, std),
                               rtol=1e-3, atol=1e-4)
    assert np.abs(correlation[3]).max() < 1e-3  # the constant channel correlates with nothing
    with pytest.raises(ValueError, match="view must be one of"):
        gram_view(features, "normalised")
    a = np.zeros((3, 3))
    b = np.zeros((3, 3))
    b[0, 2] = b[2, 0] = 5.0
    b[1, 1] = -2.0
    assert most_different_pairs(a, b, 2) == [(0, 2, 0.0, 5.0), (1, 1, 0.0, -2.0)]
    assert most_different_pairs(a, b, 2, include_diagonal=False)[0] == (0, 2, 0.0, 5.0)
    assert all(c != d for c, d, _, _ in most_different_pairs(a, b, 3, include_diagonal=False))
    with pytest.raises(ValueError, match="square matrices of one shape"):
        most_different_pairs(a, np.zeros((2, 2)))
