"""Gradient descent on the pixels: the style-transfer loop.

The image itself is the variable. Each step computes every loss term and the
gradient of the total with `tf.GradientTape`, lets an optimizer move the
pixels, and keeps them in [0, 1]. `stylize` wraps the loop with everything a
student or an instructor needs around it: defaults that work, a progress bar,
callbacks for widgets, a Stop that keeps the best image, and a clear message
when the loss blows up.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from nst_teach import controls
from nst_teach.backbone_weights import resolve_weights
from nst_teach.callbacks import ProgressBar, Run, as_callbacks
from nst_teach.core.loop import loss_and_gradient
from nst_teach.estimate import MemoryBudgetWarning, memory_warning
from nst_teach.images import check_image, resize_image
from nst_teach.lbfgs import LBFGS
from nst_teach.losses import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    StyleTransferLoss,
)
from nst_teach.result import OptimizerState, StyleTransferResult, divergence_message
from nst_teach.run import RunProtocol
from nst_teach.settings import (
    DEFAULT_OPTIMIZER,
    ControlSettings,
    LossSettings,
    RunSettings,
    split_options,
)


def device_name() -> str:
    """Returns `"GPU:0"` when TensorFlow sees a GPU, else `"CPU"`."""
    return "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU"


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


def build_loss(content, style, *, backbone: str | None = None, weights: Any = "auto",
               loss: LossSettings | None = None, control: ControlSettings | None = None,
               seed: int = 0, verbose: bool = True) -> StyleTransferLoss:
    """Builds the objective `stylize` minimizes (at its last stage), from its settings."""
    loss = loss or LossSettings()
    control = control or ControlSettings()
    inputs = controls.prepare_inputs(content, style, control)
    shape = controls.stage_shapes(inputs.content.shape, control.sizes)[-1]
    backbone_weights = resolve_weights(backbone, weights, loss.layers, seed, verbose)
    return controls.stage_loss(backbone_weights, inputs, shape,
                               **loss.loss_options(backbone_weights))


def compute_losses(image, content, style, *, backbone: str | None = None, weights: Any = "auto",
                   verbose: bool = True, **options) -> dict[str, float]:
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
        backbone: As for `stylize`.
        weights: As for `stylize`.
        verbose: Print which weights were chosen.
        **options: Any other option of `stylize` (`nst_teach.settings.split_options`).

    Returns:
        `total`, `content`, `style`, `tv` and the per-layer terms, as floats.
    """
    loss_settings, control, run_settings = split_options(**options)
    loss = build_loss(content, style, backbone=backbone, weights=weights, loss=loss_settings,
                      control=control, seed=run_settings.seed, verbose=verbose)
    image = check_image(image, "image")
    if image.shape != loss.content_image.shape:
        raise ValueError(f"image has shape {image.shape} but the content image has "
                         f"{loss.content_image.shape}; pass the same sizes as to stylize, or "
                         "resize the content with nst_teach.resize_image.")
    if control.preserve_colors == "luminance":
        from nst_teach.color import luminance_image

        image = check_image(luminance_image(image), "luminance")
    # Compiled as in `stylize`, so that with bfloat16 the rounding is the same too.
    return {name: float(value) for name, value in tf.function(loss)(tf.constant(image)).items()}


def stylize(content, style, *, backbone: str | None = None, weights: Any = "auto",
            content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
            style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
            content_weight: float | None = None, style_weight: float | None = None,
            tv_weight: float | None = None, pooling: str = "max",
            optimizer: str = DEFAULT_OPTIMIZER, num_steps: int | Sequence[int] | None = None,
            learning_rate: float | Callable[[int], float] | None = None,
            init: Any = "content", seed: int = 0, callbacks=None, progress: bool = True,
            stop_event: threading.Event | None = None, verbose: bool = True,
            optimizer_options: dict | None = None,
            style_blend_weights: Sequence[float] | None = None,
            style_masks: Sequence[Any] | None = None, style_scale: float = 1.0,
            sizes: Sequence[int] | None = None, style_statistic: str = "gram",
            preserve_colors: str | None = None,
            color_matching_method: str = "mean_covariance",
            recompute: bool = False, precision: str = "auto",
            resume: OptimizerState | None = None) -> StyleTransferResult:
    """Paints `content` in the style of `style` by optimizing its pixels.

    The options are documented and checked where they are defined (the three
    settings of `nst_teach.settings`); `stylize_with_settings` runs them.

    Args:
        content: float32 `(1, H, W, 3)` in [0, 1], or a path, URL or bytes.
        style: The style image, same contract, any size; or a list of them
            (several styles, see `style_blend_weights` and `style_masks`).
        backbone: `"vgg16"`, `"vgg19"` or `None` (what the weights imply).
        weights: `"auto"`, `"imagenet"`, `"hed"`, `None` (random), an `.h5`
            path, or a `BackboneWeights` already loaded (fastest when repeated).
        content_layers, style_layers, content_weight, style_weight, tv_weight,
            pooling, style_statistic, recompute, precision: What the objective
            is: see `LossSettings` (loss weights default per weights).
        style_blend_weights, style_masks, style_scale, sizes, preserve_colors,
            color_matching_method: The controls of lessons 09 and 10: see
            `ControlSettings`.
        optimizer, num_steps, learning_rate, optimizer_options, init, seed,
            resume: How it is minimized: see `RunSettings` (Adam by default, its rate
            may be a schedule; `resume=result.optimizer_state` continues a run).
        callbacks: Functions `f(run)` or `Callback` objects (see callbacks.py).
        progress: Show a progress bar.
        stop_event: A `threading.Event`: set, it ends the loop after the step.
        verbose: Print which weights were chosen and how the run ended.

    Returns:
        A `StyleTransferResult` with `.image` (the last stage's size) and
        `.history`. A Stop, a KeyboardInterrupt or a non-finite loss ends the
        whole run and keeps the best image of the current stage.

    Raises:
        ValueError: For a bad option, before any weight is loaded.
    """
    loss = LossSettings(content_layers, style_layers, content_weight, style_weight, tv_weight,
                        pooling, style_statistic, recompute, precision)
    control = ControlSettings(style_blend_weights, style_masks, style_scale, sizes,
                              preserve_colors, color_matching_method)
    run_settings = RunSettings(optimizer, num_steps, learning_rate, optimizer_options, init, seed,
                               resume)
    return stylize_with_settings(content, style, loss, control, run_settings, backbone=backbone,
                                 weights=weights, callbacks=callbacks, progress=progress,
                                 stop_event=stop_event, verbose=verbose)


