"""Fast style transfer: train a network once, then stylize any photo in one pass.

Optimizing pixels (`nst_teach.stylize`) takes seconds to minutes per picture.
Johnson et al. (2016, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution") instead train a feed-forward network
(`nst_teach.transformer`) for ONE style on many photos, with the same
perceptual loss: the content term compares the network's output with the
photo it was given, the style term compares its Gram matrices with the style
image's, and total variation keeps it smooth. Once trained, the network
stylizes a photo in milliseconds.

    model = nst.fast.build_transformer()                 # or let train() build it
    result = nst.fast.train(style, photos="offline", max_seconds=180)
    picture = nst.fast.apply_network(result.model, photo)     # (1, H, W, 3) in [0, 1]
    nst.fast.save(result.model, "starry.keras"); model = nst.fast.load("starry.keras")

Training runs under a `tf.distribute` strategy: `MirroredStrategy` when
TensorFlow sees several GPUs, else the default strategy, with the same code
(`strategy.scope()`, `strategy.run`). It saves checkpoints
(`tf.train.CheckpointManager`) and resumes from them; a Stop
(`threading.Event`) or Ctrl-C ends it after the current step and saves one.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import threading
import time
from typing import Any, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from nst_teach import photos as photo_sources
from nst_teach.callbacks import Callback, ProgressBar, Run, as_callbacks
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
from nst_teach.images import check_image, load_image, resize_to_max_size
from nst_teach.losses import layer_weights
from nst_teach.optimize import device_name, resolve_weights
from nst_teach.photos import PHOTO_DATASETS, photo_dataset, photo_files
from nst_teach.run import RunProtocol
from nst_teach.settings import default_loss_weights
from nst_teach.transformer import (
    CPU_ARCHITECTURE,
    MIN_SIDE,
    PAPER_ARCHITECTURE,
    architecture,
    build_transformer,
)

__all__ = ["PHOTO_DATASETS", "PerceptualLoss", "Previews", "TrainingResult", "build_transformer",
           "apply_network", "default_settings", "load", "save", "train"]

# Defaults per device, measured with benchmarks/bench_fast.py (CPU) and chosen
# after Johnson et al. (GPU: 256 px crops, batch 4, the paper's network).
CPU_DEFAULTS = {**CPU_ARCHITECTURE, "crop_size": 128, "batch_size": 2, "num_steps": 400,
                "learning_rate": 1e-3, "style_size": 256}
GPU_DEFAULTS = {**PAPER_ARCHITECTURE, "crop_size": 256, "batch_size": 4, "num_steps": 4000,
                "learning_rate": 1e-3, "style_size": 256}
# Loss weights for training, per weights source (the photo is the content image).
TRAINING_LOSS_WEIGHTS = {
    "hed": {"content_weight": 1e4, "style_weight": 1.0, "tv_weight": 1.0},
}
CONFIG_FILE = "transformer.json"


def default_settings(device: str | None = None) -> dict:
    """The training defaults for a device: network width, crops, batch, steps.

    Args:
        device: `"CPU"` or a GPU name; None uses `nst.device_name()`.

    Returns:
        A copy of `CPU_DEFAULTS` or `GPU_DEFAULTS`.
    """
    device = device_name() if device is None else device
    return dict(GPU_DEFAULTS if device.startswith("GPU") else CPU_DEFAULTS)


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
        weights: The backbone's `BackboneWeights`.
        style_image: float32 `(1, H_s, W_s, 3)` in [0, 1].
        content_layers: Layer names (equal weights) or name to weight.
        style_layers: Layer names (equal weights) or name to weight.
        content_weight, style_weight, tv_weight: Multiply the terms.
        pooling: `"max"` or `"average"`.
    """

    def __init__(self, weights, style_image, *,
                 content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
                 style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
                 content_weight: float = 1e4, style_weight: float = 1.0, tv_weight: float = 1.0,
                 pooling: str = "max"):
        self.content_layers = layer_weights(content_layers)
        self.style_layers = layer_weights(style_layers)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        layers = list(dict.fromkeys([*self.content_layers, *self.style_layers]))
        self.extractor = FeatureExtractor(weights, layers, pooling=pooling)
        self.style_image = check_image(style_image, "style")
        style_features = self.extractor(self.style_image)
        self.style_targets = {name: gram_matrix(style_features[name])
                              for name in self.style_layers}

    def settings(self) -> dict:
        """The loss's options, for records."""
        return {"backbone": self.extractor.backbone, "weights": self.extractor.source,
                "pooling": self.extractor.pooling, "content_layers": dict(self.content_layers),
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
        status: `"completed"`, `"time budget"`, `"stopped"`, `"interrupted"`
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


def _positive_int(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    return int(value)


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


def _split_preview(files: list, preview) -> tuple[list, np.ndarray | None]:
    """Holds out the last photo as the preview when `preview="auto"` and there are several."""
    if isinstance(preview, str) and preview == "auto":
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
          tv_weight: float | None = None, pooling: str = "max",
          num_steps: int | None = None, max_seconds: float | None = None,
          crop_size: int | None = None, batch_size: int | None = None,
          learning_rate: float | None = None, style_size: int | None = None,
          base_filters: int | None = None, num_residual_blocks: int | None = None,
          augment_colors: bool | None = None, preview: Any = "auto", preview_every: int = 50,
          checkpoint_dir: str | os.PathLike | None = None, checkpoint_every: int = 100,
          resume: bool = True, callbacks=None, progress: bool = True,
          stop_event: threading.Event | None = None, seed: int = 0,
          strategy: tf.distribute.Strategy | None = None,
          verbose: bool = True) -> TrainingResult:
    """Trains a transformer network to paint photos in the style of `style`.

    Every option left as None takes its value from `default_settings()` (a
    small network, 128 px crops and batches of 2 on a CPU; the paper's
    network, 256 px crops and batches of 4 on a GPU) or, for loss weights,
    from `training_loss_weights(weights)`.

    Args:
        style: The style image: float32 `(1, H, W, 3)` in [0, 1], a path, a
            URL or a sample name. Resized so its longer side is `style_size`.
        photos: `"offline"` (works anywhere), a dataset name in
            `PHOTO_DATASETS` (downloaded on first use), a folder, or a list of
            files. See `nst_teach.photos`.
        model: A transformer to train further; None builds one (or rebuilds the
            one described in `checkpoint_dir`).
        weights, backbone, content_layers, style_layers, pooling: The
            perceptual loss's network, as in `nst.stylize`.
        content_weight, style_weight, tv_weight: Loss weights.
        num_steps: Total steps to reach, counting resumed ones.
        max_seconds: Time budget in seconds for this call (setup included);
            training stops after the step that reaches it. With only
            `max_seconds`, there is no step limit.
        crop_size: Side of the square training crops in pixels.
        batch_size: Crops per step per device.
        learning_rate: Adam's learning rate.
        style_size: Longer side of the style image in pixels.
        base_filters, num_residual_blocks: The network's width and depth
            (see `build_transformer`); ignored when `model` is given.
        augment_colors: Colour jitter on the crops (default: only offline).
        preview: `"auto"` holds out the last photo and stylizes it every
            `preview_every` steps; or an image or path; or None.
        preview_every: Steps between previews.
        checkpoint_dir: Folder for checkpoints; None keeps none.
        checkpoint_every: Steps between checkpoints (one is also saved at the end).
        resume: Continue from the latest checkpoint in `checkpoint_dir`.
        callbacks: Functions `f(run)` or `Callback` objects; `run.image()` is
            the preview photo stylized by the current network.
        progress: Show a progress bar.
        stop_event: A `threading.Event`; setting it ends training after the
            current step (a checkpoint is saved).
        seed: Seed of the network's initial weights (through
            `keras.utils.set_random_seed`, which seeds Python, NumPy and TensorFlow)
            and of the data order.
        strategy: A `tf.distribute.Strategy`; None chooses (see `choose_strategy`).
        verbose: Print which weights were chosen and how the run ended.

    Returns:
        A `TrainingResult` with `.model` and `.history`.

    Raises:
        ValueError: For bad options (the message says which and how to fix it).
    """
    started = time.perf_counter()
    defaults = default_settings()
    num_steps = _positive_int(num_steps, "num_steps", allow_none=True)
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be a number > 0, got {max_seconds!r}.")
    if num_steps is None and max_seconds is None:
        num_steps = defaults["num_steps"]
    crop_size = _positive_int(crop_size or defaults["crop_size"], "crop_size")
    if crop_size < MIN_SIDE:
        raise ValueError(f"crop_size must be at least {MIN_SIDE} px, got {crop_size}.")
    batch_size = _positive_int(batch_size or defaults["batch_size"], "batch_size")
    style_size = _positive_int(style_size or defaults["style_size"], "style_size")
    preview_every = _positive_int(preview_every, "preview_every")
    checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every")
    learning_rate = defaults["learning_rate"] if learning_rate is None else float(learning_rate)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, such as 1e-3, got {learning_rate}.")

    files = photo_files(photos, progress=progress)
    files, preview_photo = _split_preview(files, preview)
    if augment_colors is None:
        augment_colors = isinstance(photos, str) and photos == "offline"
    backbone_weights = resolve_weights(backbone, weights, [*content_layers, *style_layers],
                                       seed, verbose)
    loss_weights = training_loss_weights(backbone_weights)
    loss = PerceptualLoss(
        backbone_weights, _as_style(style, style_size), content_layers=content_layers,
        style_layers=style_layers, pooling=pooling,
        content_weight=loss_weights["content_weight"] if content_weight is None else content_weight,
        style_weight=loss_weights["style_weight"] if style_weight is None else style_weight,
        tv_weight=loss_weights["tv_weight"] if tv_weight is None else tv_weight)

    folder = pathlib.Path(checkpoint_dir).expanduser() if checkpoint_dir is not None else None
    saved_architecture = _model_from_checkpoint_dir(folder) if folder and resume else None
    if model is None:
        model_options = saved_architecture or {
            "base_filters": base_filters or defaults["base_filters"],
            "num_residual_blocks": num_residual_blocks or defaults["num_residual_blocks"]}
    strategy = strategy or choose_strategy()
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        if model is None:
            keras.utils.set_random_seed(seed)
            model = build_transformer(**model_options)
        optimizer = keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
        step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step_counter)
    manager = None
    if folder is not None:
        if saved_architecture is not None and saved_architecture != architecture(model):
            raise ValueError(f"{folder} holds checkpoints of a network {saved_architecture}, but "
                             f"the model is {architecture(model)}: use another checkpoint_dir or "
                             "resume=False.")
        folder.mkdir(parents=True, exist_ok=True)
        manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=3)
        if resume and manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        (folder / CONFIG_FILE).write_text(json.dumps(architecture(model)))
    start_step = int(step_counter.numpy())

    dataset = photo_dataset(files, crop_size=crop_size, batch_size=batch_size * replicas,
                            augment_colors=augment_colors, seed=seed + start_step)
    batches = iter(strategy.experimental_distribute_dataset(dataset))

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
        step_counter.assign_add(1)
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                for name, value in terms.items()}

    settings = {**loss.settings(), **architecture(model), "photos": str(photos)
                if not isinstance(photos, (list, tuple)) else f"{len(photos)} files",
                "num_photos": len(files), "crop_size": crop_size, "batch_size": batch_size,
                "replicas": replicas, "learning_rate": learning_rate, "num_steps": num_steps,
                "max_seconds": max_seconds, "augment_colors": augment_colors, "seed": seed,
                "start_step": start_step, "num_parameters": int(model.count_params())}
    stylize_preview = (lambda: apply_network(model, preview_photo)) if preview_photo is not None else \
        (lambda: None)
    run = Run(num_steps=num_steps or 0, device=_describe_strategy(strategy), settings=settings,
              get_image=stylize_preview, get_best_image=stylize_preview,
              stop_event=stop_event or threading.Event())
    run.step = start_step
    previews = Previews(preview_every) if preview_photo is not None else None
    callback_list = (as_callbacks(callbacks) + ([previews] if previews else [])
                     + ([ProgressBar(description="train-fast", terms=("total", "style"))] if progress else []))
    saved = {"path": manager.latest_checkpoint if manager else None}

    def save_checkpoint(final: bool = False):
        if final and run.status == "not finite":  # keep the last finite checkpoint
            return
        if manager is not None and (saved["path"] is None or
                                    not saved["path"].endswith(f"-{run.step}")):
            saved["path"] = manager.save(checkpoint_number=run.step)

    protocol = RunProtocol(run, callback_list, verbose=verbose,
                           quiet_statuses=("completed", "time budget"),
                           cleanup=functools.partial(save_checkpoint, final=True))
    with protocol:
        run.started = started  # the time budget counts the set-up too
        while _should_continue(protocol, num_steps, max_seconds):
            values = train_step(next(batches))
            run.step = int(step_counter.numpy())
            if not protocol.record(values):
                break
            protocol.after_step()
            if run.step % checkpoint_every == 0:
                save_checkpoint()
    return TrainingResult(model=model, history=run.history,
                          previews=previews.images if previews else [],
                          preview_photo=preview_photo, status=run.status, message=run.message,
                          device=run.device, settings=settings, checkpoint=saved["path"])


