"""`GramViewer`: the style's Gram matrix against an image's, layer by layer."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import tensorflow as tf

from nst_teach import plots
from nst_teach.core.gram import gram_matrix
from nst_teach.core.vgg import BackboneWeights
from nst_teach.features import FeatureExtractor
from nst_teach.images import (
    load_image,
)
from nst_teach.losses import DEFAULT_STYLE_LAYERS, style_loss
from nst_teach.widgets.common import _check_weights, _Displayable, _show_png


class GramViewer(_Displayable):
    """Compares the style image's Gram matrices with an image's, layer by layer.

    Shows `plots.plot_gram_comparison` for the chosen layer and that layer's
    (unweighted) style loss, `nst.style_loss`: the mean squared difference of
    the two Gram matrices.

    Args:
        weights: A `BackboneWeights`.
        style_image: The style image (array or anything `nst.load_image` takes).
        image: The image to compare (e.g. the content image, or a result).
        layers: Style layers to offer.
        max_size: Images are shrunk to this longer side.
    """

    def __init__(self, weights: BackboneWeights, style_image: Any, image: Any,
                 layers: Sequence[str] = DEFAULT_STYLE_LAYERS, max_size: int = 256):
        self.weights = _check_weights(weights)
        self.max_size = max_size
        self.extractor = FeatureExtractor(self.weights, list(layers))
        self.layers = self.extractor.layers
        style = load_image(style_image, max_size=max_size)
        style_features = self.extractor(tf.constant(style))
        self.style_grams = {name: gram_matrix(style_features[name]) for name in self.layers}
        self.layer_dropdown = widgets.Dropdown(options=self.layers, description="layer")
        self.figure = widgets.Image(format="png")
        self.info = widgets.HTML()
        self.layer_dropdown.observe(lambda change: self.refresh(), names="value")
        self._widget = widgets.VBox([self.layer_dropdown, self.info, self.figure])
        self.set_image(image)

    @property
    def widget(self) -> widgets.Widget:
        """The layer Dropdown, the loss line and the figure, to display."""
        return self._widget

    def set_image(self, image: Any) -> None:
        """Compares another image (e.g. a new result) and redraws."""
        self.image = load_image(image, max_size=self.max_size)
        self.image_features = self.extractor(tf.constant(self.image))
        self.image_grams = {name: gram_matrix(self.image_features[name]) for name in self.layers}
        self.refresh()

    def layer_style_loss(self, layer: str) -> float:
        """`nst.style_loss` at one layer (not weighted)."""
        return float(style_loss(self.image_features[layer], self.style_grams[layer]))

    def refresh(self) -> None:
        """Redraws the chosen layer."""
        layer = self.layer_dropdown.value
        loss = self.layer_style_loss(layer)
        self.info.value = (f"Style loss at <b>{html.escape(layer)}</b>: {loss:.4g} "
                           "(mean squared difference of the Gram matrices, before weighting).")
        _show_png(self.figure, plots.plot_gram_comparison(
            self.style_grams[layer].numpy(), self.image_grams[layer].numpy(), loss=loss,
            layer=layer))