def stylize_with_settings(content, style, loss: LossSettings, control: ControlSettings,
                          run_settings: RunSettings, *, backbone: str | None = None,
                          weights: Any = "auto", callbacks=None, progress: bool = True,
                          stop_event: threading.Event | None = None,
                          verbose: bool = True) -> StyleTransferResult:
    """`stylize` with its options already grouped and checked (see `nst_teach.settings`)."""
    inputs = controls.prepare_inputs(content, style, control)
    _check_resume(run_settings.resume, inputs.content.shape, control.sizes)
    shapes = controls.stage_shapes(inputs.content.shape, control.sizes)
    stage_steps = controls.steps_per_stage(run_settings.num_steps, len(shapes))
    backbone_weights = resolve_weights(backbone, weights, loss.layers, run_settings.seed, verbose)
    if verbose and not loss.recompute and (warning := memory_warning(
            shapes[-1], backbone_weights.backbone, run_settings.optimizer, stage_steps[-1],
            loss.precision)):
        warnings.warn(warning, MemoryBudgetWarning, stacklevel=3)  # the line calling stylize
    loss_options = loss.loss_options(backbone_weights)
    first_loss = controls.stage_loss(backbone_weights, inputs, shapes[0], **loss_options)
    settings = {**first_loss.settings(), **_run_record(control, run_settings, stage_steps),
                "recompute": loss.recompute}
    start = _initial_image(run_settings, first_loss, inputs, control)
    # The current stage's image and best image (step, total); callbacks read them.
    stage = {"image": tf.constant(start),
             "best": {"image": tf.constant(start), "step": 0, "total": np.inf}}
    finish = functools.partial(controls.restore_colors, content=inputs.original_content,
                               preserve_colors=control.preserve_colors)
    run = Run(num_steps=sum(stage_steps) + len(shapes) - 1, device=device_name(),
              settings=settings, get_image=lambda: finish(stage["image"].numpy()),
              get_best_image=lambda: finish(stage["best"]["image"].numpy()),
              stop_event=stop_event or threading.Event())
    callback_list = as_callbacks(callbacks) + ([ProgressBar()] if progress else [])
    with RunProtocol(run, callback_list, verbose=verbose) as protocol:
        for index, (shape, steps) in enumerate(zip(shapes, stage_steps)):
            if index > 0:
                if protocol.stop_requested():
                    break
                objective = controls.stage_loss(backbone_weights, inputs, shape, **loss_options)
                start = resize_image(stage["best"]["image"].numpy(), shape)
                run.step += 1  # the upsampling counts as a step
            else:
                objective, first_loss = first_loss, None  # each stage's targets freed after it
            finite = _optimize_stage(objective, start, steps, run_settings.new_optimizer,
                                     protocol, stage)
            del objective
            if not finite or protocol.stop_requested():
                break
        _set_status(protocol, stage["best"])
    best = stage["best"]
    return StyleTransferResult(image=finish(best["image"].numpy()), history=run.history,
                               status=run.status, message=run.message, device=run.device,
                               settings=settings, best_step=best["step"],
                               optimizer_state=_optimizer_state(run_settings, stage, len(shapes)))


def _describe_rate(rate: float | Callable | None) -> float | dict | None:
    """A learning rate for records: the number, or a schedule's name and configuration."""
    if not callable(rate):
        return rate
    config = rate.get_config() if hasattr(rate, "get_config") else {"repr": repr(rate)}
    return {"schedule": type(rate).__name__, **config}


