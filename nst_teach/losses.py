"""Losses: content, style (per layer), total variation, and their weighted sum.

The default conventions are those of the TensorFlow core style-transfer
tutorial, so its weights mean the same here:

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

from typing import Mapping, Sequence

import tensorflow as tf

from nst_teach.features import BackboneWeights, FeatureExtractor
from nst_teach.gram import gram_matrix

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


def layer_weights(layers: Sequence[str] | Mapping[str, float]) -> dict[str, float]:
    """Turns a list of layers into equal weights `1 / N`; keeps a dict as given.

    Raises:
        ValueError: If there are no layers or a weight is negative.
    """
    if isinstance(layers, str):
        raise ValueError(f"Layers must be a list such as [{layers!r}], not a string.")
    if not isinstance(layers, Mapping):
        layers = list(layers)
        if not layers:
            raise ValueError("At least one layer is needed.")
        if len(set(layers)) != len(layers):
            raise ValueError(f"A layer is listed twice in {layers}; give each once "
                             "(use a dict of weights to weigh one layer more).")
        return {name: 1.0 / len(layers) for name in layers}
    if any(weight < 0 for weight in layers.values()):
        raise ValueError(f"Layer weights must be >= 0, got {dict(layers)}.")
    if not layers:
        raise ValueError("At least one layer is needed.")
    return {name: float(weight) for name, weight in layers.items()}


class StyleTransferLoss:
    """The weighted style-transfer objective for one content and style pair.

    Computes the content image's activations and the style image's Gram
    matrices once; calling the object on an image returns every loss term.

    Args:
        weights: The backbone's `BackboneWeights`.
        content_image: float32 `(1, H, W, 3)` in [0, 1].
        style_image: float32 `(1, H_s, W_s, 3)` in [0, 1]; any size.
        content_layers: Layer names (equal weights) or name to weight.
        style_layers: Layer names (equal weights) or name to weight.
        content_weight: Multiplies the content term.
        style_weight: Multiplies the style term.
        tv_weight: Multiplies the total-variation term.
        pooling: `"max"` or `"average"`, see `FeatureExtractor`.
    """

    def __init__(self, weights: BackboneWeights, content_image: tf.Tensor,
                 style_image: tf.Tensor, *,
                 content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
                 style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
                 content_weight: float = 1e4, style_weight: float = 1e-2,
                 tv_weight: float = 30.0, pooling: str = "max"):
        self.content_layers = layer_weights(content_layers)
        self.style_layers = layer_weights(style_layers)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        layers = list(dict.fromkeys([*self.content_layers, *self.style_layers]))
        self.extractor = FeatureExtractor(weights, layers, pooling=pooling)
        self.content_image = tf.convert_to_tensor(content_image, tf.float32).numpy()
        self.style_image = tf.convert_to_tensor(style_image, tf.float32).numpy()
        content_features = self.extractor(self.content_image)
        self.content_targets = {name: content_features[name] for name in self.content_layers}
        style_features = self.extractor(self.style_image)
        self.style_targets = {name: gram_matrix(style_features[name])
                              for name in self.style_layers}

    def settings(self) -> dict:
        """The objective's options, for records and plots."""
        return {"backbone": self.extractor.backbone, "weights": self.extractor.source,
                "pooling": self.extractor.pooling, "content_layers": dict(self.content_layers),
                "style_layers": dict(self.style_layers), "content_weight": self.content_weight,
                "style_weight": self.style_weight, "tv_weight": self.tv_weight}

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        """Computes every weighted loss term for an image.

        Args:
            image: float32 `(1, H, W, 3)` in [0, 1], the content image's size.

        Returns:
            float32 scalars: `total`, `content`, `style`, `tv`, and one
            `content/<layer>` and `style/<layer>` per layer.
        """
        features = self.extractor(image)
        terms = {}
        for name, weight in self.content_layers.items():
            loss = content_loss(features[name], self.content_targets[name])
            terms[f"content/{name}"] = self.content_weight * weight * loss
        for name, weight in self.style_layers.items():
            loss = style_loss(features[name], self.style_targets[name])
            terms[f"style/{name}"] = self.style_weight * weight * loss
        content = tf.add_n([terms[f"content/{name}"] for name in self.content_layers])
        style = tf.add_n([terms[f"style/{name}"] for name in self.style_layers])
        tv = self.tv_weight * total_variation_loss(image)
        return {"total": content + style + tv, "content": content, "style": style,
                "tv": tv, **terms}
