"""`Studio`: the whole style transfer as a dashboard (its logic is in `studio_logic`)."""

from __future__ import annotations

import html
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np

from nst_teach import presets
from nst_teach.backbone_weights import load_weights
from nst_teach.callbacks import Callback, Run
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
from nst_teach.samples import KINDS, SampleFallbackWarning, sample_image
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
    uploaded_files,
)
from nst_teach.widgets.loss_plot import LossPlot


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
        # The loss plot is drawn at most once a second and within 2% of the run,
        # which leaves room for the preview in a 5% budget (the overhead
        # benchmarks/bench_studio.py measures is in docs/benchmarks.md).
        self.loss_plot = LossPlot(every_seconds=max(1.0, preview_seconds), max_overhead=0.02)
        studio_controls.build_image_controls(self, max_size)
        studio_controls.build_layer_controls(self)
        studio_controls.build_run_controls(self, defaults, output_path)

    # ----- widgets -----

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
        problem = studio_logic.upload_problem(self.running, file_name, len(content))
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

    def _on_pick(self, kind: str, change: dict) -> None:
        """A picker changed: load the sample (once) and use it, or go back and say why."""
        if self._updating:
            return
        name, notes = change["new"], []
        problem = studio_logic.BUSY if self.running else None
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
        self.status.value = html.escape(studio_logic.image_note(kind, name, getattr(self, kind),
                                                                note))

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
        fields = {"content_weight": self.content_weight, "style_weight": self.style_weight,
                  "tv_weight": self.tv_weight}
        return studio_logic.run_settings(
            self.optimizer.value, self.steps.value,
            {(field.description, keyword): field.value for keyword, field in fields.items()},
            self.content_layer.value,
            [name for name, box in self.style_layer_boxes.items() if box.value])

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
        init = studio_logic.start_image(init, self.content.shape)
        self.loss_plot.earlier = list(self.history)
        self.error = None
        self._stop_event = threading.Event()
        self._set_running(True)
        status, warning = studio_logic.start_status(
            self.device, settings["optimizer"], self.content.shape[1:3], self.weights.backbone,
            settings["num_steps"], current_profile(announce=False).memory_budget_mb)
        if warning is not None:
            warnings.warn(warning, MemoryBudgetWarning, stacklevel=2)
        self.status.value = html.escape(status)
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
        self.status.value = studio_logic.step_status(run)

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
        self.status.value = html.escape(studio_logic.result_status(result))
