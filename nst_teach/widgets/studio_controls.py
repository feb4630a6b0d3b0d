"""The Studio's widgets: built here, wired to the `Studio` methods they call.

Each function takes the `Studio` (`self`) and sets its widget attributes; the
layout of the dashboard is at the end of `build_run_controls`.
"""

from __future__ import annotations

import ipywidgets as widgets

from nst_teach import presets
from nst_teach.core.losses import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS
from nst_teach.images import image_to_jpeg_bytes
from nst_teach.samples import KINDS, sample_names
from nst_teach.settings import DEFAULT_OPTIMIZER, OPTIMIZER_DEFAULTS
from nst_teach.widgets.common import (
    CUSTOM,
    GIVEN,
    IMAGE_SIZES,
    PREVIEW_WIDTH,
    THUMBNAIL_WIDTH,
    content_layer_candidates,
    picture_layout,
    style_layer_candidates,
)
from nst_teach.widgets.studio_logic import COLOR_OPTIONS, MASK_PRESETS, NO_SECOND_STYLE


def build_image_controls(self, max_size: int) -> None:
    """The pickers, uploads, thumbnails and the image-size slider."""
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


def build_layer_controls(self) -> None:
    """A checkbox per style layer candidate and the content-layer menu."""
    self.style_layer_boxes = {
        name: widgets.Checkbox(value=name in DEFAULT_STYLE_LAYERS, description=name,
                               indent=False, layout=widgets.Layout(width="auto"))
        for name in style_layer_candidates(self.weights)}
    candidates = content_layer_candidates(self.weights)
    default = DEFAULT_CONTENT_LAYERS[0]
    self.content_layer = widgets.Dropdown(
        options=candidates, value=default if default in candidates else candidates[-1],
        description="content layer", style={"description_width": "initial"})


def build_run_controls(self, defaults: dict, output_path: str) -> None:
    """Buttons, optimizer, steps, strength, loss weights, preview, status and the layout."""
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
        more_controls_box(self),
        widgets.HBox([self.content_weight, self.style_weight, self.tv_weight]),
        widgets.HBox([widgets.HTML("style layers:"), *self.style_layer_boxes.values()]),
        self.content_layer,
        widgets.HBox([thumbnails, self.preview]),
        self.status, self.progress,
        widgets.HBox([widgets.HTML("filmstrip:"), self.filmstrip]),
        self.compare, self.comparison,
        widgets.HBox([self.path, self.save_button]),
        self.loss_plot.widget,
    ])


def build_more_controls(self) -> None:
    """Init, learning rate, pooling, style scale, colours, a second style and its mask."""
    wide = {"style": {"description_width": "initial"}}
    self.init = widgets.Dropdown(options=["content", "style", "noise"], value="content",
                                 description="start from", **wide)
    self.learning_rate = widgets.FloatText(
        value=OPTIMIZER_DEFAULTS[DEFAULT_OPTIMIZER]["learning_rate"], description="learning rate",
        disabled=DEFAULT_OPTIMIZER == "lbfgs", **wide)
    self.pooling = widgets.Dropdown(options=["max", "average"], value="max",
                                    description="pooling")
    self.style_scale = widgets.FloatSlider(value=1.0, min=0.25, max=2.0, step=0.05,
                                           description="style scale", continuous_update=False,
                                           **wide)
    self.preserve_colors = widgets.Dropdown(options=list(COLOR_OPTIONS), value="off",
                                            description="keep colours", **wide)
    self.second_style = widgets.Dropdown(options=[NO_SECOND_STYLE, GIVEN, *sample_names("style")],
                                         value=NO_SECOND_STYLE, description="second style", **wide)
    self.mask_preset = widgets.Dropdown(options=list(MASK_PRESETS), value="left | right",
                                        description="regions", disabled=True)
    self.mask_preview = widgets.Image(format="png", layout=picture_layout(THUMBNAIL_WIDTH))
    self.mask_preview.layout.display = "none"
    self.compare = widgets.Checkbox(value=False, description="compare with the last run",
                                    indent=False)
    self.filmstrip = widgets.HBox([])
    self.comparison = widgets.HBox([])
    self.second_style.observe(self._on_regions, names="value")
    self.mask_preset.observe(self._on_regions, names="value")


def more_controls_box(self) -> widgets.Widget:
    """The layout of `build_more_controls`' widgets."""
    return widgets.VBox([
        widgets.HBox([self.init, self.learning_rate, self.pooling]),
        widgets.HBox([self.style_scale, self.preserve_colors]),
        widgets.HBox([self.second_style, self.mask_preset, self.mask_preview]),
    ])
