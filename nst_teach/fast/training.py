"""`train`: the network, its optimizer and checkpoints, and the shared run protocol."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from nst_teach import photos as photo_sources
from nst_teach.backbone_weights import resolve_weights
from nst_teach.callbacks import Callback, ProgressBar, Run, as_callbacks
from nst_teach.core.losses import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
)
from nst_teach.fast.checkpoints import TrainingState, checkpointed_state
from nst_teach.fast.defaults import TrainingSettings, default_settings
from nst_teach.fast.files import apply_network
from nst_teach.fast.loss import PerceptualLoss, _perceptual_loss
from nst_teach.images import check_image, load_image, resize_to_max_size
from nst_teach.optimize import device_name
from nst_teach.photos import photo_dataset, photo_files
from nst_teach.run import RunProtocol
from nst_teach.settings import LossSettings
from nst_teach.transformer import (
    architecture,
    build_transformer,
)

CONFIG_FILE = "transformer.json"
RESUMED_RISE = 1.5  # a resumed run diverged if its loss rose by this factor


@dataclasses.dataclass
class TrainingResult:
    """What `train` returns.

    Attributes:
        model: The trained transformer (a `keras.Model`).
        history: One dict per step: `step`, `time` (seconds since `train`
            started), `total`, `content`, `style`, `tv` and per-layer terms,
            each the batch's value (so the curve is noisy).
        previews: `(step, image)` pairs: the held-out photo stylized every
            `preview_every` steps (images float32 `(1, H, W, 3)`).
        preview_photo: The held-out photo, or None.
        status: `"completed"`, `"time budget"`, `"diverged"` (the loss did not go
            down: `training_divergence`), `"stopped"`, `"interrupted"`
            or `"not finite"`.
        message: A sentence on how the run ended.
        device: Where it ran, e.g. `"CPU"`, `"GPU:0"` or `"2 GPUs (MirroredStrategy)"`.
        settings: Every option, resolved.
        checkpoint: The last checkpoint's path, or None.
    """

    model: keras.Model
    history: list
    previews: list
    preview_photo: np.ndarray | None
    status: str
    message: str
    device: str
    settings: dict
    checkpoint: str | None = None

    @property
    def step(self) -> int:
        """Training steps done, counting those of resumed runs."""
        return self.history[-1]["step"] if self.history else self.settings.get("start_step", 0)

    def __repr__(self) -> str:
        last = self.history[-1]["total"] if self.history else float("nan")
        return (f"TrainingResult(step={self.step}, last_total={last:.4g}, "
                f"status={self.status!r}, device={self.device!r}, checkpoint={self.checkpoint!r})")


class Previews(Callback):
    """Keeps the held-out photo, stylized by the current network, every `every` steps."""

    def __init__(self, every: int = 50):
        super().__init__(every)
        self.images: list[tuple[int, np.ndarray]] = []

    def on_step(self, run: Run) -> None:
        self.images.append((run.step, run.image()))


def choose_strategy() -> tf.distribute.Strategy:
    """`MirroredStrategy` over every GPU when there are several, else the default strategy."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _describe_strategy(strategy: tf.distribute.Strategy) -> str:
    replicas = strategy.num_replicas_in_sync
    if replicas > 1:
        return f"{replicas} GPUs ({type(strategy).__name__})"
    return device_name()


def _as_style(style, size: int) -> np.ndarray:
    if isinstance(style, (str, os.PathLike, bytes)):
        from nst_teach.samples import sample_image, sample_names

        if isinstance(style, str) and style in sample_names():
            return sample_image(style, max_size=size)
        return load_image(style, max_size=size)
    return resize_to_max_size(check_image(style, "style"), size)


def _model_from_checkpoint_dir(folder: pathlib.Path) -> dict | None:
    config_path = folder / CONFIG_FILE
    if config_path.is_file():
        return json.loads(config_path.read_text())
    return None


