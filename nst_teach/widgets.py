"""Interactive widgets for the lessons: thin views over the library.

Every picture comes from a pure function of `nst_teach.plots` (rendered to PNG
and shown in a `widgets.Image`, so ipympl is not needed) and every number from
the library (`FeatureExtractor`, `gram_matrix`, `style_loss`, `stylize`). Only
core ipywidgets are used, compatible with ipywidgets 7.7 (Colab) and 8.x.

* `LossPlot`: a `stylize` callback that redraws the loss curves while it runs.
* `ActivationExplorer`: pick an image, a layer and a channel; see what fires
  (optionally next to a second image's).
* `GramViewer`: the style's Gram matrix against an image's, layer by layer.
* `Studio`: the whole style transfer as a dashboard: image pickers and uploads,
  image size, loss layers, Run, Stop, Continue, Save.

Each object has a `.widget` to display; a notebook also displays the object
itself when it is the last expression of a cell.
"""

from __future__ import annotations

import html
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import tensorflow as tf

from nst_teach import plots, presets
from nst_teach.callbacks import Callback, Run
from nst_teach.estimate import warn_if_too_large
from nst_teach.features import (
    BackboneWeights,
    FeatureExtractor,
    layer_names,
    load_weights,
    receptive_field,
)
from nst_teach.core.gram import gram_matrix
from nst_teach.images import (
    check_image,
    image_to_jpeg_bytes,
    image_to_png_bytes,
    load_image,
    resize_image,
    resize_to_max_size,
    save_image,
)
from nst_teach.losses import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, style_loss
from nst_teach.optimize import (DEFAULT_OPTIMIZER, OPTIMIZER_DEFAULTS, default_loss_weights,
                                device_name, stylize)
from nst_teach.profiles import current_profile
from nst_teach.samples import KINDS, SampleFallbackWarning, sample_image, sample_names

ERROR_STYLE = "color: #b00020"
MAX_MESSAGE_CHARACTERS = 400
LOAD_ERRORS = (ValueError, TypeError, OSError)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
GIVEN = "(given)"  # the picker entry of an image passed to the Studio
CUSTOM = "(custom)"  # the Preset menu's entry once a setting differs from the preset
IMAGE_SIZES = range(64, 512 + 1, 32)  # what the Studio's image-size slider offers
PREVIEW_WIDTH = "320px"
THUMBNAIL_WIDTH = "96px"


class _Displayable:
    """Lets a notebook display the object itself: it shows `self.widget`."""

    @property
    def widget(self) -> widgets.Widget:
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _show_png(image_widget: widgets.Image, figure) -> None:
    """Renders a matplotlib figure into an Image widget."""
    image_widget.format = "png"
    image_widget.value = plots.figure_to_png(figure)


def _error_html(text: str) -> str:
    return f'<span style="{ERROR_STYLE}">{html.escape(text)}</span>'


def picture_layout(width: str | None = None) -> widgets.Layout:
    """A layout that shows a picture at its own aspect ratio, even inside an HBox.

    A flex row stretches an `<img>` whose height is `auto` to the row's
    height (JupyterLab showed the Studio's preview narrow and tall): only the
    width is set, `align_self` stops the stretching, and `object_fit`
    keeps the ratio in whatever box the browser gives.

    Args:
        width: CSS width such as `"320px"`; `None` keeps the picture's own.
    """
    return widgets.Layout(width=width, height="auto", object_fit="contain",
                          align_self="flex-start")


def readable_error(error: BaseException) -> str:
    """One line for a person: the error's type and its (shortened) message."""
    message = " ".join(str(error).split()) or "(no message)"
    if len(message) > MAX_MESSAGE_CHARACTERS:
        message = message[:MAX_MESSAGE_CHARACTERS] + " ..."
    return f"{type(error).__name__}: {message}"


