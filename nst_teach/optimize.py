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
import functools
import sys
import threading
import time
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from nst_teach import controls
from nst_teach.callbacks import ProgressBar, Run, as_callbacks
from nst_teach.config import compute_dtype
from nst_teach.estimate import warn_if_too_large
from nst_teach.core.loop import SGD, Adam, loss_and_gradient
from nst_teach.core.vgg import BackboneWeights, layer_names
from nst_teach.features import load_weights
from nst_teach.images import check_image, resize_image
from nst_teach.lbfgs import LBFGS
from nst_teach.profiles import current_profile
from nst_teach.losses import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    StyleTransferLoss,
    blend_weights,
)

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
    "adam": {"learning_rate": 0.02, "num_steps": 200},
    "sgd": {"learning_rate": 1e-5, "num_steps": 500},
}
# The fastest to a given loss in benchmarks/bench_stylize.py (Adam with the
# defaults below: about 70 steps where L-BFGS needs about 105).
DEFAULT_OPTIMIZER = "adam"


@dataclasses.dataclass
class StyleTransferResult:
    """What `stylize` returns.

    Attributes:
        image: The best image found, float32 `(1, H, W, 3)` in [0, 1].
        history: One dict per step (step 0 is the initial image) with `step`,
            `time` (seconds since the loop started, tracing included), `size`
            (`(H, W)`), `total`, `content`, `style`, `tv`, and the per-layer
            terms `content/<layer>` and `style/<layer>`.
        status: `"completed"`, `"stopped"`, `"interrupted"`, `"not finite"` or
            `"diverged"` (the loss never went below its start, or rose for many
            steps: see `divergence_message`).
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


def make_optimizer(name: str, learning_rate: float | None = None, **options):
    """Creates `"lbfgs"`, `"adam"` or `"sgd"` (see `take_step`).

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


def _loss_options(backbone_weights, content_layers, style_layers, content_weight, style_weight,
                  tv_weight, pooling, style_blend_weights, style_statistic, recompute,
                  precision="auto") -> dict:
    """The options of `StyleTransferLoss`, with the default loss weights filled in."""
    defaults = default_loss_weights(backbone_weights)
    chosen = {"content_weight": content_weight, "style_weight": style_weight,
              "tv_weight": tv_weight}
    return {"content_layers": content_layers, "style_layers": style_layers,
            **{term: defaults[term] if value is None else value for term, value in chosen.items()},
            "pooling": pooling, "style_blend_weights": style_blend_weights,
            "style_statistic": style_statistic, "recompute": recompute,
            "compute_dtype": compute_dtype(precision)}


def build_loss(content, style, *, backbone=None, weights="auto",
               content_layers=DEFAULT_CONTENT_LAYERS, style_layers=DEFAULT_STYLE_LAYERS,
               content_weight=None, style_weight=None, tv_weight=None, pooling="max",
               style_blend_weights=None, style_masks=None, style_scale=1.0, sizes=None,
               style_statistic="gram", preserve_colors=None,
               color_matching_method="mean_covariance", recompute=False, precision="auto",
               seed=0, verbose=True) -> StyleTransferLoss:
    """Resolves every option and builds the objective `stylize` minimizes (at its last stage)."""
    inputs = controls.prepare_inputs(content, style, style_masks, preserve_colors,
                                     color_matching_method)
    shape = controls.stage_shapes(inputs.content.shape, controls.check_sizes(sizes))[-1]
    backbone_weights = resolve_weights(backbone, weights, [*content_layers, *style_layers],
                                       seed, verbose)
    return controls.stage_loss(backbone_weights, inputs, shape,
                               controls.check_style_scale(style_scale),
                      **_loss_options(backbone_weights, content_layers, style_layers,
                                      content_weight, style_weight, tv_weight, pooling,
                                      style_blend_weights, style_statistic, recompute,
                                      precision))