def _split_preview(files: list, preview, photos) -> tuple[list, np.ndarray | None]:
    """The preview photo: with `preview="auto"`, a held-out photo for the offline set, else
    the last photo, held out of training (when there are several)."""
    if isinstance(preview, str) and preview == "auto":
        if isinstance(photos, str) and photos == "offline":
            return files, photo_sources.heldout_photo(photo_sources.heldout_names()[0])
        if len(files) < 2:
            return files, None
        return files[:-1], photo_sources.load_photo(files[-1], 256)
    if preview is None:
        return files, None
    if isinstance(preview, (str, os.PathLike)):
        return files, load_image(preview, max_size=256)
    return files, check_image(preview, "preview")


def train(style, photos: Any = "offline", *, model: keras.Model | None = None,
          weights: Any = "auto", backbone: str | None = None,
          content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
          style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
          content_weight: float | None = None, style_weight: float | None = None,
          tv_weight: float | None = None, pooling: str = "max", precision: str = "float32",
          num_steps: int | None = None, max_seconds: float | None = None,
          crop_size: int | None = None, batch_size: int | None = None,
          learning_rate: float | None = None, style_size: int | None = None,
          base_filters: int | None = None, num_residual_blocks: int | None = None,
          start_from_photo: bool = False, augment_colors: bool | None = None, preview: Any = "auto", preview_every: int = 50,
          checkpoint_dir: str | os.PathLike | None = None, checkpoint_every: int = 100,
          resume: bool = True, callbacks=None, progress: bool = True,
          stop_event: threading.Event | None = None, seed: int = 0,
          strategy: tf.distribute.Strategy | None = None, verbose: bool = True) -> TrainingResult:
    """Trains a transformer network to paint photos in the style of `style`.

    Args:
        style: The style image: float32 `(1, H, W, 3)` in [0, 1], a path, a URL
            or a sample name (resized so its longer side is `style_size`).
        photos: `"offline"` (works anywhere), a dataset name in `PHOTO_DATASETS`
            (downloaded on first use), a folder, or a list of files.
        model, base_filters, num_residual_blocks, start_from_photo: A network to train
            further, or a new one's (`build_transformer`; `checkpoint_dir`'s on resuming).
        weights, backbone, content_layers, style_layers, content_weight,
            style_weight, tv_weight, pooling, precision: The perceptual loss, as in
            `nst.stylize` (`LossSettings`; weights default to
            `training_loss_weights(weights)`, precision to float32).
        num_steps, max_seconds, crop_size, batch_size, learning_rate, style_size,
            preview_every, checkpoint_every: How training runs: see
            `TrainingSettings` (None: `default_settings()` for the device).
        augment_colors: Colour jitter on the crops (default: only offline).
        preview: `"auto"` stylizes a photo training never sees every
            `preview_every` steps (for `"offline"`, the first held-out photo;
            otherwise the last file, held out); or an image or path; or None.
        checkpoint_dir, resume: A folder for checkpoints (or None); resume from it.
        callbacks, progress, stop_event, verbose: As for `nst.stylize` (`run.image()`
            is the preview stylized; a Stop or Ctrl-C saves a checkpoint).
        seed, strategy: Seeds the network's initial weights and the data order;
            a `tf.distribute.Strategy` (None: `choose_strategy()`).

    Returns:
        A `TrainingResult` with `.model` and `.history`. Raises ValueError for
        bad options (the message says which and how to fix it).
    """
    started, defaults = time.perf_counter(), default_settings()
    options = TrainingSettings.with_defaults(
        defaults, num_steps=num_steps, max_seconds=max_seconds, crop_size=crop_size,
        batch_size=batch_size, learning_rate=learning_rate, style_size=style_size,
        preview_every=preview_every, checkpoint_every=checkpoint_every)
    loss_settings = LossSettings(content_layers, style_layers, content_weight, style_weight,
                                 tv_weight, pooling, precision=precision)
    network = {"base_filters": base_filters or defaults["base_filters"],
               "num_residual_blocks": num_residual_blocks or defaults["num_residual_blocks"],
               **({"start_from_photo": True} if start_from_photo else {})}
    return _train(style, photos, options, loss_settings, network, started, model=model,
                  weights=weights, backbone=backbone, augment_colors=augment_colors,
                  preview=preview, checkpoint_dir=checkpoint_dir, resume=resume,
                  callbacks=callbacks, progress=progress, stop_event=stop_event, seed=seed,
                  strategy=strategy, verbose=verbose)