def _should_continue(protocol: RunProtocol, num_steps: int | None,
                     max_seconds: float | None) -> bool:
    """False, with the status set, once the steps or the time budget are used up or on Stop."""
    run = protocol.run
    if num_steps is not None and run.step >= num_steps:
        protocol.finish("completed", f"Completed {run.step} steps.")
    elif max_seconds is not None and run.elapsed >= max_seconds:
        protocol.finish("time budget", f"Used the time budget ({max_seconds:g} s) at step "
                        f"{run.step}.")
    elif protocol.stop_requested():
        protocol.finish("stopped", f"Stopped at step {run.step}.")
    return run.status == "running"


def _check_batch(images, name: str = "images") -> np.ndarray:
    """Checks a batch `(N, H, W, 3)` float in [0, 1] (`check_image` on the stacked rows)."""
    array = np.asarray(images)
    if array.ndim == 3:
        raise ValueError(f"{name}: expected shape (N, height, width, 3), got {array.shape}; "
                         f"add a batch axis with {name}[None].")
    if array.ndim != 4 or array.shape[0] == 0:
        raise ValueError(f"{name}: expected shape (N, height, width, 3) with N >= 1, got "
                         f"{array.shape}.")
    number, height, width = array.shape[:3]
    flat = check_image(array.reshape(1, number * height, width, array.shape[-1]), name)
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"{name}: {height}x{width} px is too small; the network needs at least "
                         f"{MIN_SIDE} px on each side (resize_image can enlarge it).")
    return flat.reshape(array.shape)