def compute_losses(image, content, style, **options) -> dict[str, float]:
    """Computes every loss term of one image, without optimizing.

    Takes the same options as `stylize` (backbone, weights, layers, loss
    weights, pooling and the controls) and returns exactly the terms it
    minimizes. With `sizes`, the terms of its last stage (the image must have
    that stage's size); with `preserve_colors="luminance"`, the terms of the
    image's luminance, which is what `stylize` optimizes.

    Args:
        image: float32 `(1, H, W, 3)` in [0, 1], the content image's size
            (or the last stage's, with `sizes`).
        content: The content image (array or anything `load_image` takes).
        style: The style image, or a list of them.
        **options: See `stylize` (the loss options only).

    Returns:
        `total`, `content`, `style`, `tv` and the per-layer terms, as floats.
    """
    loss = build_loss(content, style, **options)
    image = check_image(image, "image")
    if image.shape != loss.content_image.shape:
        raise ValueError(f"image has shape {image.shape} but the content image has "
                         f"{loss.content_image.shape}; pass the same sizes as to stylize, or "
                         "resize the content with nst_teach.resize_image.")
    if options.get("preserve_colors") == "luminance":
        from nst_teach.color import luminance_image

        image = check_image(luminance_image(image), "luminance")
    # Compiled as in `stylize`, so that with bfloat16 the rounding is the same too.
    return {name: float(value) for name, value in tf.function(loss)(tf.constant(image)).items()}


