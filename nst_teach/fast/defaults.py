"""Training defaults per device, and `TrainingSettings`, checked once."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from nst_teach.optimize import device_name
from nst_teach.transformer import (
    CPU_ARCHITECTURE,
    MIN_SIDE,
    PAPER_ARCHITECTURE,
)

# Defaults per device, measured with benchmarks/bench_fast.py (CPU) and chosen
# after Johnson et al. (GPU: 256 px crops, batch 4, the paper's network).
CPU_DEFAULTS = {**CPU_ARCHITECTURE, "crop_size": 128, "batch_size": 2, "num_steps": 400,
                "learning_rate": 1e-3, "style_size": 256}


GPU_DEFAULTS = {**PAPER_ARCHITECTURE, "crop_size": 256, "batch_size": 4, "num_steps": 4000,
                "learning_rate": 1e-3, "style_size": 256}


def default_settings(device: str | None = None) -> dict:
    """The training defaults for a device: network width, crops, batch, steps.

    Args:
        device: `"CPU"` or a GPU name; None uses `nst.device_name()`.

    Returns:
        A copy of `CPU_DEFAULTS` or `GPU_DEFAULTS`.
    """
    device = device_name() if device is None else device
    return dict(GPU_DEFAULTS if device.startswith("GPU") else CPU_DEFAULTS)


def _positive_int(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    return int(value)


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """How fast training runs: steps or a time budget, crops, batches, rate, style size.

    Checked when made (`with_defaults` fills what was left as None from
    `default_settings()`).

    Attributes:
        num_steps: Total steps to reach, counting resumed ones.
        max_seconds: Time budget in seconds for this call (setup included); training
            stops after the step that reaches it. With only `max_seconds`, there is no
            step limit.
        crop_size: Side of the square training crops in pixels.
        batch_size: Crops per step per device.
        learning_rate: Adam's learning rate, also when resuming (not the checkpoint's).
        style_size: Longer side of the style image in pixels.
        preview_every: Steps between previews.
        checkpoint_every: Steps between checkpoints (one is also saved at the end).

    Raises:
        ValueError: For a value that is not a positive number, or crops
            smaller than the network's `MIN_SIDE`.
    """

    num_steps: int | None
    max_seconds: float | None
    crop_size: int
    batch_size: int
    learning_rate: float
    style_size: int
    preview_every: int = 50
    checkpoint_every: int = 100

    def __post_init__(self):
        _positive_int(self.num_steps, "num_steps", allow_none=True)
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be a number > 0, got {self.max_seconds!r}.")
        for name in ("crop_size", "batch_size", "style_size", "preview_every",
                     "checkpoint_every"):
            _positive_int(getattr(self, name), name)
        if self.crop_size < MIN_SIDE:
            raise ValueError(f"crop_size must be at least {MIN_SIDE} px, got {self.crop_size}.")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, such as 1e-3, got "
                             f"{self.learning_rate}.")

    @classmethod
    def with_defaults(cls, defaults: Mapping[str, Any], **given: Any) -> TrainingSettings:
        """The settings, each None taken from `defaults` (the steps only without a time budget)."""
        if given["num_steps"] is None and given["max_seconds"] is None:
            given["num_steps"] = defaults["num_steps"]
        for name in ("crop_size", "batch_size", "learning_rate", "style_size"):
            if given[name] is None:
                given[name] = defaults[name]
        return cls(**given)
