"""The Studio's decisions as plain functions: no ipywidgets, tested on their own.

`nst_teach.widgets.studio.Studio` reads its widgets' values, calls these, and
writes the results back; everything it decides (the settings of a run, what a
preset sets, whether an upload is used, what the status line says) is here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nst_teach import masks, presets
from nst_teach.callbacks import Run
from nst_teach.core.images import check_image, resize_image
from nst_teach.estimate import memory_warning
from nst_teach.widgets.common import upload_size_problem

BUSY = "Wait for the run to end (or press Stop) before changing the images."


def run_settings(optimizer: str, num_steps: int, loss_weights: Mapping[str, float],
                 content_layer: str, style_layers: Sequence[str]) -> dict:
    """The keywords a run passes to `nst.stylize`, from the Studio's values.

    Args:
        optimizer: `"adam"`, `"lbfgs"` or `"sgd"`.
        num_steps: Steps.
        loss_weights: `(field label, keyword)` to value, e.g.
            `{("style w.", "style_weight"): 1.0, ...}` (the label names the
            field in an error message).
        content_layer: The one content layer.
        style_layers: The checked style layers.

    Raises:
        ValueError: For a negative loss weight or no style layer.
    """
    for (label, _), value in loss_weights.items():
        if not value >= 0:
            raise ValueError(f"The loss weights must be >= 0; {label} is {value}.")
    if not style_layers:
        raise ValueError("Check at least one style layer: the style loss compares the "
                         "Gram matrices of the checked layers.")
    return {"optimizer": optimizer, "num_steps": int(num_steps),
            **{keyword: float(value) for (_, keyword), value in loss_weights.items()},
            "content_layers": [content_layer], "style_layers": list(style_layers)}


def preset_values(name: str, size_range: tuple[int, int]) -> dict:
    """What choosing a preset sets: optimizer (first: it resets the steps), steps, size, strength.

    Raises:
        ValueError: If there is no preset called `name`.
    """
    preset = presets.get(name)
    return {"optimizer": preset.optimizer, "num_steps": preset.num_steps,
            "image_size": min(max(preset.image_size, size_range[0]), size_range[1]),
            "strength": preset.strength}


def upload_problem(running: bool, file_name: str, num_bytes: int) -> str | None:
    """Why an upload cannot be used now (a run going, too large), or None."""
    return BUSY if running else upload_size_problem(file_name, num_bytes)


def start_image(init: Any, content_shape: tuple[int, ...]) -> Any:
    """`init` for a run: a name as is, an image resized to the content's size if it changed."""
    if isinstance(init, str):
        return init
    image = check_image(init, "init")
    return init if image.shape == tuple(content_shape) else resize_image(
        image, tuple(content_shape[1:3]))


def start_status(device: str, optimizer: str, shape: Sequence[int], backbone: str,
                 num_steps: int, memory_budget_mb: float) -> tuple[str, str | None]:
    """The status line when a run starts, and the memory warning if the run may not fit."""
    warning = memory_warning(tuple(shape), backbone, optimizer, num_steps,
                             memory_budget_mb=memory_budget_mb)
    status = f"Starting · {device} · {optimizer} ..."
    return (status if warning is None else f"{status} {warning}"), warning


def step_status(run: Run) -> str:
    """The status line during a run."""
    total = run.latest.get("total", float("nan"))
    return (f"step {run.step} / {run.num_steps} · {run.elapsed:.1f} s · {run.device} · "
            f"total loss {total:.4g}")


def result_status(result) -> str:
    """The status line once a run ended (a `StyleTransferResult`)."""
    best = result.losses.get("total", float("nan"))
    elapsed = result.history[-1]["time"] if result.history else 0.0
    return (f"{result.message} {elapsed:.1f} s on {result.device}; showing the best image "
            f"(step {result.best_step}, total loss {best:.4g}).")


def image_note(kind: str, name: str, image: np.ndarray, note: str = "") -> str:
    """The status line after choosing an image."""
    height, width = image.shape[1:3]
    return f"{kind}: {name}, {height} × {width} px. {note}".strip()


# ----- the controls of lessons 09 and 10, the filmstrip, compare and Continue -----