def stylize(content, style, *, backbone: str | None = None, weights: Any = "auto",
            content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
            style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
            content_weight: float | None = None, style_weight: float | None = None,
            tv_weight: float | None = None, pooling: str = "max",
            optimizer: str = DEFAULT_OPTIMIZER,
            num_steps: int | Sequence[int] | None = None, learning_rate: float | None = None,
            init: Any = "content", seed: int = 0, callbacks=None, progress: bool = True,
            stop_event: threading.Event | None = None, verbose: bool = True,
            optimizer_options: dict | None = None,
            style_blend_weights: Sequence[float] | None = None,
            style_masks: Sequence[Any] | None = None, style_scale: float = 1.0,
            sizes: Sequence[int] | None = None, style_statistic: str = "gram",
            preserve_colors: str | None = None,
            color_matching_method: str = "mean_covariance",
            recompute: bool = False, precision: str = "auto") -> StyleTransferResult:
    """Paints `content` in the style of `style` by optimizing its pixels.

    Args:
        content: float32 `(1, H, W, 3)` in [0, 1], or a path, URL or bytes.
        style: The style image, same contract, any size; or a list of them
            (several styles, see `style_blend_weights` and `style_masks`).
        backbone: `"vgg16"`, `"vgg19"` or `None` (what the weights imply).
        weights: `"auto"`, `"imagenet"`, `"hed"`, `None` (random), an `.h5`
            path, or a `BackboneWeights` already loaded (fastest when repeated).
        content_layers: Layer names, or name to weight.
        style_layers: Layer names (equal weights), or name to weight.
        content_weight: Weight of the content term (default per weights).
        style_weight: Weight of the style term (default per weights).
        tv_weight: Weight of the total-variation term (default per weights).
        pooling: `"max"` (VGG's own) or `"average"` (recommended by Gatys et
            al. 2016 for smoother results).
        optimizer: `"adam"` (default: fastest to a good picture), `"lbfgs"`
            (fewest steps to a very low loss, each step dearer) or `"sgd"`.
        num_steps: Optimizer steps (default per optimizer); with `sizes`, per
            stage: one number for every stage or a list with one per stage.
        learning_rate: Step size for Adam and SGD (default per optimizer).
        init: `"content"`, `"style"`, `"noise"` (seeded) or an image to start
            from (to continue an earlier run; with `sizes`, resized to the
            first stage).
        seed: Seed for the noise init and for random weights.
        callbacks: Functions `f(run)` or `Callback` objects (see callbacks.py).
        progress: Show a progress bar.
        stop_event: A `threading.Event`; setting it ends the loop after the
            current step and keeps the best image (widgets use this).
        verbose: Print which weights were chosen and how the run ended.
        optimizer_options: Extra options for the optimizer (e.g. `memory`).
        style_blend_weights: With several styles, one weight >= 0 per style,
            normalised to sum to 1 (default equal). Without masks, the target
            statistics are the blend of the styles' (Johnson's neural-style);
            with masks, they weigh the regions' terms.
        style_masks: `None`, or one entry per style: a mask float32
            `(1, H, W, 1)` in [0, 1] at the content's size (`(H, W)` and other
            sizes of the same aspect are accepted, see
            `nst_teach.controls.check_masks`) or `None` (the whole image).
            Each style is matched only where its mask is on (guided Gram
            matrices, Gatys et al. 2017); where every mask is 0, only the
            content and TV terms act.
        style_scale: The style's longer side relative to the output's: 1 (the
            default) resizes every style to the output's longer side, 2 to
            twice it (larger strokes), 0.5 to half (smaller strokes).
        sizes: Coarse to fine: the longer side of each stage, e.g.
            `(256, 512, 1024)`. Each stage starts from the previous stage's best
            image, upsampled (Lanczos, `resize_image`); content, masks and
            scaled styles are rebuilt at each size, the weights reused. The
            upsampling counts as one step in the history. `None`: one stage at
            the content image's size.
        style_statistic: `"gram"` (Gram matrices) or `"mean_std"` (per-channel
            mean and standard deviation, AdaIN's statistics).
        preserve_colors: `None`, `"luminance"` (optimize the luminance only,
            then put the content's colours back) or `"color_matching"`
            (recolour the styles to the content's colours first), Gatys et al.
            2017. See `nst_teach.controls.prepare_colors`.
        color_matching_method: `"mean_covariance"` or `"histogram"`, for
            `preserve_colors="color_matching"`.
        recompute: Recompute activations during the backward pass instead of
            keeping them (gradient checkpointing), large blocks in strips of
            rows (see `FeatureExtractor`): the same objective with much less
            memory for large images, for some more time; figures in
            docs/benchmarks.md (benchmarks/bench_coarse_to_fine.py).
        precision: The dtype VGG's convolutions compute in: `"auto"` (bfloat16
            on a CPU with native bfloat16 instructions, float32 elsewhere),
            `"float32"`, `"bfloat16"` or `"float16"`; Gram matrices and losses
            are float32 whatever it is. bfloat16 halves the time per step and
            changes the loss by about 0.1%. See `nst_teach.config.compute_dtype`.

    Returns:
        A `StyleTransferResult` with `.image` (the last stage's size) and
        `.history`. A Stop, a KeyboardInterrupt or a non-finite loss ends the
        whole run and keeps the best image of the current stage.
    """
    if num_steps is None:
        num_steps = OPTIMIZER_DEFAULTS.get(optimizer, {}).get("num_steps", 0)
    make_optimizer(optimizer, learning_rate, **(optimizer_options or {}))  # checks the options
    inputs = controls.prepare_inputs(content, style, style_masks, preserve_colors,
                                     color_matching_method)
    sizes = controls.check_sizes(sizes)
    shapes = controls.stage_shapes(inputs.content.shape, sizes)
    stage_steps = controls.steps_per_stage(num_steps, len(shapes))
    style_scale = controls.check_style_scale(style_scale)
    blend_weights(len(inputs.styles), style_blend_weights)  # checks them before loading weights
    backbone_weights = resolve_weights(backbone, weights, [*content_layers, *style_layers],
                                       seed, verbose)
    if verbose and not recompute:
        _warn_about_memory(shapes[-1], backbone_weights.backbone, optimizer, stage_steps[-1],
                           precision)
    loss_options = _loss_options(backbone_weights, content_layers, style_layers, content_weight,
                                 style_weight, tv_weight, pooling, style_blend_weights,
                                 style_statistic, recompute, precision)
    first_loss = controls.stage_loss(backbone_weights, inputs, shapes[0], style_scale,
                                     **loss_options)
    settings = {**first_loss.settings(), "optimizer": optimizer,
                "num_steps": stage_steps[0] if sizes is None else stage_steps,
                "learning_rate": getattr(make_optimizer(optimizer, learning_rate), "learning_rate",
                                         None),
                "seed": seed, "init": init if isinstance(init, str) else "image",
                "sizes": sizes, "style_scale": style_scale, "preserve_colors": preserve_colors,
                "color_matching_method": color_matching_method, "recompute": bool(recompute)}
    start = _initial_image(init, first_loss, inputs, preserve_colors, seed)
    # The current stage's image and best image (step, total); callbacks read them.
    stage = {"image": tf.constant(start),
             "best": {"image": tf.constant(start), "step": 0, "total": np.inf}}
    finish = functools.partial(controls.restore_colors, content=inputs.original_content,
                               preserve_colors=preserve_colors)
    run = Run(num_steps=sum(stage_steps) + len(shapes) - 1, device=device_name(),
              settings=settings, get_image=lambda: finish(stage["image"].numpy()),
              get_best_image=lambda: finish(stage["best"]["image"].numpy()),
              stop_event=stop_event or threading.Event())
    callback_list = as_callbacks(callbacks) + ([ProgressBar()] if progress else [])
    for callback in callback_list:
        callback.on_start(run)
    run.started = time.perf_counter()
    finite = True
    try:
        for index, (shape, steps) in enumerate(zip(shapes, stage_steps)):
            if index > 0:
                if run.stop_event.is_set():
                    break
                loss = controls.stage_loss(backbone_weights, inputs, shape, style_scale,
                                           **loss_options)
                start = resize_image(stage["best"]["image"].numpy(), shape)
                run.step += 1  # the upsampling counts as a step
            else:
                loss, first_loss = first_loss, None  # each stage's targets freed after it
            finite = _optimize_stage(loss, start, steps, lambda: make_optimizer(
                optimizer, learning_rate, **(optimizer_options or {})), run, callback_list, stage)
            del loss
            if not finite or run.stop_event.is_set():
                break
        _set_status(run, finite, stage["best"])
    except KeyboardInterrupt:
        run.status, run.message = "interrupted", f"Interrupted at step {run.step}."
    finally:
        for callback in callback_list:
            callback.on_end(run)
    if verbose and run.status != "completed":
        print(f"nst_teach: {run.message}", file=sys.stderr)
    best = stage["best"]
    return StyleTransferResult(image=finish(best["image"].numpy()), history=run.history,
                               status=run.status, message=run.message, device=run.device,
                               settings=settings, best_step=best["step"])


