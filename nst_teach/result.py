"""What a run returns: the result, and the optimizer's state to continue it.

`StyleTransferResult` is what `nst.stylize` returns; `OptimizerState` (its
`optimizer_state`) lets a later `stylize(..., resume=result.optimizer_state)`
go on where the run ended, with Adam's moments or L-BFGS's memory kept, as if
it had not stopped. `divergence_message` says whether a finished run diverged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass
class OptimizerState:
    """Where a run's optimizer stood at its last step, to continue it (`stylize(resume=...)`).

    Attributes:
        optimizer: `"adam"`, `"lbfgs"` or `"sgd"`: a resumed run must use the same.
        solver: The optimizer object itself (`core.loop.Adam` with its moments and
            step count, `core.loop.SGD` with its velocity, `lbfgs.LBFGS` with its
            memory); resuming goes on updating it.
        image: The last step's image (not the best one: the optimizer's state
            belongs to it), float32 `(1, H, W, 3)` in [0, 1]; with
            `preserve_colors="luminance"`, the luminance image being optimized.
        steps: How many steps the optimizer has taken so far, over every resume.
    """

    optimizer: str
    solver: Any
    image: np.ndarray
    steps: int

    def __repr__(self) -> str:
        return (f"OptimizerState(optimizer={self.optimizer!r}, image={self.image.shape}, "
                f"steps={self.steps})")


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
        optimizer_state: The optimizer's state at the last step (an
            `OptimizerState`; None for a coarse-to-fine run or one that never
            stepped): pass it as `stylize(..., resume=...)` to continue.
    """

    image: np.ndarray
    history: list
    status: str
    message: str
    device: str
    settings: dict
    best_step: int
    optimizer_state: OptimizerState | None = None

    @property
    def losses(self) -> dict:
        """The loss terms of `image` (empty if no step was evaluated)."""
        return self.history[self.best_step] if self.history else {}

    def __repr__(self) -> str:
        return (f"StyleTransferResult(image={self.image.shape}, steps={len(self.history) - 1}, "
                f"best_step={self.best_step}, total={self.losses.get('total', float('nan')):.4g}, "
                f"status={self.status!r}, device={self.device!r})")



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