def _run_record(control: ControlSettings, run_settings: RunSettings,
                stage_steps: list[int]) -> dict:
    """The run's and the controls' settings, for `StyleTransferResult.settings`."""
    return {"optimizer": run_settings.optimizer,
            "num_steps": stage_steps[0] if control.sizes is None else stage_steps,
            "learning_rate": _describe_rate(run_settings.resolved_learning_rate),
            "seed": run_settings.seed,
            "init": ("resume" if run_settings.resume is not None else run_settings.init
                     if isinstance(run_settings.init, str) else "image"),
            "sizes": control.sizes, "style_scale": control.style_scale,
            "preserve_colors": control.preserve_colors,
            "color_matching_method": control.color_matching_method}


def _check_resume(state: OptimizerState | None, content_shape: tuple, sizes) -> None:
    """A resumed run has one size, the state's (checked before any weight is loaded)."""
    if state is None:
        return
    if sizes is not None:
        raise ValueError("resume continues a one-size run: leave sizes=None.")
    if tuple(state.image.shape) != tuple(content_shape):
        raise ValueError(f"resume's image is {state.image.shape[1]} x {state.image.shape[2]} px "
                         f"but the content is {content_shape[1]} x {content_shape[2]}: continue "
                         "at the same size, or start afresh with init=result.image.")


def _optimizer_state(run_settings: RunSettings, stage: dict,
                     num_stages: int) -> OptimizerState | None:
    """The last step's image and optimizer, to resume a one-size run (None before any step)."""
    steps = stage.get("steps", 0)
    if num_stages > 1:
        return None
    if steps == 0:  # nothing moved: a resumed state still holds, a fresh one has none
        return run_settings.resume
    earlier = 0 if run_settings.resume is None else run_settings.resume.steps
    return OptimizerState(run_settings.optimizer, stage["solver"], stage["image"].numpy(),
                          earlier + steps)


def _initial_image(run_settings: RunSettings, loss: StyleTransferLoss,
                   inputs: controls.StyleInputs, control: ControlSettings) -> np.ndarray:
    """The first stage's start: `initial_image`, an init image resized and colour-prepared,
    or the image of a resumed run (same size, one stage)."""
    init, preserve_colors = run_settings.init, control.preserve_colors
    if run_settings.resume is not None:
        return initial_image(run_settings.resume.image, loss.content_image, inputs.styles[0], 0)
    if not isinstance(init, str):
        init = check_image(init, "init")
        if preserve_colors == "luminance":
            from nst_teach.color import luminance_image

            init = check_image(luminance_image(init), "init")
        if inputs.content.shape != loss.content_image.shape:  # coarse to fine: first stage
            init = resize_image(init, tuple(loss.content_image.shape[1:3]))
    return initial_image(init, loss.content_image, inputs.styles[0], run_settings.seed)


def _optimize_stage(loss: StyleTransferLoss, start: np.ndarray, num_steps: int, new_optimizer,
                    protocol: RunProtocol, stage: dict) -> bool:
    """Runs the loop at one size; returns False if the loss stopped being finite.

    `run.step` already counts this stage's first evaluation. `stage` gets the
    stage's `tf.Variable` ("image") and its best image ("best": image, step,
    total), which callbacks and `stylize` read.
    """
    run = protocol.run
    image = tf.Variable(start)
    solver = new_optimizer()
    best = {"image": tf.identity(image), "step": run.step, "total": np.inf}
    stage.update(image=image, best=best, solver=solver, steps=0)
    evaluate = tf.function(lambda: loss_and_gradient(image, loss))

    def record(losses) -> bool:
        """Records the step (False if not finite) and keeps the image if it is the best."""
        if not protocol.record(losses, size=tuple(image.shape[1:3])):
            return False
        if run.latest["total"] < best["total"]:
            best.update(image=tf.identity(image), step=run.step, total=run.latest["total"])
        return True

    losses, gradient = evaluate()
    finite = record(losses)
    if run.step > 0:  # the first evaluation of a later stage is a step of the run
        protocol.after_step()
    end = run.step + num_steps
    while finite and run.step < end and not protocol.stop_requested():
        losses, gradient = take_step(solver, image, evaluate, losses, gradient)
        run.step += 1
        stage["steps"] += 1
        finite = record(losses)
        protocol.after_step()
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


def _set_status(protocol: RunProtocol, best: dict) -> None:
    """Says how a loop that was not interrupted ended (a non-finite loss is already set)."""
    run = protocol.run
    if run.status == "not finite":
        run.message += f" Returning the best finite image (step {best['step']})."
    elif run.step < run.num_steps:
        protocol.finish("stopped", f"Stopped at step {run.step}.")
    elif (diverged := divergence_message(run.history, best["step"])) is not None:
        protocol.finish("diverged", diverged)
    else:
        protocol.finish("completed", f"Completed {run.step} steps.")