def _warn_about_memory(shape: tuple[int, int], backbone: str, optimizer: str, num_steps: int,
                       precision: str) -> None:
    """Issues a `MemoryBudgetWarning` when the largest stage may not fit the profile's budget.

    The estimate (`nst.estimate_cost`) never stops a run: a setting its measured
    table does not describe gets no warning.
    """
    budget = current_profile(announce=False).memory_budget_mb
    try:  # stacklevel 4: the line that called `stylize`
        warn_if_too_large(tuple(shape), backbone, optimizer, num_steps, budget, stacklevel=4,
                          precision=precision)
    except ValueError:
        pass


def _initial_image(init, loss: StyleTransferLoss, inputs: controls.StyleInputs, preserve_colors,
                   seed: int) -> np.ndarray:
    """The first stage's start: `initial_image`, an init image resized and colour-prepared."""
    if not isinstance(init, str):
        init = check_image(init, "init")
        if preserve_colors == "luminance":
            from nst_teach.color import luminance_image

            init = check_image(luminance_image(init), "init")
        if inputs.content.shape != loss.content_image.shape:  # coarse to fine: first stage
            init = resize_image(init, tuple(loss.content_image.shape[1:3]))
    return initial_image(init, loss.content_image, inputs.styles[0], seed)


def _optimize_stage(loss: StyleTransferLoss, start: np.ndarray, num_steps: int, new_optimizer,
                    run: Run, callback_list: list, stage: dict) -> bool:
    """Runs the loop at one size; returns False if the loss stopped being finite.

    `run.step` already counts this stage's first evaluation. `stage` gets the
    stage's `tf.Variable` ("image") and its best image ("best": image, step,
    total), which callbacks and `stylize` read.
    """
    image = tf.Variable(start)
    solver = new_optimizer()
    best = {"image": tf.identity(image), "step": run.step, "total": np.inf}
    stage.update(image=image, best=best)

    evaluate = tf.function(lambda: loss_and_gradient(image, loss))

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

    def after_step():
        for callback in callback_list:
            if run.step % callback.every == 0 or run.step == run.num_steps:
                callback.on_step(run)

    losses, gradient = evaluate()
    finite = record(losses)
    if run.step > 0:  # the first evaluation of a later stage is a step of the run
        after_step()
    end = run.step + num_steps
    while finite and run.step < end and not run.stop_event.is_set():
        losses, gradient = take_step(solver, image, evaluate, losses, gradient)
        run.step += 1
        finite = record(losses)
        after_step()
    return finite


