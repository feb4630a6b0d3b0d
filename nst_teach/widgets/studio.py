"""`Studio`: the whole style transfer as a dashboard (its logic is in `studio_logic`)."""

from __future__ import annotations

import html
import threading
import warnings
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np

from nst_teach import presets
from nst_teach.backbone_weights import load_weights
from nst_teach.callbacks import Run
from nst_teach.core.vgg import BackboneWeights
from nst_teach.estimate import MemoryBudgetWarning
from nst_teach.images import (
    image_to_jpeg_bytes,
    image_to_png_bytes,
    load_image,
    resize_to_max_size,
    save_image,
)
from nst_teach.optimize import device_name, stylize
from nst_teach.profiles import current_profile
from nst_teach.settings import (
    OPTIMIZER_DEFAULTS,
    default_loss_weights,
)
from nst_teach.widgets import studio_controls, studio_logic
from nst_teach.widgets.common import (
    CUSTOM,
    GIVEN,
    IMAGE_SIZES,
    LOAD_ERRORS,
    _Displayable,
    _error_html,
    readable_error,
)
from nst_teach.widgets.loss_plot import LossPlot
from nst_teach.widgets.studio_images import StudioImages
from nst_teach.widgets.studio_monitor import StudioMonitor, comparison_panel


class Studio(StudioImages, _Displayable):
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
    go to `stylize` too, and so do the controls of lessons 09 and 10: "start from"
    (`init`), the learning rate (Adam and SGD), pooling, style scale, colour
    preservation, and a second style with a mask preset (`mask_preset`, two
    complementary regions shown over the content in `mask_preview`).

    The filmstrip shows the image at six evenly spaced steps of each run;
    with "compare" ticked, the last run stays beside the new one with both
    settings listed (what differs in bold). Continue resumes the optimizer's
    state (Adam's moments, L-BFGS's memory: `stylize(resume=...)`) when only
    the steps or the start changed; otherwise it restarts from the best image
    and the status line says what changed (`continue_note`).

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
        self.monitor = StudioMonitor(self, preview_seconds)
        self.callbacks: list = []  # more callbacks for every run (e.g. an explorer's follow)
        self.continue_note = ""  # what the last Continue did with the optimizer's state
        self.step_offset = 0  # the steps of the runs a Continue goes on from
        self.last_run: dict | None = None  # the last run's description, image, state
        # The loss plot is drawn at most once a second and within 2% of the run,
        # which leaves room for the preview in a 5% budget (the overhead
        # benchmarks/bench_studio.py measures is in docs/benchmarks.md).
        self.loss_plot = LossPlot(every_seconds=max(1.0, preview_seconds), max_overhead=0.02)
        studio_controls.build_image_controls(self, max_size)
        studio_controls.build_layer_controls(self)
        studio_controls.build_more_controls(self)
        studio_controls.build_run_controls(self, defaults, output_path)

    # ----- widgets -----

    @property
    def widget(self) -> widgets.Widget:
        """The whole dashboard, to display."""
        return self._widget

    def _on_optimizer(self, change: dict) -> None:
        self.steps.value = OPTIMIZER_DEFAULTS[change["new"]]["num_steps"]
        self.learning_rate.value = OPTIMIZER_DEFAULTS[change["new"]]["learning_rate"]
        self.learning_rate.disabled = change["new"] == "lbfgs"  # its line search sets the step

    def _on_regions(self, change: dict | None = None) -> None:
        """The second style or its mask changed: show where each style goes."""
        two = self.second_style.value != studio_logic.NO_SECOND_STYLE
        if two and change is not None and change["owner"] is self.second_style:
            try:
                self.source("style", self.second_style.value)
            except LOAD_ERRORS as error:
                self.status.value = _error_html(f"Could not load sample {change['new']}: "
                                                f"{readable_error(error)}")
                self.second_style.value = studio_logic.NO_SECOND_STYLE
                return
        self.mask_preset.disabled = not two or self.running
        self.mask_preview.layout.display = None if two else "none"
        if two:
            first, _ = studio_logic.mask_pair(self.mask_preset.value, self.content.shape[1:3])
            self.mask_preview.value = image_to_png_bytes(resize_to_max_size(
                studio_logic.mask_picture(self.content, first), 192))

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
        values = studio_logic.preset_values(name, (self.size.min, self.size.max))
        self._applying_preset = True
        try:
            self.optimizer.value = values["optimizer"]  # first: it resets the steps
            self.steps.value = values["num_steps"]
            self.size.value = values["image_size"]
            self.strength.value = values["strength"]
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

    # ----- running -----

    @property
    def running(self) -> bool:
        """True while the background optimization runs."""
        return self._thread is not None and self._thread.is_alive()

    def settings(self) -> dict:
        """The options the next run passes to `nst.stylize`, read from the widgets."""
        fields = {"content_weight": self.content_weight, "style_weight": self.style_weight,
                  "tv_weight": self.tv_weight}
        return {**studio_logic.run_settings(
            self.optimizer.value, self.steps.value,
            {(field.description, keyword): field.value for keyword, field in fields.items()},
            self.content_layer.value,
            [name for name, box in self.style_layer_boxes.items() if box.value]),
            **studio_logic.control_settings(
                self.optimizer.value, self.learning_rate.value, self.pooling.value,
                self.style_scale.value, self.preserve_colors.value)}

    def describe(self, settings: dict) -> dict:
        """A run's settings with its images and size: what compare lists, Continue checks."""
        two = self.second_style.value != studio_logic.NO_SECOND_STYLE
        return {"content": self.pickers["content"].value, "style": self.pickers["style"].value,
                "second style": self.second_style.value,
                "regions": self.mask_preset.value if two else "-",
                "image size": self.size.value, "start": self.init.value, **settings}

    def styles_and_masks(self) -> tuple[Any, list | None]:
        """The style (or the two styles) and their masks (None for one style), at the size."""
        if self.second_style.value == studio_logic.NO_SECOND_STYLE:
            return self.style, None
        second = resize_to_max_size(self.source("style", self.second_style.value),
                                    self.size.value)
        return ([self.style, second],
                studio_logic.mask_pair(self.mask_preset.value, self.content.shape[1:3]))

    def run(self, blocking: bool = False, init: Any = None, resume: Any = None) -> None:
        """Starts an optimization in a background thread.

        Args:
            blocking: Wait until it ends.
            init: `"content"`, `"style"`, `"noise"` or an image to start from
                (None: the "start from" menu's choice). An image continues the
                history (the loss plot goes on); a name starts afresh.
            resume: An `OptimizerState` to go on from (what Continue passes).

        Raises:
            RuntimeError: If a run is already going.
            ValueError: If a loss weight or the learning rate is not valid, no
                style layer is checked, or a sample cannot be loaded.
        """
        if self.running:
            raise RuntimeError("A run is already going: press Stop (or call stop()) first.")
        settings = self.settings()
        self.load_images()  # at the chosen size, from the sources
        styles, style_masks = self.styles_and_masks()
        init = self.init.value if init is None else init
        if resume is None and isinstance(init, str):
            self.history = []  # a fresh start: forget earlier runs
        init = "content" if resume is not None else studio_logic.start_image(
            init, self.content.shape)
        self.loss_plot.earlier = list(self.history)
        self.step_offset = self.history[-1]["step"] if self.history else 0
        self.error = None
        self._stop_event = threading.Event()
        self._set_running(True)
        status, warning = studio_logic.start_status(
            self.device, settings["optimizer"], self.content.shape[1:3], self.weights.backbone,
            settings["num_steps"], current_profile(announce=False).memory_budget_mb)
        if warning is not None:
            warnings.warn(warning, MemoryBudgetWarning, stacklevel=2)
        self.status.value = html.escape(f"{status} {self.continue_note}".strip())
        options = {**settings, "init": init, "resume": resume, "style_masks": style_masks}
        self._thread = threading.Thread(
            target=self._optimize, args=(styles, options, self.describe(settings)),
            name="nst_teach-studio", daemon=True)
        self._thread.start()
        if blocking:
            self.wait()

    def continue_run(self, blocking: bool = False) -> None:
        """Goes on from the last run: with its optimizer's state when nothing changed,
        otherwise afresh from its best image; `continue_note` and the status say which."""
        if self.image is None or self.last_run is None:
            self.continue_note = ""
            self.run(blocking=blocking, init="content")
            return
        resume, self.continue_note = studio_logic.continue_plan(
            self.last_run["description"], self.describe(self.settings()), self.last_run["state"])
        self.run(blocking=blocking, init=self.image,
                 resume=self.last_run["state"] if resume else None)

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
        self.status.value = studio_logic.step_status(run)

    def _set_running(self, running: bool) -> None:
        self.run_button.disabled = self.continue_button.disabled = running
        self.save_button.disabled = running
        self.stop_button.disabled = not running
        for control in (*self.pickers.values(), *self.uploads.values(), self.size, self.preset,
                        self.second_style, self.mask_preset,
                        *self.style_layer_boxes.values(), self.content_layer):
            control.disabled = running
        self.mask_preset.disabled = running or (
            self.second_style.value == studio_logic.NO_SECOND_STYLE)

    def _optimize(self, styles: Any, options: dict, description: dict) -> None:
        """The background thread: one `stylize` call; errors go to the status line."""
        try:
            result = stylize(self.content, styles, weights=self.weights, progress=False,
                             callbacks=[self.monitor, self.loss_plot, *self.callbacks],
                             stop_event=self._stop_event, verbose=False, **options)
            self._finish(result, description)
        except Exception as error:  # noqa: BLE001 - shown to the student, not raised
            self.error = error
            self.status.value = _error_html(f"The run failed: {readable_error(error)}")
        finally:
            self._set_running(False)

    def _finish(self, result, description: dict) -> None:
        if self.compare.value and self.last_run is not None:
            self.comparison.children = comparison_panel(
                (self.last_run["image"], self.last_run["description"]),
                (result.image, description))
        else:
            self.comparison.children = ()
        self.last_run = {"description": description, "image": result.image,
                         "state": result.optimizer_state}
        self.continue_note = ""
        self.result, self.image = result, result.image
        self.history = self.loss_plot.plotted_history()
        self.preview.value = image_to_jpeg_bytes(result.image)
        self.status.value = html.escape(studio_logic.result_status(result))