def _train(style, photos, options: TrainingSettings, loss_settings: LossSettings, network: dict,
           started: float, *, model, weights, backbone, augment_colors, preview, checkpoint_dir,
           resume, callbacks, progress, stop_event, seed, strategy, verbose) -> TrainingResult:
    """`train` with its options checked: the data, the loss, the network, then the loop."""
    files, preview_photo = _split_preview(photo_files(photos, progress=progress), preview,
                                         photos)
    if augment_colors is None:
        augment_colors = isinstance(photos, str) and photos == "offline"
    backbone_weights = resolve_weights(backbone, weights, loss_settings.layers, seed, verbose)
    loss = _perceptual_loss(backbone_weights, _as_style(style, options.style_size),
                            loss_settings)
    strategy = strategy or choose_strategy()
    state = _training_state(model, strategy, checkpoint_dir, resume, options.learning_rate,
                            seed, network)
    settings = {**loss.settings(), **architecture(state.model), **dataclasses.asdict(options),
                "photos": str(photos) if not isinstance(photos, (list, tuple))
                else f"{len(photos)} files", "num_photos": len(files),
                "replicas": strategy.num_replicas_in_sync, "augment_colors": augment_colors,
                "seed": seed, "start_step": int(state.step.numpy()),
                "num_parameters": int(state.model.count_params())}
    batches = iter(strategy.experimental_distribute_dataset(photo_dataset(
        files, crop_size=options.crop_size,
        batch_size=options.batch_size * strategy.num_replicas_in_sync,
        augment_colors=augment_colors, seed=seed + settings["start_step"])))
    return _run_training(state, _train_step(loss, state, strategy), batches, options, settings,
                         preview_photo, _describe_strategy(strategy), started,
                         callbacks=callbacks, progress=progress, stop_event=stop_event,
                         verbose=verbose)


def _run_training(state: TrainingState, train_step, batches, options: TrainingSettings,
                  settings: dict, preview_photo: np.ndarray | None, device: str,
                  started: float, *, callbacks, progress: bool,
                  stop_event: threading.Event | None, verbose: bool,
                  make_preview=None, description: str = "train-fast") -> TrainingResult:
    """The training loop inside the shared run protocol; a checkpoint every so often.

    `make_preview` (no arguments, returns a picture) replaces applying the network to
    `preview_photo`, for models that need more than the photo (AdaIN's decoder).
    """
    preview_image = make_preview or ((lambda: apply_network(state.model, preview_photo))
                                     if preview_photo is not None else (lambda: None))
    run = Run(num_steps=options.num_steps or 0, device=device, settings=settings,
              get_image=preview_image, get_best_image=preview_image,
              stop_event=stop_event or threading.Event(), step=settings["start_step"])
    previews = Previews(options.preview_every) if preview_photo is not None else None
    callback_list = (as_callbacks(callbacks) + ([previews] if previews else []) + (
        [ProgressBar(description=description, terms=("total", "style"))] if progress else []))
    with RunProtocol(run, callback_list, verbose=verbose,
                     quiet_statuses=("completed", "time budget"),
                     cleanup=lambda: state.save(run, final=True)) as protocol:
        run.started = started  # the time budget counts the set-up too
        while _should_continue(protocol, options.num_steps, options.max_seconds):
            values = train_step(next(batches))
            run.step = int(state.step.numpy())
            if not protocol.record(values):
                break
            protocol.after_step()
            if run.step % options.checkpoint_every == 0:
                state.save(run)
    message = run.message
    if run.status in ("not finite", "interrupted", "stopped") and state.saved_path:
        message += (f" The last good checkpoint is {state.saved_path}: train again with the "
                    "same checkpoint_dir to go on from it.")
    return TrainingResult(model=state.model, history=run.history,
                          previews=previews.images if previews else [],
                          preview_photo=preview_photo, status=run.status, message=message,
                          device=run.device, settings=settings, checkpoint=state.saved_path)


