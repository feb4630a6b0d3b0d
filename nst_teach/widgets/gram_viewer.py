"""`GramViewer`: the style's Gram matrix against an image's, layer by layer."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import tensorflow as tf

from nst_teach import plots
from nst_teach.core.gram import gram_matrix
from nst_teach.core.vgg import BackboneWeights
from nst_teach.features import FeatureExtractor
from nst_teach.images import (
    load_image,
)
from nst_teach.losses import DEFAULT_STYLE_LAYERS, style_loss
from nst_teach.statistics import GRAM_VIEWS, gram_view, most_different_pairs
from nst_teach.widgets.common import _check_weights, _Displayable, _show_png, picture_layout


class GramViewer(_Displayable):
    """Compares the style image's Gram matrices with an image's, layer by layer.

    Shows `plots.plot_gram_comparison` for the chosen layer and view, that
    layer's (unweighted) style loss `nst.style_loss` (always on the raw Gram
    matrices: what `stylize` minimizes), the channel pairs whose entries
    differ most (`statistics.most_different_pairs`) and each layer's share
    of the style term with equal layer weights (`plots.plot_style_shares`).

    The views (`statistics.gram_view`): `raw` (the Gram matrix itself,
    dominated by the channel means for ReLU features), `centred` (the
    covariance) and `correlation` (the covariance normalised to [-1, 1]).

    Args:
        weights: A `BackboneWeights`.
        style_image: The style image (array or anything `nst.load_image` takes).
        image: The image to compare (e.g. the content image, or a result).
        layers: Style layers to offer.
        max_size: Images are shrunk to this longer side.
        num_pairs: How many channel pairs to list.
    """

    def __init__(self, weights: BackboneWeights, style_image: Any, image: Any,
                 layers: Sequence[str] = DEFAULT_STYLE_LAYERS, max_size: int = 256,
                 num_pairs: int = 5):
        self.weights = _check_weights(weights)
        self.max_size, self.num_pairs = max_size, num_pairs
        self.extractor = FeatureExtractor(self.weights, list(layers))
        self.layers = self.extractor.layers
        style = load_image(style_image, max_size=max_size)
        self.style_features = self.extractor(tf.constant(style))
        self.style_grams = {name: gram_matrix(self.style_features[name]) for name in self.layers}
        self.layer_dropdown = widgets.Dropdown(options=self.layers, description="layer")
        self.view = widgets.ToggleButtons(options=list(GRAM_VIEWS), value="raw",
                                          description="view")
        self.figure = widgets.Image(format="png", layout=picture_layout())
        self.shares = widgets.Image(format="png", layout=picture_layout())
        self.info = widgets.HTML()
        self.pairs = widgets.HTML()
        for control in (self.layer_dropdown, self.view):
            control.observe(lambda change: self.refresh(), names="value")
        self._widget = widgets.VBox([widgets.HBox([self.layer_dropdown, self.view]), self.info,
                                     self.figure, widgets.HBox([self.pairs, self.shares])])
        self.set_image(image)

    @property
    def widget(self) -> widgets.Widget:
        """The controls, the loss line, the figure, the pairs and the shares, to display."""
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

    def layer_shares(self) -> dict[str, float]:
        """Each layer's style term with equal layer weights (`1 / N` times its loss)."""
        return {name: self.layer_style_loss(name) / len(self.layers) for name in self.layers}

    def matrices(self, layer: str, view: str) -> tuple[np.ndarray, np.ndarray]:
        """The style's and the image's matrices `(C, C)` at a layer, in a view."""
        if view == "raw":
            return self.style_grams[layer].numpy()[0], self.image_grams[layer].numpy()[0]
        return (gram_view(self.style_features[layer], view).numpy()[0],
                gram_view(self.image_features[layer], view).numpy()[0])

    def refresh(self) -> None:
        """Redraws the chosen layer and view."""
        layer, view = self.layer_dropdown.value, self.view.value
        loss = self.layer_style_loss(layer)
        self.info.value = (f"Style loss at <b>{html.escape(layer)}</b>: {loss:.4g} "
                           "(mean squared difference of the raw Gram matrices, before "
                           "weighting).")
        style, image = self.matrices(layer, view)
        _show_png(self.figure, plots.plot_gram_comparison(style, image, loss=loss, layer=layer,
                                                           view=view))
        rows = "".join(f"<tr><td>{c}, {d}</td><td>{a:.3g}</td><td>{b:.3g}</td></tr>"
                       for c, d, a, b in most_different_pairs(
                           style, image, self.num_pairs, include_diagonal=view != "correlation"))
        self.pairs.value = (f"<b>Pairs that differ most ({view})</b><table><tr><th>channels"
                            f"</th><th>style</th><th>image</th></tr>{rows}</table>")
        _show_png(self.shares, plots.plot_style_shares(self.layer_shares()))
