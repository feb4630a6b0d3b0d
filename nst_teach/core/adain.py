"""Adaptive instance normalization (Huang & Belongie 2017), as lesson 12 writes it.

AdaIN gives the content's activations the style's per-channel statistics:

    AdaIN(x, y) = sigma(y) * (x - mu(x)) / sigma(x) + mu(y)

where `mu` and `sigma` are the mean and standard deviation of each channel over
the positions (H and W) of one image. A decoder trained to invert the encoder
(VGG up to `ENCODER_LAYER`, `block3_conv1` here, `relu4_1` in the paper) then paints the
normalized activations as a picture.
The paper's training objective has two terms, both written here (`nst_teach.adain.training`
adds a third, a pixel reconstruction term after Li et al. 2017):

* the content term: the decoded picture's activations should be the AdaIN
  output `t` it was decoded from, `mean((f(g(t)) - t)^2)`;
* the style term: at each style layer, the decoded picture's means and
  standard deviations should be the style's,
  `sum over layers of mean((mu - mu_s)^2) + mean((sigma - sigma_s)^2)`.

Means of squares, not norms, as in the authors' code (pytorch-AdaIN's
`calc_content_loss` and `calc_style_loss`). `nst_teach.statistics.mean_std`
computes the same statistics through the Gram matrix (tested to agree).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow as tf

EPSILON = 1e-5  # added to the variance, as in Huang & Belongie's code
ENCODER_LAYER = "block3_conv1"  # the paper: relu4_1 (see nst_teach.adain.decoder)
ADAIN_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")


def channel_mean_std(features: tf.Tensor, epsilon: float = EPSILON
                     ) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean and standard deviation of each channel over the positions.

    Args:
        features: float32 activations `(batch, H, W, C)`.
        epsilon: Added to the variance before the square root.

    Returns:
        Two float32 tensors `(batch, 1, 1, C)`: `mu` and `sigma`, shaped to
        broadcast against `features`.
    """
    features = tf.cast(features, tf.float32)
    mean, variance = tf.nn.moments(features, axes=[1, 2], keepdims=True)
    return mean, tf.sqrt(variance + epsilon)


def adaptive_instance_normalization(content_features: tf.Tensor, style_features: tf.Tensor,
                                    epsilon: float = EPSILON) -> tf.Tensor:
    """`AdaIN(x, y) = sigma(y) * (x - mu(x)) / sigma(x) + mu(y)`, channel by channel.

    Args:
        content_features: float32 `(batch, H, W, C)`, the content's activations.
        style_features: float32 `(batch or 1, H_s, W_s, C)`, the style's; any size.
        epsilon: Added to the variances.

    Returns:
        float32 `(batch, H, W, C)`: the content's layout with the style's statistics.
    """
    content_mean, content_std = channel_mean_std(content_features, epsilon)
    style_mean, style_std = channel_mean_std(style_features, epsilon)
    normalized = (tf.cast(content_features, tf.float32) - content_mean) / content_std
    return style_std * normalized + style_mean


def adain_content_loss(decoded_features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """`mean((f(g(t)) - t)^2)`: the decoded picture should encode back to `t`."""
    return tf.reduce_mean(tf.square(tf.cast(decoded_features, tf.float32) - target))


def adain_style_loss(decoded_features: Mapping[str, tf.Tensor],
                     style_features: Mapping[str, tf.Tensor],
                     layers: Sequence[str] = ADAIN_STYLE_LAYERS) -> tf.Tensor:
    """Sum over layers of `mean((mu - mu_s)^2) + mean((sigma - sigma_s)^2)`.

    Args:
        decoded_features: Layer name to the decoded pictures' activations `(batch, H, W, C)`.
        style_features: Layer name to the style images' activations `(batch, H_s, W_s, C)`.
        layers: The layers compared.

    Returns:
        A float32 scalar, the mean over the batch of each image's term.
    """
    total = tf.constant(0.0)
    for name in layers:
        mean, std = channel_mean_std(decoded_features[name])
        style_mean, style_std = channel_mean_std(style_features[name])
        total += tf.reduce_mean(tf.square(mean - style_mean))
        total += tf.reduce_mean(tf.square(std - style_std))
    return total