def apply_network(model: keras.Model, images, batch_size: int = 8) -> np.ndarray | list:
    """Stylizes photos in one pass through a trained transformer.

    Args:
        model: A transformer from `train`, `build_transformer` or `load`.
        images: float32 `(1, H, W, 3)` or a batch `(N, H, W, 3)` in [0, 1]
            (any `H, W >= 16`), or a list of such arrays of different sizes.
        batch_size: Images per call to the network (limits memory).

    Returns:
        float32 in [0, 1] of the input's shape (a list for a list).

    Raises:
        ValueError: If an image breaks the contract or is smaller than 16 px.
    """
    if isinstance(images, (list, tuple)):
        return [apply_network(model, image, batch_size) for image in images]
    batch = _check_batch(images)
    batch_size = _positive_int(batch_size, "batch_size")
    outputs = [np.asarray(_forward(model, tf.constant(batch[start:start + batch_size])))
               for start in range(0, len(batch), batch_size)]
    return np.clip(np.concatenate(outputs), 0.0, 1.0).astype(np.float32)


def _forward(model: keras.Model, batch: tf.Tensor) -> tf.Tensor:
    """Runs the network in inference mode, as one compiled graph per model."""
    function = getattr(model, "_nst_forward", None)
    if function is None:
        function = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        model._nst_forward = function
    return function(batch)


def save(model: keras.Model, path: str | os.PathLike) -> pathlib.Path:
    """Saves a transformer as a `.keras` file (architecture and weights).

    Raises:
        ValueError: If the file name does not end in `.keras`.
    """
    path = pathlib.Path(path).expanduser()
    if path.suffix != ".keras":
        raise ValueError(f"Save the model as a .keras file, such as {path.with_suffix('.keras')}, "
                         f"not {path.name}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def load(path: str | os.PathLike) -> keras.Model:
    """Loads a transformer saved by `save` (its custom layers are registered on import).

    Raises:
        ValueError: If the file does not exist or is not a `.keras` file.
    """
    path = pathlib.Path(path).expanduser()
    if path.suffix != ".keras":
        raise ValueError(f"{path.name} is not a .keras file: give the file `save` wrote.")
    if not path.is_file():
        raise ValueError(f"Model file {path} does not exist: train one with "
                         "nst.fast.train(...) and nst.fast.save(...), or "
                         "'python -m nst_teach train-fast'.")
    return keras.saving.load_model(path, compile=False)