NO_SECOND_STYLE = "(none)"
# Two complementary masks per preset: the first style where the mask is 1, the second elsewhere.
MASK_PRESETS = {
    "left | right": lambda size: masks.half_mask(size, "left"),
    "top | bottom": lambda size: masks.half_mask(size, "top"),
    "ellipse | outside": lambda size: masks.ellipse_mask(size, (0.5, 0.5), (0.3, 0.3)),
    "rectangle | outside": lambda size: masks.rectangle_mask(size, 0.25, 0.25, 0.75, 0.75),
}
CONTINUE_IGNORES = ("num_steps", "start")  # what may change and still resume
COLOR_OPTIONS = {"off": None, "luminance": "luminance", "colour matching": "color_matching"}


def control_settings(optimizer: str, learning_rate: float, pooling: str, style_scale: float,
                     preserve_colors: str) -> dict:
    """The keywords of lessons 09-10's controls and the learning rate, from the Studio's values.

    Args:
        optimizer: The optimizer (L-BFGS takes no learning rate: its line search sets it).
        learning_rate: The Adam or SGD step size, > 0.
        pooling: `"max"` or `"average"`.
        style_scale: The style's size relative to the output's.
        preserve_colors: A label of `COLOR_OPTIONS`.

    Raises:
        ValueError: For a learning rate that is not > 0.
    """
    if optimizer != "lbfgs" and not learning_rate > 0:
        raise ValueError(f"The learning rate must be > 0; it is {learning_rate}.")
    return {"learning_rate": None if optimizer == "lbfgs" else float(learning_rate),
            "pooling": pooling, "style_scale": float(style_scale),
            "preserve_colors": COLOR_OPTIONS[preserve_colors]}


def mask_pair(preset: str, size: tuple[int, int]) -> list[np.ndarray]:
    """The two styles' masks of a preset at `size` `(H, W)`: the shape and its complement.

    Returns:
        Two float32 `(1, H, W, 1)` masks in [0, 1] that add up to 1 everywhere.

    Raises:
        ValueError: For an unknown preset.
    """
    if preset not in MASK_PRESETS:
        raise ValueError(f"Unknown mask preset {preset!r}: use one of {list(MASK_PRESETS)}.")
    first = MASK_PRESETS[preset](tuple(size))
    return [first, masks.invert_mask(first)]


def mask_picture(content: np.ndarray, first_mask: np.ndarray) -> np.ndarray:
    """The content with the second style's region dimmed: where each style will go.

    Args:
        content: float32 `(1, H, W, 3)` in [0, 1].
        first_mask: The first style's mask, `(1, H, W, 1)` in [0, 1].

    Returns:
        float32 `(1, H, W, 3)` in [0, 1].
    """
    return content * (masks.DIMMING + (1 - masks.DIMMING) * first_mask)


def filmstrip_steps(num_steps: int, frames: int = 6) -> list[int]:
    """The steps a filmstrip of `frames` pictures shows: 0, evenly spaced, the last.

    >>> filmstrip_steps(200, 5)
    [0, 50, 100, 150, 200]
    """
    return sorted({round(index * num_steps / (frames - 1)) for index in range(frames)})


def settings_lines(settings: Mapping[str, Any], other: Mapping[str, Any] | None = None
                   ) -> list[str]:
    """One `"name: value"` line per setting, in bold where it differs from `other`'s (HTML)."""
    lines = []
    for name, value in settings.items():
        text = html.escape(f"{name}: {value}")
        differs = other is not None and other.get(name) != value
        lines.append(f"<b>{text}</b>" if differs else text)
    return lines


def continue_plan(last: Mapping[str, Any] | None, new: Mapping[str, Any],
                  state: Any) -> tuple[bool, str]:
    """Whether Continue resumes the optimizer's state, and the sentence that says so.

    Args:
        last: The settings of the last run (None if there was none).
        new: The settings Continue would run with.
        state: The last result's `optimizer_state` (None if it has none).

    Returns:
        `(resume, note)`: resume when nothing changed, so that the optimizer's
        state (Adam's moments, L-BFGS's memory) still belongs to the objective;
        otherwise a restart from the best image, and the note says why.
    """
    if state is None or last is None:
        return False, "Continue starts the optimizer afresh from the best image (no state kept)."
    changed = [name for name in new
               if name not in CONTINUE_IGNORES and last.get(name) != new[name]]
    if changed:
        return False, (f"Continue restarts {new.get('optimizer', 'the optimizer')} from the best "
                       f"image: {', '.join(changed)} changed since the last run, so its state "
                       "no longer fits.")
    return True, (f"Continue resumes {state.optimizer} from its last step ({state.steps} steps "
                  "so far), its state kept.")
