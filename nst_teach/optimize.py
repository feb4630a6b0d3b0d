"""Gradient descent on the pixels: the style-transfer loop.

The image itself is the variable. Each step computes every loss term and the
gradient of the total with `tf.GradientTape`, lets an optimizer move the
pixels, and keeps them in [0, 1]. `stylize` wraps the loop with everything a
student or an instructor needs around it: defaults that work, a progress bar,
callbacks for widgets, a Stop that keeps the best image, and a clear message
when the loss blows up.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from nst_teach.callbacks import ProgressBar, Run, as_callbacks
from nst_teach.features import BackboneWeights, layer_names, load_weights
from nst_teach.images import check_image, load_image, resize_image
from nst_teach.lbfgs import LBFGS
from nst_teach.losses import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, StyleTransferLoss

# Loss weights that give a clearly stylized picture, per weights source.
# ImageNet: the TensorFlow tutorial's. hed: its activations are scaled
# differently, and the tutorial's weights only blur the image.
LOSS_WEIGHTS = {
    "imagenet": {"content_weight": 1e4, "style_weight": 1e-2, "tv_weight": 30.0},
    "hed": {"content_weight": 1e4, "style_weight": 1.0, "tv_weight": 1.0},
}
# Learning rate and number of steps. Plain SGD's good rate depends on the image
# size (Gram matrices are averaged over H * W, so gradients per pixel grow as
# the image shrinks): 1e-5 suits 256 px; at 32 px it diverges (lesson 06).
OPTIMIZER_DEFAULTS = {
    "lbfgs": {"learning_rate": 1.0, "num_steps": 100},
    "adam": {"learning_rate": 0.02, "num_steps": 500},
    "sgd": {"learning_rate": 1e-5, "num_steps": 500},
}


@dataclasses.dataclass
class StyleTransferResult:
    """What `stylize` returns.

    Attributes:
        image: The best image found, float32 `(1, H, W, 3)` in [0, 1].
        history: One dict per step (step 0 is the initial image) with `step`,
            `time` (seconds since the loop started, tracing included), `size`
            (`(H, W)`), `total`, `content`, `style`, `tv`, and the per-layer
            terms `content/<layer>` and `style/<layer>`.
        status: `"completed"`, `"stopped"`, `"interrupted"` or `"not finite"`.
        message: A sentence on how the run ended.
        device: Where it ran, e.g. `"CPU"` or `"GPU:0"`.
        settings: Every option, resolved (weights source, layers, ...).
        best_step: The step whose image is `image`.
    """

    image: np.ndarray
    history: list
    status: str
    message: str
    device: str
    settings: dict
    best_step: int

    @property
    def losses(self) -> dict:
        """The loss terms of `image` (empty if no step was evaluated)."""
        return self.history[self.best_step] if self.history else {}

    def __repr__(self) -> str:
        return (f"StyleTransferResult(image={self.image.shape}, steps={len(self.history) - 1}, "
                f"best_step={self.best_step}, total={self.losses.get('total', float('nan')):.4g}, "
                f"status={self.status!r}, device={self.device!r})")


def default_loss_weights(weights: BackboneWeights | str) -> dict[str, float]:
    """The loss weights `stylize` uses by default for these backbone weights.

    Args:
        weights: A `BackboneWeights`, or its source (`"imagenet"`, `"hed"`, ...).

    Returns:
        `{"content_weight": ..., "style_weight": ..., "tv_weight": ...}`: the
        TensorFlow tutorial's for ImageNet (and for random or file weights),
        `LOSS_WEIGHTS["hed"]` for hed.
    """
    source = weights.source if isinstance(weights, BackboneWeights) else weights
    return dict(LOSS_WEIGHTS.get(source, LOSS_WEIGHTS["imagenet"]))


def device_name() -> str:
    """Returns `"GPU:0"` when TensorFlow sees a GPU, else `"CPU"`."""
    return "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU"


# The TensorFlow tutorial's Adam: `Adam(**TUTORIAL_ADAM)` or
# `stylize(..., optimizer="adam", optimizer_options=TUTORIAL_ADAM)`.
TUTORIAL_ADAM = {"learning_rate": 0.02, "beta_1": 0.99, "beta_2": 0.999, "epsilon": 0.1}


class Adam:
    """Adam, written out as Keras implements it (the TensorFlow tutorial's optimizer).

    `m` and `v` are running means of the gradient and its square; the step is
    `learning_rate * m_hat / (sqrt(v_hat) + epsilon)` with bias corrections
    (Keras' form: epsilon is added to `sqrt(v)` before the correction).

    The defaults differ from the tutorial's `TUTORIAL_ADAM` in `beta_1` and
    `beta_2` only: on tubingen x starry_night at 256 px (hed weights) they
    reach the loss of the tutorial's 300 steps in about 85 steps.
    """

    def __init__(self, learning_rate: float = 0.02, beta_1: float = 0.9,
                 beta_2: float = 0.99, epsilon: float = 0.1):
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        self.epsilon = epsilon
        self.m = self.v = None
        self.iterations = 0

    def step(self, variable: tf.Variable, evaluate, losses: dict, gradient: tf.Tensor):
        """Moves `variable` once along `gradient`, clips it, and evaluates there."""
        if self.m is None:
            self.m, self.v = tf.zeros_like(gradient), tf.zeros_like(gradient)
        self.iterations += 1
        self.m = self.m + (gradient - self.m) * (1 - self.beta_1)
        self.v = self.v + (tf.square(gradient) - self.v) * (1 - self.beta_2)
        scale = (self.learning_rate * np.sqrt(1 - self.beta_2 ** self.iterations)
                 / (1 - self.beta_1 ** self.iterations))
        update = scale * self.m / (tf.sqrt(self.v) + self.epsilon)
        variable.assign(tf.clip_by_value(variable - update, 0.0, 1.0))
        return evaluate()


class SGD:
    """Plain gradient descent with optional momentum: `x -= lr * velocity`."""

    def __init__(self, learning_rate: float = 1e-5, momentum: float = 0.0):
        self.learning_rate, self.momentum = learning_rate, momentum
        self.velocity = None

    def step(self, variable: tf.Variable, evaluate, losses: dict, gradient: tf.Tensor):
        """Moves `variable` once along `gradient`, clips it, and evaluates there."""
        self.velocity = gradient if self.velocity is None else (
            self.momentum * self.velocity + gradient)
        variable.assign(tf.clip_by_value(variable - self.learning_rate * self.velocity, 0.0, 1.0))
        return evaluate()


def make_optimizer(name: str, learning_rate: float | None = None, **options):
    """Creates `"lbfgs"`, `"adam"` or `"sgd"`; every one has `step(...)`.

    Args:
        name: The optimizer's name.
        learning_rate: Step size (L-BFGS ignores it: its line search sets it).
        **options: Passed on, e.g. `memory=20` for L-BFGS, `beta_1` for Adam.
    """
    if name not in OPTIMIZER_DEFAULTS:
        raise ValueError(f"Unknown optimizer {name!r}: use 'lbfgs', 'adam' or 'sgd'.")
    if learning_rate is None:
        learning_rate = OPTIMIZER_DEFAULTS[name]["learning_rate"]
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}.")
    if name == "lbfgs":
        return LBFGS(**options)
    return (Adam if name == "adam" else SGD)(learning_rate=learning_rate, **options)


def initial_image(init, content: np.ndarray, style: np.ndarray, seed: int) -> np.ndarray:
    """The starting image: `"content"`, `"style"` (resized), `"noise"` or an image."""
    height, width = content.shape[1:3]
    if isinstance(init, str):
        if init == "content":
            return content.copy()
        if init == "style":
            return resize_image(style, (height, width))
        if init == "noise":
            rng = np.random.default_rng(seed)
            return rng.uniform(0.0, 1.0, content.shape).astype(np.float32)
        raise ValueError(f"Unknown init {init!r}: use 'content', 'style', 'noise' or an image.")
    image = check_image(init, "init")
    if image.shape != content.shape:
        raise ValueError(f"The init image has shape {image.shape} but the content image has "
                         f"{content.shape}; they must match (resize_image can help).")
    return image


def _as_image(source, name: str) -> np.ndarray:
    if isinstance(source, (str, os.PathLike, bytes)):
        return load_image(source)
    return check_image(source, name)


def resolve_weights(backbone, weights, layers: Sequence[str], seed: int = 0,
                    verbose: bool = True) -> BackboneWeights:
    """Returns `weights` if already loaded, else loads what `layers` need."""
    if isinstance(weights, BackboneWeights):
        if backbone not in (None, weights.backbone):
            raise ValueError(f"backbone={backbone!r} but the weights are {weights.backbone}.")
        return weights
    # Load only up to the deepest layer. Without a backbone, vgg16's names are used:
    # each is also a vgg19 name; a vgg19-only layer (block3_conv4) means "load all".
    order = layer_names(backbone or "vgg16")
    known = [name for name in layers if name in order]
    up_to = max(known, key=order.index) if len(known) == len(layers) else None
    return load_weights(backbone, weights, up_to=up_to, seed=seed, verbose=verbose)


def build_loss(content, style, *, backbone=None, weights="auto",
               content_layers=DEFAULT_CONTENT_LAYERS, style_layers=DEFAULT_STYLE_LAYERS,
               content_weight=None, style_weight=None, tv_weight=None, pooling="max",
               seed=0, verbose=True) -> StyleTransferLoss:
    """Resolves every option and builds the objective `stylize` minimizes."""
    layers = [*content_layers, *style_layers]
    backbone_weights = resolve_weights(backbone, weights, layers, seed, verbose)
    defaults = default_loss_weights(backbone_weights)
    return StyleTransferLoss(
        backbone_weights, _as_image(content, "content"), _as_image(style, "style"),
        content_layers=content_layers, style_layers=style_layers,
        content_weight=defaults["content_weight"] if content_weight is None else content_weight,
        style_weight=defaults["style_weight"] if style_weight is None else style_weight,
        tv_weight=defaults["tv_weight"] if tv_weight is None else tv_weight,
        pooling=pooling)


def compute_losses(image, content, style, **options) -> dict[str, float]:
    """Computes every loss term of one image, without optimizing.

    Takes the same options as `stylize` (backbone, weights, layers, loss
    weights, pooling) and returns exactly the terms it minimizes.

    Args:
        image: float32 `(1, H, W, 3)` in [0, 1], the content image's size.
        content: The content image (array or anything `load_image` takes).
        style: The style image.
        **options: See `stylize`.

    Returns:
        `total`, `content`, `style`, `tv` and the per-layer terms, as floats.
    """
    loss = build_loss(content, style, **options)
    image = check_image(image, "image")
    if image.shape != loss.content_image.shape:
        raise ValueError(f"image has shape {image.shape} but the content image has "
                         f"{loss.content_image.shape}.")
    return {name: float(value) for name, value in loss(tf.constant(image)).items()}


def stylize(content, style, *, backbone: str | None = None, weights: Any = "auto",
            content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
            style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
            content_weight: float | None = None, style_weight: float | None = None,
            tv_weight: float | None = None, pooling: str = "max", optimizer: str = "lbfgs",
            num_steps: int | None = None, learning_rate: float | None = None,
            init: Any = "content", seed: int = 0, callbacks=None, progress: bool = True,
            stop_event: threading.Event | None = None, verbose: bool = True,
            optimizer_options: dict | None = None) -> StyleTransferResult:
    """Paints `content` in the style of `style` by optimizing its pixels.

    Args:
        content: float32 `(1, H, W, 3)` in [0, 1], or a path, URL or bytes.
        style: The style image, same contract; any size.
        backbone: `"vgg16"`, `"vgg19"` or `None` (what the weights imply).
        weights: `"auto"`, `"imagenet"`, `"hed"`, `None` (random), an `.h5`
            path, or a `BackboneWeights` already loaded (fastest when repeated).
        content_layers: Layer names, or name to weight.
        style_layers: Layer names (equal weights), or name to weight.
        content_weight: Weight of the content term (default per weights).
        style_weight: Weight of the style term (default per weights).
        tv_weight: Weight of the total-variation term (default per weights).
        pooling: `"max"` or `"average"`.
        optimizer: `"lbfgs"` (default, fastest), `"adam"` or `"sgd"`.
        num_steps: Optimizer steps (default per optimizer).
        learning_rate: Step size for Adam and SGD (default per optimizer).
        init: `"content"`, `"style"`, `"noise"` (seeded) or an image to start
            from (to continue an earlier run).
        seed: Seed for the noise init and for random weights.
        callbacks: Functions `f(run)` or `Callback` objects (see callbacks.py).
        progress: Show a progress bar.
        stop_event: A `threading.Event`; setting it ends the loop after the
            current step and keeps the best image (widgets use this).
        verbose: Print which weights were chosen and how the run ended.
        optimizer_options: Extra options for the optimizer (e.g. `memory`).

    Returns:
        A `StyleTransferResult` with `.image` and `.history`.
    """
    num_steps = OPTIMIZER_DEFAULTS.get(optimizer, {}).get("num_steps", 0) if num_steps is None else num_steps
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 0:
        raise ValueError(f"num_steps must be a whole number >= 0, got {num_steps!r}.")
    solver = make_optimizer(optimizer, learning_rate, **(optimizer_options or {}))
    loss = build_loss(content, style, backbone=backbone, weights=weights,
                      content_layers=content_layers, style_layers=style_layers,
                      content_weight=content_weight, style_weight=style_weight,
                      tv_weight=tv_weight, pooling=pooling, seed=seed, verbose=verbose)
    image = tf.Variable(initial_image(init, loss.content_image, loss.style_image, seed))

    @tf.function
    def evaluate():
        with tf.GradientTape() as tape:
            losses = loss(image)
        return losses, tape.gradient(losses["total"], image)

    settings = {**loss.settings(), "optimizer": optimizer, "num_steps": int(num_steps),
                "learning_rate": getattr(solver, "learning_rate", None), "seed": seed,
                "init": init if isinstance(init, str) else "image"}
    best = {"image": tf.identity(image), "step": 0, "total": np.inf}
    run = Run(num_steps=int(num_steps), device=device_name(), settings=settings,
              get_image=lambda: image.numpy(), get_best_image=lambda: best["image"].numpy(),
              stop_event=stop_event or threading.Event())
    callback_list = as_callbacks(callbacks) + ([ProgressBar()] if progress else [])

    def record(losses) -> bool:
        """Appends the step's losses to the history; False if they are not finite."""
        values = {name: float(value) for name, value in losses.items()}
        run.history.append({"step": run.step, "time": time.perf_counter() - run.started,
                            "size": tuple(image.shape[1:3]), **values})
        if not np.isfinite(values["total"]):
            return False
        if values["total"] < best["total"]:
            best.update(image=tf.identity(image), step=run.step, total=values["total"])
        return True

    for callback in callback_list:
        callback.on_start(run)
    run.started = time.perf_counter()
    try:
        losses, gradient = evaluate()
        finite = record(losses)
        while finite and run.step < num_steps and not run.stop_event.is_set():
            losses, gradient = solver.step(image, evaluate, losses, gradient)
            run.step += 1
            finite = record(losses)
            for callback in callback_list:
                if run.step % callback.every == 0 or run.step == num_steps:
                    callback.on_step(run)
        if not finite:
            run.status = "not finite"
            run.message = (f"The loss became {run.latest['total']} at step {run.step}; returning "
                           f"the best finite image (step {best['step']}). Lower the learning rate "
                           "or the loss weights.")
        elif run.step < num_steps:
            run.status, run.message = "stopped", f"Stopped at step {run.step}."
        else:
            run.status, run.message = "completed", f"Completed {run.step} steps."
    except KeyboardInterrupt:
        run.status, run.message = "interrupted", f"Interrupted at step {run.step}."
    finally:
        for callback in callback_list:
            callback.on_end(run)
    if verbose and run.status != "completed":
        print(f"nst_teach: {run.message}", file=sys.stderr)
    if not np.isfinite(best["total"]):  # not even the initial image had a finite loss
        best["step"] = 0
    return StyleTransferResult(image=best["image"].numpy(), history=run.history,
                               status=run.status, message=run.message, device=run.device,
                               settings=settings, best_step=best["step"])