def take_step(solver, image: tf.Variable, evaluate, losses: dict, gradient: tf.Tensor):
    """One step of any optimizer; returns `(losses, gradient)` at the new image.

    Adam and SGD (`core.loop`) move once along the gradient; L-BFGS searches a
    line, evaluating as it goes, and needs the current losses for that.
    """
    if isinstance(solver, LBFGS):
        return solver.step(image, evaluate, losses, gradient)
    solver.apply_gradient(image, gradient)
    return evaluate()


def _set_status(run: Run, finite: bool, best: dict) -> None:
    """Sets `run.status` and `run.message` after the loop ended without an interrupt."""
    if not finite:
        run.status = "not finite"
        run.message = (f"The loss became {run.latest['total']} at step {run.step}; returning "
                       f"the best finite image (step {best['step']}). Lower the learning rate "
                       "or the loss weights.")
    elif run.step < run.num_steps:
        run.status, run.message = "stopped", f"Stopped at step {run.step}."
    elif (diverged := divergence_message(run.history, best["step"])) is not None:
        run.status, run.message = "diverged", diverged
    else:
        run.status, run.message = "completed", f"Completed {run.step} steps."


def divergence_message(history: Sequence[Mapping[str, Any]], best_step: int,
                       rising_steps: int = 10) -> str | None:
    """Says whether a finished run diverged, and what to do; None if it did not.

    A run diverged when its last stage's loss never went below that stage's
    first value, or when the loss rose at each of the last `rising_steps` steps
    and ended above 1.5 times the best one.

    Args:
        history: The run's history (dicts with "step", "total", "size").
        best_step: The step of the best image of the last stage.
        rising_steps: How many rising steps in a row count as diverging.

    Returns:
        A message naming the fix, or None.
    """
    stage = [entry for entry in history if entry.get("size") == history[-1].get("size")]
    if len(stage) < 2:
        return None
    totals = [entry["total"] for entry in stage]
    advice = ("Lower the learning rate (learning_rate=...) or the loss weights, or use "
              "optimizer='adam' or 'lbfgs'.")
    if best_step == stage[0]["step"]:
        return (f"The loss never went below its starting value ({totals[0]:.4g}) in "
                f"{len(stage) - 1} steps; returning the starting image. {advice}")
    tail = totals[-rising_steps - 1:]
    if (len(tail) == rising_steps + 1 and all(b > a for a, b in zip(tail, tail[1:]))
            and totals[-1] > 1.5 * min(totals)):
        return (f"The loss rose for the last {rising_steps} steps, to {totals[-1]:.4g} from "
                f"its best {min(totals):.4g} (step {best_step}); returning the best image. "
                f"{advice}")
    return None
