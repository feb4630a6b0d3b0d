"""The Studio's decisions as plain functions: no ipywidgets, tested on their own.

`nst_teach.widgets.studio.Studio` reads its widgets' values, calls these, and
writes the results back; everything it decides (the settings of a run, what a
preset sets, whether an upload is used, what the status line says) is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nst_teach import presets
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