def uploaded_files(value: Any) -> list[tuple[str, bytes]]:
    """Reads `FileUpload.value` of ipywidgets 7 or 8 as `(file name, content)` pairs.

    ipywidgets 7 holds `{name: {"metadata": ..., "content": bytes}}`;
    ipywidgets 8 a tuple of dicts with `name` and `content` (a memoryview).
    """
    if isinstance(value, Mapping):
        return [(str(name), bytes(item["content"])) for name, item in value.items()]
    return [(str(item["name"]), bytes(item["content"])) for item in value]


def available_layers(weights: BackboneWeights) -> list[str]:
    """The convolution and pooling layers that `weights` can compute, in order."""
    names = []
    for name in layer_names(weights.backbone):
        if "conv" in name and name not in weights.convolutions:
            break
        names.append(name)
    return names


def style_layer_candidates(weights: BackboneWeights) -> list[str]:
    """The first convolution of each block (`blockN_conv1`) that `weights` can compute."""
    return [name for name in available_layers(weights) if name.endswith("_conv1")]


def content_layer_candidates(weights: BackboneWeights) -> list[str]:
    """The convolution layers that `weights` can compute."""
    return [name for name in available_layers(weights) if "_conv" in name]


def upload_size_problem(file_name: str, size: int, limit: int = MAX_UPLOAD_BYTES) -> str | None:
    """A sentence for a person if an upload is over `limit` bytes, else None."""
    if size <= limit:
        return None
    return (f"{file_name} is {size / 2**20:.1f} MB; files up to {limit / 2**20:.0f} MB are "
            "accepted: export a smaller JPEG or PNG and upload it again.")


def _check_weights(weights: Any) -> BackboneWeights:
    if not isinstance(weights, BackboneWeights):
        raise TypeError(f"weights must be a BackboneWeights, e.g. nst.load_weights('vgg16', "
                        f"'hed'), got {type(weights).__name__}.")
    return weights


class LossPlot(_Displayable, Callback):
    """A `stylize` callback that redraws the loss curves, throttled by time.

    Redraws at most every `every_seconds`, and never so often that drawing
    takes more than `max_overhead` of the run's time (a redraw costs about
    0.1 s on a laptop CPU). The last step is always drawn.

    Example:
        >>> loss_plot = LossPlot()
        >>> display(loss_plot.widget)
        >>> result = nst.stylize(content, style, callbacks=[loss_plot])

    Args:
        every_seconds: Shortest time between two redraws.
        log_scale: Start with a logarithmic loss axis (a Checkbox changes it).
        per_layer: Also draw each style layer's term.
        max_overhead: Largest fraction of the time spent drawing.
    """

    def __init__(self, every_seconds: float = 0.5, log_scale: bool = True,
                 per_layer: bool = True, max_overhead: float = 0.05):
        super().__init__(every=1)
        if every_seconds < 0:
            raise ValueError(f"every_seconds must be >= 0, got {every_seconds}.")
        if not 0 < max_overhead <= 1:
            raise ValueError(f"max_overhead must be in (0, 1], got {max_overhead}.")
        self.every_seconds, self.per_layer = every_seconds, per_layer
        self.max_overhead = max_overhead
        self.image = widgets.Image(format="png")
        self.log_scale = widgets.Checkbox(value=log_scale, description="log scale", indent=False)
        self.log_scale.observe(lambda change: self.update(), names="value")
        self.history: list = []  # the current run's, shared with the Run
        self.earlier: list = []  # earlier runs drawn before it (a Studio's Continue)
        self.draw_count = 0
        self._next_draw = 0.0
        self._widget = widgets.VBox([self.log_scale, self.image])

    @property
    def widget(self) -> widgets.Widget:
        """The Checkbox and the plot, to display."""
        return self._widget

    def plotted_history(self) -> list[dict]:
        """`earlier` followed by the current run, its steps shifted to continue them."""
        current = list(self.history)
        if not self.earlier:
            return current
        offset = self.earlier[-1]["step"]
        return list(self.earlier) + [{**record, "step": record["step"] + offset}
                                     for record in current[1:]]

    def update(self) -> None:
        """Redraws now (and postpones the next throttled redraw accordingly)."""
        started = time.perf_counter()
        figure = plots.plot_losses(self.plotted_history(), log_scale=self.log_scale.value,
                                   per_layer=self.per_layer)
        _show_png(self.image, figure)
        self.draw_count += 1
        finished = time.perf_counter()
        pause = max(self.every_seconds, (finished - started) / self.max_overhead)
        self._next_draw = finished + pause

    def on_start(self, run: Run) -> None:
        self.history = run.history
        self._next_draw = 0.0

    def on_step(self, run: Run) -> None:
        if time.perf_counter() >= self._next_draw:
            self.update()

    def on_end(self, run: Run) -> None:
        self.update()


