"""`ActivationExplorer`: pick an image, a layer and a channel; see what fires."""

from __future__ import annotations

import html
import time
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import tensorflow as tf

from nst_teach import plots
from nst_teach.callbacks import Callback, Run
from nst_teach.core.vgg import BackboneWeights
from nst_teach.features import FeatureExtractor, receptive_field, receptive_field_box
from nst_teach.images import (
    load_image,
)
from nst_teach.widgets.common import (
    LOAD_ERRORS,
    _check_weights,
    _Displayable,
    _error_html,
    _show_png,
    available_layers,
    picture_layout,
    readable_error,
    uploaded_files,
)


NEEDS_COMPARE = "Rank by difference compares two images: tick compare."
RUN_IMAGE = "(the run)"  # the image a followed run is generating


class FollowRun(Callback):
    """Puts a run's current image into an `ActivationExplorer` (as `RUN_IMAGE`).

    At most every `every_seconds` during the run, and the best image at its
    end; the explorer redraws when that image is the one shown. A callback of
    `nst.stylize` or of a `Studio` (`ActivationExplorer.follow`).
    """

    def __init__(self, explorer: ActivationExplorer, every_seconds: float = 2.0):
        super().__init__(every=1)
        self.explorer, self.every_seconds = explorer, every_seconds
        self._next_update = 0.0
        self.updates = 0

    def on_start(self, run: Run) -> None:
        self._next_update = 0.0
        self.on_step(run)

    def on_step(self, run: Run) -> None:
        if time.perf_counter() >= self._next_update:
            self._update(run.image())

    def on_end(self, run: Run) -> None:
        self._update(run.best_image())

    def _update(self, image: np.ndarray) -> None:
        self.explorer.add_image(RUN_IMAGE, image, select=False)
        self.updates += 1
        self._next_update = time.perf_counter() + self.every_seconds


