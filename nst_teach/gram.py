"""Gram matrices: the style statistics of a layer's activations.

A layer's activations form `C` feature maps of `H x W` values. The Gram matrix
holds the correlation of every pair of feature maps, averaged over positions:

    G[c, d] = sum over (i, j) of F[i, j, c] * F[i, j, d], divided by H * W

It keeps *which features occur together* and forgets *where* they occur, which
is what makes it a description of style (Gatys et al. 2016).

Two relatives live here too:

* `guided_gram_matrix`: the Gram matrix of one region only, given by a mask
  (the guided Gram matrices of Gatys et al. 2017, "Controlling perceptual
  factors in neural style transfer"), for styles painted in regions.
* `mean_std`: per-channel mean and standard deviation, the statistics AdaIN
  matches (Huang & Belongie 2017); a lighter description of style that keeps
  no correlations between channels.
"""

from __future__ import annotations

import tensorflow as tf

# Added to the variance before the square root in `mean_std` (AdaIN's epsilon):
# keeps the gradient finite where a channel is constant (e.g. a dead ReLU).
STD_EPSILON = 1e-5


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """Computes the Gram matrix of activations, divided by H * W.

    The normalisation matches the TensorFlow core style-transfer tutorial
    (`tf.linalg.einsum('bijc,bijd->bcd') / (H * W)`). Other codebases divide
    by C * H * W (PyTorch tutorial, d2l) or not at all (keras-io), which is why
    loss weights do not carry over between them. Computed in float32 whatever
    the input's dtype (mixed precision keeps Gram matrices accurate).

    Args:
        features: Activations `(batch, H, W, C)`, any float dtype.

    Returns:
        float32 `(batch, C, C)`, symmetric with a non-negative diagonal.

    Raises:
        ValueError: If `features` is not 4-dimensional.
    """
    features = tf.convert_to_tensor(features)
    if features.shape.rank != 4:
        raise ValueError(f"gram_matrix expects activations of shape (batch, H, W, C), "
                         f"got shape {tuple(features.shape)}.")
    features = tf.cast(features, tf.float32)
    shape = tf.shape(features)
    num_positions = tf.cast(shape[1] * shape[2], tf.float32)
    return tf.einsum("bijc,bijd->bcd", features, features) / num_positions


def _check_mask(features: tf.Tensor, mask: tf.Tensor, name: str) -> tuple[tf.Tensor, tf.Tensor]:
    """Converts both to float32 and checks the mask's shape against the activations'."""
    features = tf.convert_to_tensor(features)
    if features.shape.rank != 4:
        raise ValueError(f"{name} expects activations of shape (batch, H, W, C), "
                         f"got shape {tuple(features.shape)}.")
    mask = tf.cast(tf.convert_to_tensor(mask), tf.float32)
    if mask.shape.rank != 4 or mask.shape[-1] != 1 or mask.shape[1:3] != features.shape[1:3]:
        raise ValueError(f"{name}: the mask must have shape (batch or 1, {features.shape[1]}, "
                         f"{features.shape[2]}, 1) to match the activations "
                         f"{tuple(features.shape)}, got {tuple(mask.shape)}; bring it to the "
                         "layer's size with nst_teach.features.layer_masks.")
    return tf.cast(features, tf.float32), mask


def guided_gram_matrix(features: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Computes the Gram matrix of the positions a mask selects.

        G[c, d] = sum over (i, j) of m[i, j] * F[i, j, c] * F[i, j, d], divided by sum of m

    a weighted mean of the same products `gram_matrix` averages, so a mask of
    ones (or any constant) gives exactly `gram_matrix(features)`, and positions
    where the mask is 0 play no part. Gatys et al. (2017, eq. 4) multiply the
    feature maps by the mask, `(F * m)^T (F * m)`, which weighs positions by
    `m^2`; for the binary masks of the paper both agree. Dividing by the mask's
    sum (not by H * W) keeps a small region's statistics on the scale of a whole
    image's, so the same style weight works for any region size.

    Args:
        features: Activations `(batch, H, W, C)`, any float dtype.
        mask: Weights `(batch or 1, H, W, 1)` in [0, 1] at the activations'
            resolution (see `nst_teach.features.layer_masks`).

    Returns:
        float32 `(batch, C, C)`, symmetric; all zeros where the mask is all 0.

    Raises:
        ValueError: If the shapes do not match.
    """
    features, mask = _check_mask(features, mask, "guided_gram_matrix")
    weight = tf.reduce_sum(mask, axis=[1, 2, 3])[:, None, None]
    products = tf.einsum("bijc,bijd->bcd", features * mask, features)
    return tf.math.divide_no_nan(products, weight)


def mean_std(features: tf.Tensor, mask: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-channel mean and standard deviation of activations (AdaIN's statistics).

        mean[c] = sum of m * F[..., c] / sum of m
        std[c]  = sqrt(sum of m * (F[..., c] - mean[c])^2 / sum of m + 1e-5)

    with `m = 1` everywhere when there is no mask, as in Huang & Belongie
    (2017), whose AdaIN layer and style loss use exactly these statistics (with
    the same epsilon). Unlike the Gram matrix they say nothing about which
    channels fire *together*.

    Args:
        features: Activations `(batch, H, W, C)`, any float dtype.
        mask: Optional weights `(batch or 1, H, W, 1)` in [0, 1], as for
            `guided_gram_matrix`.

    Returns:
        Two float32 tensors `(batch, C)`: the means and the standard deviations.

    Raises:
        ValueError: If `features` is not 4-dimensional or the mask does not match.
    """
    if mask is None:
        mask = tf.ones_like(tf.convert_to_tensor(features)[..., :1])
    features, mask = _check_mask(features, mask, "mean_std")
    weight = tf.reduce_sum(mask, axis=[1, 2])  # (batch, 1)
    mean = tf.math.divide_no_nan(tf.reduce_sum(features * mask, axis=[1, 2]), weight)
    centered = features - mean[:, None, None, :]
    variance = tf.math.divide_no_nan(tf.reduce_sum(tf.square(centered) * mask, axis=[1, 2]),
                                     weight)
    return mean, tf.sqrt(variance + STD_EPSILON)