def _training_state(model: keras.Model | None, strategy: tf.distribute.Strategy,
                    checkpoint_dir, resume: bool, learning_rate: float, seed: int,
                    architecture_options: dict) -> TrainingState:
    """Builds (or restores from `checkpoint_dir`) the network, optimizer and step counter."""
    folder = pathlib.Path(checkpoint_dir).expanduser() if checkpoint_dir is not None else None
    saved_architecture = _model_from_checkpoint_dir(folder) if folder and resume else None
    if model is None:
        with strategy.scope():
            keras.utils.set_random_seed(seed)
            model = build_transformer(**(saved_architecture or architecture_options))
    if saved_architecture is not None and saved_architecture != architecture(model):
        raise ValueError(f"{folder} holds checkpoints of a network {saved_architecture}, but "
                         f"the model is {architecture(model)}: use another checkpoint_dir or "
                         "resume=False.")
    return checkpointed_state(model, learning_rate, folder, resume, strategy,
                              (CONFIG_FILE, architecture(model)))


def _train_step(loss: PerceptualLoss, state: TrainingState, strategy: tf.distribute.Strategy):
    """One compiled training step over a distributed batch; returns the mean loss terms."""
    replicas = strategy.num_replicas_in_sync
    model, optimizer = state.model, state.optimizer

    @tf.function
    def train_step(distributed_batch):
        def replica_step(batch):
            with tf.GradientTape() as tape:
                terms = loss(batch, model(batch, training=True))
                scaled = terms["total"] / replicas
            gradients = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return terms

        terms = strategy.run(replica_step, args=(distributed_batch,))
        state.step.assign_add(1)
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                for name, value in terms.items()}

    return train_step


def _should_continue(protocol: RunProtocol, num_steps: int | None,
                     max_seconds: float | None) -> bool:
    """False, with the status set, once the steps or the time budget are used up or on Stop."""
    run = protocol.run
    steps_done = num_steps is not None and run.step >= num_steps
    time_done = max_seconds is not None and run.elapsed >= max_seconds
    resumed = run.settings.get("start_step", 0) > 0
    if (steps_done or time_done) and (diverged := training_divergence(run.history,
                                                                      resumed=resumed)):
        protocol.finish("diverged", diverged)
    elif steps_done:
        protocol.finish("completed", f"Completed {run.step} steps.")
    elif time_done:
        protocol.finish("time budget", f"Used the time budget ({max_seconds:g} s) at step "
                        f"{run.step}.")
    elif protocol.stop_requested():
        protocol.finish("stopped", f"Stopped at step {run.step}.")
    return run.status == "running"


def training_divergence(history: list[dict], window: int = 5,
                        resumed: bool = False) -> str | None:
    """Says the training loss did not go down, and what to do; None if it did (or too few steps).

    Each step's loss is on another batch of photos, so single steps are noisy: the median of
    the last `window` steps is compared with that of the first `window`. A run `resumed` from
    a checkpoint starts from a network that has learnt already: its loss may stay level (a
    plateau is not a failure), so it is flagged only if it rose by more than half.
    """
    totals = [record["total"] for record in history]
    if len(totals) < 4 * window:
        return None
    first, last = float(np.median(totals[:window])), float(np.median(totals[-window:]))
    if last < (RESUMED_RISE * first if resumed else first):
        return None
    return (f"The training loss did not go down in {len(totals)} steps (median {first:.4g} at "
            f"the start, {last:.4g} at the end): lower the learning rate (learning_rate=...) or "
            "the style weight, then train again.")
