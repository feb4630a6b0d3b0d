"""The Gram matrix: the style statistic of a layer's activations (lesson 03).

A layer's activations form `C` feature maps of `H x W` values. The Gram matrix
holds the correlation of every pair of feature maps, averaged over positions:

    G[c, d] = sum over (i, j) of F[i, j, c] * F[i, j, d], divided by H * W

It keeps *which features occur together* and forgets *where* they occur, which
is what makes it a description of style (Gatys et al. 2016). This is the one
Gram implementation of nst_teach: the guided (masked) Gram matrix, the mean and
standard deviation of AdaIN, the strip-wise sums and the blend of several
styles (`nst_teach.statistics`) are all computed with it.
"""

from __future__ import annotations

import tensorflow as tf


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