class ActivationExplorer(_Displayable):
    """Pick an image, a layer and a channel, and see the layer's activations.

    Shows the chosen channel, a grid of the layer's most active channels, and
    a line with the activations' shape and the layer's receptive field. With
    "compare" checked, the channel is drawn for a second image next to the
    first, on one colour scale (`plots.plot_channel_comparison`).
    Activations are computed with `FeatureExtractor(weights, [layer])` and
    cached per (image, layer).

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
        self.channel_image = widgets.Image(format="png", layout=picture_layout())
        self.grid_image = widgets.Image(format="png", layout=picture_layout())
        self.info = widgets.HTML()
        self.message = widgets.HTML()
        self.image_dropdown.observe(self._on_selection, names="value")
        self.layer_dropdown.observe(self._on_selection, names="value")
        self.channel_slider.observe(self._on_channel, names="value")
        self.compare.observe(self._on_compare, names="value")
        self.second_dropdown.observe(self._on_channel, names="value")
        self.upload.observe(self._on_upload, names="value")
        self._widget = widgets.VBox([
            widgets.HBox([self.image_dropdown, self.upload]),
            widgets.HBox([self.compare, self.second_dropdown]),
            widgets.HBox([self.layer_dropdown, self.channel_slider]),
            self.info, self.message,
            widgets.HBox([self.channel_image, self.grid_image]),
        ])
        self.refresh()

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

    def add_image(self, name: str, source: Any) -> bool:
        """Adds an image (bytes, path, array...) and selects it.

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
            second = self.second_dropdown.value
            self.image_dropdown.options = self.second_dropdown.options = list(self.images)
            self.image_dropdown.value, self.second_dropdown.value = name, second
        finally:
            self._updating = False
        self.refresh()
        return True

    def refresh(self) -> None:
        """Recomputes (or reads from the cache) and redraws everything."""
        activations = self.current_activations()
        channels = activations.shape[-1]
        self._updating = True
        try:
            self.channel_slider.max = channels - 1
        finally:
            self._updating = False
        self.info.value = self.describe_layer()
        count = min(self.grid_channels, channels)
        strongest = plots.most_active_channels(activations, count)
        _show_png(self.grid_image, plots.plot_activations(
            activations, strongest, columns=4,
            title=f"{self.layer_dropdown.value}: the {count} most active channels"))
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

    def _on_selection(self, change: dict) -> None:
        if not self._updating:
            self.refresh()

    def _on_channel(self, change: dict) -> None:
        if not self._updating:
            self.info.value = self.describe_layer()
            self._draw_channel()

    def _on_compare(self, change: dict) -> None:
        self.second_dropdown.disabled = not change["new"]
        self._on_channel(change)

    def _on_upload(self, change: dict) -> None:
        try:
            files = uploaded_files(change["new"])
        except (KeyError, TypeError) as error:
            self.message.value = _error_html(f"Could not read the upload: {readable_error(error)}")
            return
        for file_name, content in files:
            self.add_image(f"upload: {file_name}", content)


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


