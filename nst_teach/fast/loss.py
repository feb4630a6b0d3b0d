"""The perceptual loss of Johnson et al.: the core losses over a batch."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf

from nst_teach.core.gram import gram_matrix
from nst_teach.core.losses import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    content_loss,
    style_loss,
    total_variation_loss,
    weighted_total,
)
from nst_teach.features import FeatureExtractor
from nst_teach.images import check_image
from nst_teach.losses import layer_weights
from nst_teach.settings import LossSettings, default_loss_weights

# Loss weights for training, per weights source (the photo is the content image).
TRAINING_LOSS_WEIGHTS = {
    "hed": {"content_weight": 1e4, "style_weight": 1.0, "tv_weight": 1.0},
}


def training_loss_weights(weights) -> dict[str, float]:
    """Loss weights for training: `TRAINING_LOSS_WEIGHTS` if listed, else `stylize`'s."""
    source = getattr(weights, "source", weights)
    return dict(TRAINING_LOSS_WEIGHTS.get(source, default_loss_weights(source)))


class PerceptualLoss:
    """The perceptual loss of Johnson et al., built from `nst_teach.core.losses`.

    The content target of each output is the photo the network was given
    (its activations are computed in the same pass), the style target is the
    style image's Gram matrices (computed once), and the terms are the same
    `content_loss`, `style_loss` and `total_variation_loss` that `stylize`
    minimizes, averaged over the batch (the TV term is divided by the batch
    size, so the weights mean what they mean for one image).

    Args:
        backbone_weights: The network's `BackboneWeights` (`nst.load_weights`).
        style_image: float32 `(1, H_s, W_s, 3)` in [0, 1].
        content_layers: Layer names (equal weights) or name to weight.
        style_layers: Layer names (equal weights) or name to weight.
        content_weight, style_weight, tv_weight: Multiply the terms.
        pooling: `"max"` or `"average"`.
        precision: The dtype VGG's convolutions compute in (`FeatureExtractor`):
            `"float32"`, `"bfloat16"` or `"auto"`; activations and Gram
            matrices are float32 either way.
    """

    def __init__(self, backbone_weights, style_image, *,
                 content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
                 style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
                 content_weight: float = 1e4, style_weight: float = 1.0, tv_weight: float = 1.0,
                 pooling: str = "max", precision: str = "float32"):
        self.content_layers = layer_weights(content_layers)
        self.style_layers = layer_weights(style_layers)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        layers = list(dict.fromkeys([*self.content_layers, *self.style_layers]))
        self.extractor = FeatureExtractor(backbone_weights, layers, pooling=pooling,
                                          precision=precision)
        self.style_image = check_image(style_image, "style")
        style_features = self.extractor(self.style_image)
        self.style_targets = {name: gram_matrix(style_features[name])
                              for name in self.style_layers}

    def settings(self) -> dict:
        """The loss's options, for records."""
        return {"backbone": self.extractor.backbone, "weights": self.extractor.source,
                "pooling": self.extractor.pooling, "precision": self.extractor.precision,
                "content_layers": dict(self.content_layers),
                "style_layers": dict(self.style_layers), "content_weight": self.content_weight,
                "style_weight": self.style_weight, "tv_weight": self.tv_weight,
                "style_size": tuple(self.style_image.shape[1:3])}

    def __call__(self, photos: tf.Tensor, outputs: tf.Tensor) -> dict[str, tf.Tensor]:
        """Computes every weighted term for a batch.

        Args:
            photos: float32 `(batch, H, W, 3)` in [0, 1], the network's inputs.
            outputs: float32 `(batch, H, W, 3)` in [0, 1], the network's outputs.

        Returns:
            float32 scalars `total`, `content`, `style`, `tv` and one
            `content/<layer>` and `style/<layer>` per layer.
        """
        targets = self.extractor(photos)
        features = self.extractor(outputs)
        content_losses = {name: content_loss(features[name], tf.stop_gradient(targets[name]))
                          for name in self.content_layers}
        style_losses = {name: style_loss(features[name], self.style_targets[name])
                        for name in self.style_layers}
        batch = tf.cast(tf.shape(outputs)[0], tf.float32)
        return weighted_total(content_losses, style_losses, total_variation_loss(outputs) / batch,
                              content_weight=self.content_weight, style_weight=self.style_weight,
                              tv_weight=self.tv_weight, content_layer_weights=self.content_layers,
                              style_layer_weights=self.style_layers)


def _perceptual_loss(backbone_weights, style: np.ndarray, settings: LossSettings
                     ) -> PerceptualLoss:
    """The training objective, with `training_loss_weights` for weights left as None."""
    weights = training_loss_weights(backbone_weights)
    chosen = {term: weights[term] if getattr(settings, term) is None else getattr(settings, term)
              for term in weights}
    return PerceptualLoss(backbone_weights, style, content_layers=settings.content_layers,
                          style_layers=settings.style_layers, pooling=settings.pooling,
                          precision=settings.precision, **chosen)