class ActivationExplorer(_Displayable):
    """Pick an image, a layer and a channel, and see the layer's activations.

    Shows the chosen channel, a grid of the layer's most active channels, and
    a line with the activations' shape and the layer's receptive field, and
    the receptive field of the activation at `row`, `column` drawn on the
    image (`field_image`, `features.receptive_field_box`). With
    "compare" checked, the channel is drawn for a second image next to the
    first, on one colour scale (`plots.plot_channel_comparison`).
    Activations are computed with `FeatureExtractor(weights, [layer])` and
    cached per (image, layer). `follow(studio)` adds the image a run is
    generating (`RUN_IMAGE`), updated as the run goes.

    Args:
        weights: A `BackboneWeights` (e.g. `nst.load_weights("vgg16", "hed")`).
        images: Name to image (array, path, or anything `nst.load_image` takes).
        layers: Layers to offer; by default every convolution and pooling
            layer the weights hold.
        max_size: Images (and uploads) are shrunk to this longer side.
        grid_channels: How many of the most active channels the grid shows.
    """

    def __init__(self, weights: BackboneWeights, images: Mapping[str, Any],
                 layers: Sequence[str] | None = None, max_size: int = 256,
                 grid_channels: int = 16):
        self.weights = _check_weights(weights)
        if not images:
            raise ValueError("ActivationExplorer needs at least one image, e.g. "
                             "{'grace_hopper': nst.sample_image('grace_hopper')}.")
        self.max_size, self.grid_channels = max_size, grid_channels
        self.images = {str(name): load_image(image, max_size=max_size)
                       for name, image in images.items()}
        offered = available_layers(self.weights)
        self.layers = list(offered if layers is None else layers)
        unknown = [name for name in self.layers if name not in offered]
        if unknown or not self.layers:
            raise ValueError(f"Cannot show layer {unknown[0] if unknown else None!r}: the "
                             f"weights compute {', '.join(offered)}.")
        self._extractors: dict[str, FeatureExtractor] = {}
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self._updating = False
        self._field_layer: str | None = None
        self._build_widgets()
        self.refresh()

    def _build_widgets(self) -> None:
        names = list(self.images)
        self.image_dropdown = widgets.Dropdown(options=names, description="image")
        self.compare = widgets.Checkbox(value=False, description="compare", indent=False,
                                        layout=widgets.Layout(width="auto"))
        self.second_dropdown = widgets.Dropdown(options=names, value=names[min(1, len(names) - 1)],
                                                description="with", disabled=True)
        self.upload = widgets.FileUpload(accept="image/*", multiple=False,
                                         description="Upload image")
        self.layer_dropdown = widgets.Dropdown(options=self.layers, description="layer")
        self.channel_slider = widgets.IntSlider(value=0, min=0, max=1, description="channel",
                                                continuous_update=False)
        self.rank = widgets.Dropdown(options=list(plots.RANKINGS), value="mean",
                                     description="rank by")
        self.row = widgets.IntSlider(value=0, min=0, max=1, description="row",
                                     continuous_update=False)
        self.column = widgets.IntSlider(value=0, min=0, max=1, description="column",
                                        continuous_update=False)
        self.field_image = widgets.Image(format="png", layout=picture_layout())
        self.channel_image = widgets.Image(format="png", layout=picture_layout())
        self.grid_image = widgets.Image(format="png", layout=picture_layout())
        self.info = widgets.HTML()
        self.message = widgets.HTML()
        self.image_dropdown.observe(self._on_selection, names="value")
        self.layer_dropdown.observe(self._on_selection, names="value")
        self.rank.observe(self._on_selection, names="value")
        self.channel_slider.observe(self._on_channel, names="value")
        self.row.observe(self._on_position, names="value")
        self.column.observe(self._on_position, names="value")
        self.compare.observe(self._on_compare, names="value")
        self.second_dropdown.observe(self._on_compare, names="value")
        self.upload.observe(self._on_upload, names="value")
        self._widget = widgets.VBox([
            widgets.HBox([self.image_dropdown, self.upload]),
            widgets.HBox([self.compare, self.second_dropdown]),
            widgets.HBox([self.layer_dropdown, self.channel_slider, self.rank]),
            self.info, self.message,
            widgets.HBox([self.channel_image, self.grid_image]),
            widgets.HBox([widgets.VBox([widgets.HTML("receptive field of one activation:"),
                                        self.row, self.column]), self.field_image]),
        ])

    @property
    def widget(self) -> widgets.Widget:
        """The whole explorer, to display."""
        return self._widget

    def activations(self, image_name: str, layer: str) -> np.ndarray:
        """One layer's activations of one image, float32 `(1, H_l, W_l, C_l)` (cached)."""
        key = (image_name, layer)
        if key not in self._cache:
            if layer not in self._extractors:
                self._extractors[layer] = FeatureExtractor(self.weights, [layer])
            outputs = self._extractors[layer](tf.constant(self.images[image_name]))
            self._cache[key] = outputs[layer].numpy()
        return self._cache[key]

    def current_activations(self) -> np.ndarray:
        """The activations of the selected image at the selected layer."""
        return self.activations(self.image_dropdown.value, self.layer_dropdown.value)

    def compared_activations(self) -> np.ndarray:
        """The activations of the second image ("compare") at the selected layer."""
        return self.activations(self.second_dropdown.value, self.layer_dropdown.value)

    def describe_layer(self) -> str:
        """The HTML line: shape, channels and receptive field of the selected layer."""
        layer = self.layer_dropdown.value
        _, height, width, channels = self.current_activations().shape
        size, stride = receptive_field(self.weights.backbone, layer)
        image_height, image_width = self.images[self.image_dropdown.value].shape[1:3]
        line = (f"<b>{html.escape(layer)}</b>: activations {height} × {width} × {channels} "
                f"({channels} channels, from a {image_height} × {image_width} image). "
                f"Each value sees {size} × {size} input pixels; neighbouring values are "
                f"{stride} px apart.")
        if self.compare.value:
            _, second_height, second_width, _ = self.compared_activations().shape
            line += (f" Compared with <b>{html.escape(self.second_dropdown.value)}</b>: "
                     f"{second_height} × {second_width} × {channels}, same colour scale.")
        return line

    def follow(self, studio: Any = None) -> FollowRun:
        """Follows a run: its current image appears as `RUN_IMAGE` and is kept up to date.

        Args:
            studio: A `Studio` to follow (the callback is added to its runs);
                None to get the callback for `nst.stylize(..., callbacks=[...])`.

        Returns:
            The `FollowRun` callback.
        """
        follower = FollowRun(self)
        if studio is not None:
            studio.callbacks.append(follower)
        return follower

    def add_image(self, name: str, source: Any, select: bool = True) -> bool:
        """Adds (or replaces) an image (bytes, path, array...); selects it if `select`.

        Returns:
            True if it loaded; False if not, with the reason in `message`.
        """
        try:
            image = load_image(source, max_size=self.max_size)
        except LOAD_ERRORS as error:
            self.message.value = _error_html(f"Could not load {name}: {readable_error(error)}")
            return False
        self.images[name] = image
        self._cache = {key: value for key, value in self._cache.items() if key[0] != name}
        self.message.value = ""
        self._updating = True
        try:
            first, second = self.image_dropdown.value, self.second_dropdown.value
            if list(self.image_dropdown.options) != list(self.images):
                self.image_dropdown.options = self.second_dropdown.options = list(self.images)
            self.image_dropdown.value = name if select else first
            self.second_dropdown.value = second
        finally:
            self._updating = False
        if select or name == self.image_dropdown.value or (
                self.compare.value and name == self.second_dropdown.value):
            self.refresh()
        return True

    def refresh(self) -> None:
        """Recomputes (or reads from the cache) and redraws everything."""
        activations = self.current_activations()
        channels = activations.shape[-1]
        new_layer = self._field_layer != self.layer_dropdown.value
        self._updating = True
        try:
            self.channel_slider.max = channels - 1
            self.row.max, self.column.max = (max(1, side - 1) for side in activations.shape[1:3])
            if new_layer:  # a new grid: start at its centre, on the most active channel
                self._field_layer = self.layer_dropdown.value
                self.row.value, self.column.value = (side // 2 for side in activations.shape[1:3])
                self.channel_slider.value = plots.rank_channels(activations, 1)[0]
        finally:
            self._updating = False
        self.info.value = self.describe_layer()
        count = min(self.grid_channels, channels)
        by = self.rank.value
        if self.message.value == NEEDS_COMPARE:
            self.message.value = ""
        if by == "difference" and not self.compare.value:
            by = "mean"
            self.message.value = NEEDS_COMPARE
        strongest = plots.rank_channels(activations, count, by=by,
                                        other=self.compared_activations())
        _show_png(self.grid_image, plots.plot_activations(
            activations, strongest, columns=4,
            title=f"{self.layer_dropdown.value}: the top {count} channels by {by}"))
        self._draw_channel()

    def _draw_channel(self) -> None:
        channel = self.channel_slider.value
        title = f"{self.layer_dropdown.value}, channel {channel}"
        if self.compare.value:
            figure = plots.plot_channel_comparison(
                [self.current_activations(), self.compared_activations()], channel,
                titles=[self.image_dropdown.value, self.second_dropdown.value], title=title)
        else:
            figure = plots.plot_activations(self.current_activations(), [channel], columns=1,
                                            panel_size=3.0, title=title)
        _show_png(self.channel_image, figure)
        self._draw_field()

    def field_box(self) -> tuple[int, int, int, int]:
        """The receptive field of the activation at (`row`, `column`): top, left, bottom, right."""
        image = self.images[self.image_dropdown.value]
        return receptive_field_box(self.weights.backbone, self.layer_dropdown.value,
                                   self._field_position(self.current_activations()),
                                   image.shape[1:3])

    def _field_position(self, activations: np.ndarray) -> tuple[int, int]:
        """(`row`, `column`), kept inside the layer's grid (a 1-wide grid's slider still has 2)."""
        return (min(self.row.value, activations.shape[1] - 1),
                min(self.column.value, activations.shape[2] - 1))

    def _draw_field(self) -> None:
        activations = self.current_activations()
        position = self._field_position(activations)
        _show_png(self.field_image, plots.plot_receptive_field(
            self.images[self.image_dropdown.value], activations, self.channel_slider.value,
            position, self.field_box(), title=f"{self.layer_dropdown.value}: what one value sees"))

    def _on_position(self, change: dict) -> None:
        if not self._updating:
            self._draw_field()

    def _on_selection(self, change: dict) -> None:
        if not self._updating:
            self.refresh()

    def _on_channel(self, change: dict) -> None:
        if not self._updating:
            self.info.value = self.describe_layer()
            self._draw_channel()

    def _on_compare(self, change: dict) -> None:
        """The compare box or the second image changed (the grid follows when ranking by it)."""
        self.second_dropdown.disabled = not self.compare.value
        if self.rank.value == "difference":
            self.refresh()
        else:
            self._on_channel(change)

    def _on_upload(self, change: dict) -> None:
        try:
            files = uploaded_files(change["new"])
        except (KeyError, TypeError) as error:
            self.message.value = _error_html(f"Could not read the upload: {readable_error(error)}")
            return
        for file_name, content in files:
            self.add_image(f"upload: {file_name}", content)