class _StudioMonitor(Callback):
    """Updates a Studio's preview, progress bar and status, throttled by time."""

    def __init__(self, studio: Studio, every_seconds: float):
        super().__init__(every=1)
        self.studio, self.every_seconds = studio, every_seconds
        self._next_update = 0.0

    def on_start(self, run: Run) -> None:
        self.studio.progress.max = max(1, run.num_steps)
        self.studio.progress.value = 0
        self._next_update = 0.0

    def on_step(self, run: Run) -> None:
        now = time.perf_counter()
        if now >= self._next_update or run.step == run.num_steps:
            self._next_update = now + self.every_seconds
            self.studio.show_run(run, run.image())

    def on_end(self, run: Run) -> None:
        self.studio.progress.value = min(run.step, self.studio.progress.max)


class Studio(_Displayable):
    """A style-transfer dashboard: images, settings, Run / Stop / Continue, preview, Save.

    The optimization runs in a background thread (`nst.stylize` with
    `stop_event`), so the notebook stays responsive; Stop ends it after the
    current step and keeps the best image; Continue starts again from it.
    Tests and scripts drive it without clicking: `run()`, `stop()`, `wait()`,
    `continue_run()`, `save()`, `add_upload()`. The strength slider
    multiplies the default style weight and is linked both ways with the
    style-weight field (`nst.presets.strength_to_weights`); choosing an
    optimizer sets the steps to its default. The Preset menu (`nst.presets`)
    sets the image size, optimizer, steps and strength at once; changing any
    of them afterwards shows "(custom)".

    The content and the style each have a picker (`pickers[kind]`: the image
    given here, a sample or an upload) and a FileUpload (`uploads[kind]`).
    Every choice is kept as a source at the largest size the image-size
    slider offers (`sources[kind][name]`); `content` and `style` are resized
    from it (`nst.resize_to_max_size`) to the chosen size, again whenever a
    run starts. The style layers (`style_layer_boxes`) and the content layer
    go to `stylize` too.

    Args:
        content: The content image (array, path, URL, bytes...).
        style: The style image.
        weights: A `BackboneWeights`, or what `nst.load_weights` takes
            (`"auto"`, `"imagenet"`, `"hed"`, `None` for random).
        max_size: The initial image size: both images are shrunk to this
            longer side (the size slider changes it). None: the profile's
            ``image_size`` (`nst.current_profile()`: 256 on a CPU and on
            Binder, 512 with a GPU, 64 in fast mode).
        preview_seconds: Shortest time between two preview updates (None: the
            profile's; Binder's is longer). A run whose estimated peak memory
            exceeds the profile's budget issues a `MemoryBudgetWarning`.
        output_path: Initial value of the Save path.
    """

    def __init__(self, content: Any, style: Any, weights: Any = "auto",
                 max_size: int | None = None, preview_seconds: float | None = None,
                 output_path: str = "stylized.png"):
        profile = current_profile()  # where we run: Binder, Colab, local (nst_teach.profiles)
        max_size = profile.image_size if max_size is None else max_size
        preview_seconds = profile.preview_seconds if preview_seconds is None else preview_seconds
        self.weights = weights if isinstance(weights, BackboneWeights) else load_weights(
            None, weights)
        self.size_limit = max(IMAGE_SIZES[-1], max_size)
        self.sources = {"content": {GIVEN: load_image(content, max_size=self.size_limit)},
                        "style": {GIVEN: load_image(style, max_size=self.size_limit)}}
        self.content = resize_to_max_size(self.sources["content"][GIVEN], max_size)
        self.style = resize_to_max_size(self.sources["style"][GIVEN], max_size)
        self.device = device_name()
        defaults = default_loss_weights(self.weights)
        self.base_style_weight = defaults["style_weight"]
        self.result = None  # the last StyleTransferResult
        self.image: np.ndarray | None = None  # the best image so far (what Save writes)
        self.history: list = []  # every run's history, steps continued across Continue
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._linking = self._updating = self._applying_preset = False
        self.monitor = _StudioMonitor(self, preview_seconds)
        # Drawing the loss plot costs ~0.1 s: at most once a second and under 2% of
        # the run, which leaves room for the preview in a 5% budget
        # (benchmarks/bench_studio.py measured 4.8% with 0.5 s and 3%).
        self.loss_plot = LossPlot(every_seconds=max(1.0, preview_seconds), max_overhead=0.02)
        self._build_image_controls(max_size)
        self._build_layer_controls()
        self._build_controls(defaults, output_path)

    # ----- widgets -----

    def _build_image_controls(self, max_size: int) -> None:
        self.pickers = {kind: widgets.Dropdown(options=[GIVEN] + sample_names(kind), value=GIVEN,
                                               description=kind) for kind in KINDS}
        self.uploads = {kind: widgets.FileUpload(accept="image/*", multiple=False,
                                                 description=f"Upload {kind}",
                                                 layout=widgets.Layout(width="auto"))
                        for kind in KINDS}
        self.thumbnails = {kind: widgets.Image(format="png", layout=picture_layout(
            THUMBNAIL_WIDTH)) for kind in KINDS}
        self.size = widgets.IntSlider(value=max_size, min=min(IMAGE_SIZES[0], max_size),
                                      max=self.size_limit, step=IMAGE_SIZES.step,
                                      description="image size", continuous_update=False,
                                      style={"description_width": "initial"})
        for kind in KINDS:
            self.pickers[kind].observe(lambda change, kind=kind: self._on_pick(kind, change),
                                       names="value")
            self.uploads[kind].observe(lambda change, kind=kind: self._on_upload(kind, change),
                                       names="value")
            self._show_thumbnail(kind)
        self.size.observe(self._on_size, names="value")

    def _build_layer_controls(self) -> None:
        self.style_layer_boxes = {
            name: widgets.Checkbox(value=name in DEFAULT_STYLE_LAYERS, description=name,
                                   indent=False, layout=widgets.Layout(width="auto"))
            for name in style_layer_candidates(self.weights)}
        candidates = content_layer_candidates(self.weights)
        default = DEFAULT_CONTENT_LAYERS[0]
        self.content_layer = widgets.Dropdown(
            options=candidates, value=default if default in candidates else candidates[-1],
            description="content layer", style={"description_width": "initial"})

    def _build_controls(self, defaults: dict, output_path: str) -> None:
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="warning",
                                          icon="stop", disabled=True)
        self.continue_button = widgets.Button(description="Continue", icon="forward")
        self.save_button = widgets.Button(description="Save", icon="save")
        self.path = widgets.Text(value=output_path, description="save to")
        self.optimizer = widgets.Dropdown(options=list(OPTIMIZER_DEFAULTS),
                                          value=DEFAULT_OPTIMIZER, description="optimizer")
        self.steps = widgets.IntSlider(value=OPTIMIZER_DEFAULTS[DEFAULT_OPTIMIZER]["num_steps"],
                                       min=1, max=2000, description="steps", continuous_update=False)
        self.strength = widgets.FloatLogSlider(value=1.0, base=10, min=-3, max=3, step=0.1,
                                               description="strength", continuous_update=False,
                                               readout_format=".3g")
        self.content_weight = widgets.FloatText(value=defaults["content_weight"],
                                                description="content w.")
        self.style_weight = widgets.FloatText(value=defaults["style_weight"],
                                              description="style w.")
        self.tv_weight = widgets.FloatText(value=defaults["tv_weight"], description="tv w.")
        self.preview = widgets.Image(value=image_to_jpeg_bytes(self.content), format="jpeg",
                                     layout=picture_layout(PREVIEW_WIDTH))
        self.status = widgets.HTML(value=f"Ready · {self.device} · weights {self.weights.source}")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress")
        self.run_button.on_click(lambda button: self._click(self.run))
        self.stop_button.on_click(lambda button: self.stop())
        self.continue_button.on_click(lambda button: self._click(self.continue_run))
        self.save_button.on_click(lambda button: self._click(self.save))
        self.optimizer.observe(self._on_optimizer, names="value")
        self.strength.observe(self._on_strength, names="value")
        self.preset = widgets.Dropdown(options=[CUSTOM, *presets.names()], value=CUSTOM,
                                       description="preset")
        self.preset.observe(self._on_preset, names="value")
        for control in (self.size, self.steps, self.optimizer, self.strength):
            control.observe(self._on_manual_change, names="value")
        self.style_weight.observe(self._on_style_weight, names="value")
        thumbnails = widgets.VBox([widgets.HTML("content"), self.thumbnails["content"],
                                   widgets.HTML("style"), self.thumbnails["style"]])
        self._widget = widgets.VBox([
            widgets.HBox([self.run_button, self.stop_button, self.continue_button]),
            widgets.HBox([self.pickers["content"], self.uploads["content"]]),
            widgets.HBox([self.pickers["style"], self.uploads["style"]]),
            widgets.HBox([self.preset, self.size]),
            widgets.HBox([self.steps, self.optimizer]),
            self.strength,
            widgets.HBox([self.content_weight, self.style_weight, self.tv_weight]),
            widgets.HBox([widgets.HTML("style layers:"), *self.style_layer_boxes.values()]),
            self.content_layer,
            widgets.HBox([thumbnails, self.preview]),
            self.status, self.progress,
            widgets.HBox([self.path, self.save_button]),
            self.loss_plot.widget,
        ])

    @property
    def widget(self) -> widgets.Widget:
        """The whole dashboard, to display."""
        return self._widget

    def _on_optimizer(self, change: dict) -> None:
        self.steps.value = OPTIMIZER_DEFAULTS[change["new"]]["num_steps"]

    def _on_strength(self, change: dict) -> None:
        if not self._linking:
            self._linking = True
            try:
                self.style_weight.value = presets.strength_to_weights(
                    change["new"], self.weights)["style_weight"]
            finally:
                self._linking = False

    def _on_style_weight(self, change: dict) -> None:
        if not self._linking and change["new"] > 0:
            self._linking = True
            try:
                self.strength.value = presets.weights_to_strength(change["new"], self.weights)
            finally:
                self._linking = False

    def apply_preset(self, name: str) -> None:
        """Sets the image size, optimizer, steps and strength of a preset (`nst.presets`).

        Raises:
            ValueError: If there is no preset called `name`.
        """
        preset = presets.get(name)
        self._applying_preset = True
        try:
            self.optimizer.value = preset.optimizer  # first: it resets the steps
            self.steps.value = preset.num_steps
            self.size.value = min(max(preset.image_size, self.size.min), self.size.max)
            self.strength.value = preset.strength
            self.preset.value = name
        finally:
            self._applying_preset = False

    def _on_preset(self, change: dict) -> None:
        if not self._applying_preset and change["new"] != CUSTOM:
            self.apply_preset(change["new"])

    def _on_manual_change(self, change: dict) -> None:
        if not self._applying_preset:
            self.preset.value = CUSTOM

    def _click(self, action) -> None:
        """Runs a button's action, showing a failure in the status line."""
        try:
            action()
        except (RuntimeError, ValueError, OSError) as error:
            self.status.value = _error_html(readable_error(error))

    # ----- images -----

    def load_images(self) -> None:
        """Sets `content` and `style` from the chosen sources at the chosen size."""
        for kind in KINDS:
            image = resize_to_max_size(self.sources[kind][self.pickers[kind].value],
                                       self.size.value)
            setattr(self, kind, image)  # self.content or self.style
            self._show_thumbnail(kind)
        if self.image is None:  # no result yet: the preview shows the content
            self.preview.value = image_to_jpeg_bytes(self.content)

    def add_upload(self, kind: str, file_name: str, content: bytes) -> bool:
        """Uses an uploaded file as the content or style image (and adds it to the picker).

        Args:
            kind: `"content"` or `"style"`.
            file_name: The file's name, shown in the picker as `"upload: <name>"`.
            content: The file's bytes (at most `MAX_UPLOAD_BYTES`).

        Returns:
            True if it is used; False if not (too large, not an image, a run
            going), with the reason in the status line.
        """
        problem = self._busy_problem() or upload_size_problem(file_name, len(content))
        if problem is None:
            try:
                image = load_image(content, max_size=self.size_limit)
            except LOAD_ERRORS as error:
                problem = f"Could not load {file_name}: {readable_error(error)}"
        if problem is not None:
            self.status.value = _error_html(problem)
            return False
        name = f"upload: {file_name}"
        self.sources[kind][name] = image
        picker = self.pickers[kind]
        self._updating = True
        try:
            if name not in picker.options:
                picker.options = [*picker.options, name]
            picker.value = name
        finally:
            self._updating = False
        self._use(kind, name)
        return True

    def _busy_problem(self) -> str | None:
        if self.running:
            return "Wait for the run to end (or press Stop) before changing the images."
        return None

    def _on_pick(self, kind: str, change: dict) -> None:
        """A picker changed: load the sample (once) and use it, or go back and say why."""
        if self._updating:
            return
        name, problem, notes = change["new"], self._busy_problem(), []
        if problem is None and name not in self.sources[kind]:
            try:
                with warnings.catch_warnings(record=True) as notes:
                    warnings.simplefilter("always", SampleFallbackWarning)
                    self.sources[kind][name] = sample_image(name, max_size=self.size_limit)
            except LOAD_ERRORS as error:
                problem = f"Could not load sample {name}: {readable_error(error)}"
        if problem is not None:
            self._updating = True
            try:
                self.pickers[kind].value = change["old"]
            finally:
                self._updating = False
            self.status.value = _error_html(problem)
            return
        self._use(kind, name, " ".join(str(note.message) for note in notes))

    def _use(self, kind: str, name: str, note: str = "") -> None:
        self.load_images()
        height, width = getattr(self, kind).shape[1:3]
        self.status.value = html.escape(f"{kind}: {name}, {height} × {width} px. {note}".strip())

    def _on_upload(self, kind: str, change: dict) -> None:
        try:
            files = uploaded_files(change["new"])
        except (KeyError, TypeError) as error:
            self.status.value = _error_html(f"Could not read the upload: {readable_error(error)}")
            return
        for file_name, content in files:
            self.add_upload(kind, file_name, content)

    def _on_size(self, change: dict) -> None:
        if not self.running:  # otherwise the next run loads them
            self.load_images()

    def _show_thumbnail(self, kind: str) -> None:
        image = getattr(self, kind)  # self.content or self.style
        self.thumbnails[kind].value = image_to_png_bytes(resize_to_max_size(image, 192))

    # ----- running -----

    @property
    def running(self) -> bool:
        """True while the background optimization runs."""
        return self._thread is not None and self._thread.is_alive()

    def settings(self) -> dict:
        """The options the next run passes to `nst.stylize`, read from the widgets."""
        for field in (self.content_weight, self.style_weight, self.tv_weight):
            if not field.value >= 0:
                raise ValueError(f"The loss weights must be >= 0; {field.description} is "
                                 f"{field.value}.")
        style_layers = [name for name, box in self.style_layer_boxes.items() if box.value]
        if not style_layers:
            raise ValueError("Check at least one style layer: the style loss compares the "
                             "Gram matrices of the checked layers.")
        return {"optimizer": self.optimizer.value, "num_steps": int(self.steps.value),
                "content_weight": float(self.content_weight.value),
                "style_weight": float(self.style_weight.value),
                "tv_weight": float(self.tv_weight.value),
                "content_layers": [self.content_layer.value], "style_layers": style_layers}

    def run(self, blocking: bool = False, init: Any = "content") -> None:
        """Starts an optimization in a background thread.

        Args:
            blocking: Wait until it ends.
            init: `"content"`, `"style"`, `"noise"` or an image to start from.

        Raises:
            RuntimeError: If a run is already going.
            ValueError: If a loss weight is negative or no style layer is checked.
        """
        if self.running:
            raise RuntimeError("A run is already going: press Stop (or call stop()) first.")
        settings = self.settings()
        self.load_images()  # at the chosen size, from the sources
        if isinstance(init, str):
            self.history = []  # a fresh start: forget earlier runs
        elif check_image(init, "init").shape != self.content.shape:  # the size changed
            init = resize_image(init, self.content.shape[1:3])
        self.loss_plot.earlier = list(self.history)
        self.error = None
        self._stop_event = threading.Event()
        self._set_running(True)
        self.status.value = f"Starting · {self.device} · {settings['optimizer']} ..."
        try:  # warns (MemoryBudgetWarning) when the estimated peak exceeds the profile's budget
            cost = warn_if_too_large(self.content.shape[1:3], self.weights.backbone,
                                     settings["optimizer"], settings["num_steps"],
                                     current_profile(announce=False).memory_budget_mb, stacklevel=3)
        except ValueError:  # a setting the measured table does not describe: no estimate
            cost = None
        if cost is not None and cost.warning:
            self.status.value += " " + html.escape(cost.warning)
        self._thread = threading.Thread(target=self._optimize, args=(settings, init),
                                        name="nst_teach-studio", daemon=True)
        self._thread.start()
        if blocking:
            self.wait()

    def continue_run(self, blocking: bool = False) -> None:
        """Runs again from the best image so far (from the content if there is none)."""
        self.run(blocking=blocking, init="content" if self.image is None else self.image)

    def stop(self) -> None:
        """Asks the run to end after the current step; the best image is kept."""
        self._stop_event.set()
        if self.running:
            self.status.value = "Stopping after this step ..."

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the run to end; returns True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def save(self, path: str | Path | None = None) -> Path:
        """Writes the best image (PNG or JPEG, by the extension) to `path` or the path field."""
        if self.image is None:
            raise ValueError("Nothing to save yet: press Run first.")
        written = save_image(self.image, path if path is not None else self.path.value)
        self.status.value = f"Saved {html.escape(str(written))}"
        return written

    def show_run(self, run: Run, image: np.ndarray) -> None:
        """Shows a step: the image in the preview, the progress and the status line."""
        self.preview.value = image_to_jpeg_bytes(image)
        self.progress.value = min(run.step, self.progress.max)
        total = run.latest.get("total", float("nan"))
        self.status.value = (f"step {run.step} / {run.num_steps} · {run.elapsed:.1f} s · "
                             f"{run.device} · total loss {total:.4g}")

    def _set_running(self, running: bool) -> None:
        self.run_button.disabled = self.continue_button.disabled = running
        self.save_button.disabled = running
        self.stop_button.disabled = not running
        for control in (*self.pickers.values(), *self.uploads.values(), self.size, self.preset,
                        *self.style_layer_boxes.values(), self.content_layer):
            control.disabled = running

    def _optimize(self, settings: dict, init: Any) -> None:
        """The background thread: one `stylize` call; errors go to the status line."""
        try:
            result = stylize(self.content, self.style, weights=self.weights, init=init,
                             callbacks=[self.monitor, self.loss_plot], progress=False,
                             stop_event=self._stop_event, verbose=False, **settings)
            self._finish(result)
        except Exception as error:  # noqa: BLE001 - shown to the student, not raised
            self.error = error
            self.status.value = _error_html(f"The run failed: {readable_error(error)}")
        finally:
            self._set_running(False)

    def _finish(self, result) -> None:
        self.result, self.image = result, result.image
        self.history = self.loss_plot.plotted_history()
        self.preview.value = image_to_jpeg_bytes(result.image)
        best = result.losses.get("total", float("nan"))
        elapsed = result.history[-1]["time"] if result.history else 0.0
        self.status.value = html.escape(
            f"{result.message} {elapsed:.1f} s on {result.device}; showing the best image "
            f"(step {result.best_step}, total loss {best:.4g}).")
