"""Content, style and total-variation losses, and their weighted total (lessons 04-05).

The conventions are those of the TensorFlow core style-transfer tutorial, so
its weights mean the same here:

    content = content_weight / num_content_layers * sum_l mean((F_l - P_l)^2)
    style   = style_weight   / num_style_layers   * sum_l mean((G_l - A_l)^2)
    tv      = tv_weight * tf.image.total_variation(image)
    total   = content + style + tv

where F are the image's activations, P the content image's, G the Gram
matrices of F and A those of the style image. Every term is returned, already
weighted, so that `total == content + style + tv` and `style` is the sum of the
per-layer terms `style/<layer>`.
"""

from __future__ import annotations

from collections.abc import Mapping

import tensorflow as tf

from nst_teach.core.gram import gram_matrix

# The TensorFlow tutorial's layers: one deep layer for content, the first
# convolution of every block for style.
DEFAULT_CONTENT_LAYERS = ("block5_conv2",)
DEFAULT_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1",
                        "block4_conv1", "block5_conv1")


def content_loss(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean squared difference between two layers' activations.

    Args:
        features: float32 `(1, H, W, C)`, the image's activations.
        target: float32 `(1, H, W, C)`, the content image's activations.

    Returns:
        A float32 scalar `mean((features - target)^2)`.
    """
    return tf.reduce_mean(tf.square(features - target))


def style_loss(features: tf.Tensor, target_gram: tf.Tensor) -> tf.Tensor:
    """Mean squared difference between a layer's Gram matrix and the style's.

    Args:
        features: float32 `(1, H, W, C)`, the image's activations.
        target_gram: float32 `(1, C, C)`, the style image's Gram matrix.

    Returns:
        A float32 scalar `mean((gram_matrix(features) - target_gram)^2)`.
    """
    return tf.reduce_mean(tf.square(gram_matrix(features) - target_gram))


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """Sum of absolute differences between neighbouring pixels.

    Equal to `tf.reduce_sum(tf.image.total_variation(image))`, written out.
    Large when the image is noisy; zero when it is flat.

    Args:
        image: float32 `(batch, H, W, 3)` in [0, 1].

    Returns:
        A float32 scalar.
    """
    vertical = image[:, 1:, :, :] - image[:, :-1, :, :]
    horizontal = image[:, :, 1:, :] - image[:, :, :-1, :]
    return tf.reduce_sum(tf.abs(vertical)) + tf.reduce_sum(tf.abs(horizontal))


def equal_layer_weights(layers) -> dict[str, float]:
    """`{layer: 1 / N}` for a list of N layers; a dict of weights is kept as given."""
    if isinstance(layers, Mapping):
        return {name: float(weight) for name, weight in layers.items()}
    return {name: 1.0 / len(layers) for name in layers}


def weighted_total(content_losses: Mapping[str, tf.Tensor], style_losses: Mapping[str, tf.Tensor],
                   tv_loss: tf.Tensor, *, content_weight: float, style_weight: float,
                   tv_weight: float, content_layer_weights: Mapping[str, float] | None = None,
                   style_layer_weights: Mapping[str, float] | None = None
                   ) -> dict[str, tf.Tensor]:
    """Weighs and adds up the terms: every one returned, for plots and widgets.

    Args:
        content_losses: Layer name to its unweighted `content_loss` (a scalar).
        style_losses: Layer name to its unweighted `style_loss` (a scalar).
        tv_loss: The unweighted `total_variation_loss`.
        content_weight: Multiplies the content term.
        style_weight: Multiplies the style term.
        tv_weight: Multiplies the total-variation term.
        content_layer_weights: Layer name to weight; default `1 / N` each.
        style_layer_weights: Layer name to weight; default `1 / N` each.

    Returns:
        float32 scalars `total`, `content`, `style`, `tv`, and one
        `content/<layer>` and `style/<layer>` per layer, all weighted.
    """
    content_layer_weights = content_layer_weights or equal_layer_weights(list(content_losses))
    style_layer_weights = style_layer_weights or equal_layer_weights(list(style_losses))
    terms = {}
    for name, loss in content_losses.items():
        terms[f"content/{name}"] = content_weight * content_layer_weights[name] * loss
    for name, loss in style_losses.items():
        terms[f"style/{name}"] = style_weight * style_layer_weights[name] * loss
    content = tf.add_n([terms[f"content/{name}"] for name in content_losses])
    style = tf.add_n([terms[f"style/{name}"] for name in style_losses])
    tv = tv_weight * tv_loss
    return {"total": content + style + tv, "content": content, "style": style, "tv": tv,
            **terms}


def style_transfer_loss(image: tf.Tensor, features: Mapping[str, tf.Tensor],
                        content_targets: Mapping[str, tf.Tensor],
                        style_targets: Mapping[str, tf.Tensor], *, content_weight: float = 1e4,
                        style_weight: float = 1e-2, tv_weight: float = 30.0
                        ) -> dict[str, tf.Tensor]:
    """The whole objective of one image: the tutorial's `style_content_loss` plus TV.

    Args:
        image: float32 `(1, H, W, 3)` in [0, 1], the image being optimized.
        features: Layer name to the image's activations (`vgg_features`).
        content_targets: Content layer name to the content image's activations.
        style_targets: Style layer name to the style image's Gram matrix.
        content_weight: Multiplies the content term (tutorial: 1e4).
        style_weight: Multiplies the style term (tutorial: 1e-2).
        tv_weight: Multiplies the total-variation term (tutorial: 30).

    Returns:
        Every weighted term, as `weighted_total`.
    """
    content_losses = {name: content_loss(features[name], target)
                      for name, target in content_targets.items()}
    style_losses = {name: style_loss(features[name], target)
                    for name, target in style_targets.items()}
    return weighted_total(content_losses, style_losses, total_variation_loss(image),
                          content_weight=content_weight, style_weight=style_weight,
                          tv_weight=tv_weight)
