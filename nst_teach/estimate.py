"""How long a style transfer takes and how much memory it needs, before running it.

The numbers come from measurements, not from a formula: the table
``nst_teach/data/costs.json`` holds, per backbone and optimizer, the seconds
per step, the start-up time and the peak resident memory of `nst.stylize` at
several image sizes, each measured in a fresh process by
``benchmarks/measure_costs.py`` (the table records the machine and the date).

The model: the cost of one step is one forward and one backward pass through
VGG (L-BFGS sometimes evaluates the loss more than once in a step; the
measurement includes that), and both the time and the memory grow in
proportion to the number of pixels, on top of a fixed part (TensorFlow itself
takes about 0.6 GB before the first image). So ``time ≈ a + b * pixels`` and
``memory ≈ c + d * pixels`` per backbone and optimizer (`fit_cost_model` fits
these lines). `estimate_cost` goes one step further and draws straight lines
between neighbouring measured points (piecewise-linear in the pixel count,
extended past the smallest and largest size with the end segments), so it
returns the measurements exactly at the measured sizes.

How close it is elsewhere: ``python benchmarks/measure_costs.py --check SIZE``
measures a size that is not in the table and compares (its figures are in
docs/benchmarks.md). Memory grows in steps (the allocator's), so between
measured sizes expect a few percent either way.

Binder stops a session above 2 GB; `warn_if_too_large` issues a
`MemoryBudgetWarning` before a run that would cross a budget (Binder's by
default, or the profile's, see `nst_teach.profiles`).

Each measurement records `nst.stylize`'s ``precision`` (the dtype of the
convolutions): ``"auto"`` looks up what stylize resolves to on this CPU
(bfloat16 on CPUs with native bfloat16, where a step takes about half the
time of float32's and a little less memory).

The measurements were taken on a CPU: on a GPU the time per step is far
smaller, and the memory that matters is the GPU's, which this table does not
describe.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from nst_teach.config import resolve_precision
from nst_teach.profiles import BINDER_MEMORY_MB

BACKBONES = ("vgg16", "vgg19")
OPTIMIZERS = ("lbfgs", "adam", "sgd")
MEASURED_AS = {"sgd": "adam"}  # SGD's step costs what Adam's does: one loss and gradient
MIN_SIZE = 16


class MemoryBudgetWarning(UserWarning):
    """Warns that a setting would need more memory than the budget (Binder's 2 GB)."""


@dataclasses.dataclass(frozen=True)
class CostEstimate:
    """What `estimate_cost` predicts for one setting.

    Attributes:
        height: Image height in pixels.
        width: Image width in pixels.
        backbone: ``"vgg16"`` or ``"vgg19"``.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.
        num_steps: Optimizer steps.
        seconds_per_step: Mean time of one step, in seconds.
        setup_seconds: Time before the first step (weights, tracing).
        total_seconds: ``setup_seconds + num_steps * seconds_per_step``.
        peak_memory_mb: Peak resident memory of the process, in MB (2**20 bytes).
        memory_budget_mb: The budget compared with, or None.
        warning: A sentence when the peak exceeds the budget, else None.
        measured_on: The machine the table was measured on, and when.
    """

    height: int
    width: int
    backbone: str
    optimizer: str
    num_steps: int
    seconds_per_step: float
    setup_seconds: float
    total_seconds: float
    peak_memory_mb: float
    memory_budget_mb: float | None
    warning: str | None
    measured_on: str

    @property
    def pixels(self) -> int:
        """``height * width``."""
        return self.height * self.width

    def __str__(self) -> str:
        text = (f"{self.height} x {self.width} px, {self.backbone}, {self.optimizer}: "
                f"about {self.seconds_per_step:.2g} s per step, {self.total_seconds:.0f} s for "
                f"{self.num_steps} steps, peak memory {self.peak_memory_mb / 1024:.2f} GB "
                f"(measured on {self.measured_on})")
        return text + (f". {self.warning}" if self.warning else "")


@functools.cache
def load_cost_table() -> dict:
    """Reads the measured table shipped with nst_teach (``nst_teach/data/costs.json``).

    Returns:
        A dict with ``machine``, ``date``, ``description``, ``command`` and
        ``measurements`` (one dict per setting: ``backbone``, ``optimizer``,
        ``height``, ``width``, ``pixels``, ``seconds_per_step``,
        ``setup_seconds``, ``peak_memory_mb``, ...).
    """
    text = importlib.resources.files("nst_teach").joinpath("data", "costs.json").read_text()
    return json.loads(text)


def cost_series(backbone: str, optimizer: str, table: dict | None = None, *,
                precision: str = "auto") -> list[dict]:
    """The measurements of one backbone, optimizer and precision, smallest image first.

    Args:
        backbone: ``"vgg16"`` or ``"vgg19"``.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"`` (measured as Adam).
        table: A table like `load_cost_table`'s (default: the shipped one).
        precision: `nst.stylize`'s ``precision``; ``"auto"`` is what it
            resolves to on this machine's CPU (`nst_teach.config.resolve_precision`).
            Records without one were measured in float32.

    Returns:
        The records, sorted by pixel count (at least two).

    Raises:
        ValueError: For an unknown backbone or optimizer, or too few measurements.
    """
    _check_choice("backbone", backbone, BACKBONES)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    table = load_cost_table() if table is None else table
    measured = MEASURED_AS.get(optimizer, optimizer)
    dtype = resolve_precision(precision, gpu=False)  # the table describes a CPU
    series = sorted((record for record in table["measurements"]
                     if record["backbone"] == backbone and record["optimizer"] == measured
                     and record.get("precision", "float32") == dtype),
                    key=lambda record: record["pixels"])
    if len(series) < 2:
        raise ValueError(f"The cost table has {len(series)} measurement(s) of {backbone} with "
                         f"{measured} in {dtype}; at least 2 are needed: run "
                         f"benchmarks/measure_costs.py --precision {dtype}.")
    return series


def interpolate(pixels: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    """Piecewise-linear interpolation, extended with the end segments.

    Args:
        pixels: Where to evaluate.
        xs: Increasing pixel counts (at least two).
        ys: The measured values there.

    Returns:
        The value on the straight line between the two neighbouring points;
        below the first or above the last point, on the first or last segment
        extended (never below 0).
    """
    index = int(np.clip(np.searchsorted(xs, pixels), 1, len(xs) - 1))
    x0, x1, y0, y1 = xs[index - 1], xs[index], ys[index - 1], ys[index]
    return max(0.0, float(y0 + (y1 - y0) * (pixels - x0) / (x1 - x0)))


def fit_cost_model(backbone: str = "vgg16", optimizer: str = "lbfgs",
                   table: dict | None = None, *,
                   precision: str = "auto") -> dict[str, tuple[float, float]]:
    """Fits ``value ≈ intercept + slope * pixels`` to the measurements (least squares).

    Args:
        backbone: ``"vgg16"`` or ``"vgg19"``.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.
        table: A table like `load_cost_table`'s (default: the shipped one).
        precision: `nst.stylize`'s ``precision`` (see `cost_series`).

    Returns:
        ``{"seconds_per_step": (a, b), "peak_memory_mb": (c, d), "setup_seconds":
        (e, f)}``: intercept and slope per pixel of each.
    """
    series = cost_series(backbone, optimizer, table, precision=precision)
    pixels = np.array([record["pixels"] for record in series], dtype=np.float64)
    model = {}
    for key in ("seconds_per_step", "peak_memory_mb", "setup_seconds"):
        values = np.array([record[key] for record in series], dtype=np.float64)
        slope, intercept = np.polyfit(pixels, values, 1)
        model[key] = (float(intercept), float(slope))
    return model


def estimate_cost(image_size: int | Sequence[int], backbone: str = "vgg16",
                  optimizer: str = "lbfgs", num_steps: int | None = None,
                  memory_budget_mb: float | None = BINDER_MEMORY_MB,
                  table: dict | None = None, *, precision: str = "auto") -> CostEstimate:
    """Predicts the time and the peak memory of `nst.stylize` from the measured table.

    Args:
        image_size: The content image's longer side in pixels (the estimate
            assumes a square image, the most pixels for that side), or its
            ``(height, width)``. The style image is assumed no larger.
        backbone: ``"vgg16"`` or ``"vgg19"``.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"`` (costs like Adam).
        num_steps: Steps; None uses `nst.stylize`'s default for the optimizer.
        memory_budget_mb: Budget in MB (2**20 bytes); the estimate's
            ``warning`` says when the peak exceeds it. None: no budget.
        table: A table like `load_cost_table`'s (default: the shipped one).
        precision: `nst.stylize`'s ``precision`` (see `cost_series`).

    Returns:
        A `CostEstimate`.

    Raises:
        ValueError: For a size below 16 px or not whole numbers, an unknown
            backbone or optimizer, a negative number of steps or budget.
    """
    height, width = _check_size(image_size)
    series = cost_series(backbone, optimizer, table, precision=precision)
    if num_steps is None:
        # Imported here, not at the top, so that optimize.py may import this module.
        from nst_teach.settings import OPTIMIZER_DEFAULTS

        num_steps = OPTIMIZER_DEFAULTS[optimizer]["num_steps"]
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 0:
        raise ValueError(f"num_steps must be a whole number >= 0 or None (the optimizer's "
                         f"default), got {num_steps!r}.")
    if memory_budget_mb is not None and not memory_budget_mb > 0:
        raise ValueError(f"memory_budget_mb must be > 0 (in MB, e.g. 2048) or None, got "
                         f"{memory_budget_mb!r}.")
    xs = [record["pixels"] for record in series]
    value = {key: interpolate(height * width, xs, [record[key] for record in series])
             for key in ("seconds_per_step", "setup_seconds", "peak_memory_mb")}
    table = load_cost_table() if table is None else table
    machine = table.get("machine", {})
    measured_on = (f"{machine.get('cpu', 'unknown CPU')}, {machine.get('cores', '?')} cores, "
                   f"{table.get('date', 'unknown date')}")
    warning = _budget_warning((height, width), backbone, optimizer, value["peak_memory_mb"],
                              memory_budget_mb, table, precision)
    return CostEstimate(
        height=height, width=width, backbone=backbone, optimizer=optimizer,
        num_steps=int(num_steps), seconds_per_step=value["seconds_per_step"],
        setup_seconds=value["setup_seconds"],
        total_seconds=value["setup_seconds"] + int(num_steps) * value["seconds_per_step"],
        peak_memory_mb=value["peak_memory_mb"], memory_budget_mb=memory_budget_mb,
        warning=warning, measured_on=measured_on)


def _budget_warning(shape: tuple[int, int], backbone: str, optimizer: str, peak_mb: float,
                    memory_budget_mb: float | None, table: dict, precision: str) -> str | None:
    """The sentence for a peak above the budget, with the largest size that fits; or None."""
    if memory_budget_mb is None or peak_mb <= memory_budget_mb:
        return None
    largest = largest_size_within(memory_budget_mb, backbone, optimizer, table,
                                  precision=precision)
    advice = (f"use images of at most {largest} px (longer side)" if largest else
              "even the smallest image does not fit")
    return (f"{shape[0]} x {shape[1]} px with {backbone} and {optimizer} needs about "
            f"{peak_mb / 1024:.1f} GB, more than the budget of {memory_budget_mb / 1024:g} GB "
            f"(Binder stops a session above 2 GB): {advice}.")


def largest_size_within(memory_budget_mb: float, backbone: str = "vgg16",
                        optimizer: str = "lbfgs", table: dict | None = None,
                        step: int = 16, *, precision: str = "auto") -> int | None:
    """The largest square image side (a multiple of `step`) whose estimated peak fits.

    Args:
        memory_budget_mb: Budget in MB (2**20 bytes).
        backbone: ``"vgg16"`` or ``"vgg19"``.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.
        table: A table like `load_cost_table`'s (default: the shipped one).
        step: Granularity in pixels.
        precision: `nst.stylize`'s ``precision`` (see `cost_series`).

    Returns:
        The side in pixels, or None if not even `step` x `step` fits.
    """
    series = cost_series(backbone, optimizer, table, precision=precision)
    xs = [record["pixels"] for record in series]
    ys = [record["peak_memory_mb"] for record in series]
    largest = None
    for side in range(step, 8192 + 1, step):
        if interpolate(side * side, xs, ys) > memory_budget_mb:
            break
        largest = side
    return largest


def warn_if_too_large(image_size: int | Sequence[int], backbone: str = "vgg16",
                      optimizer: str = "lbfgs", num_steps: int | None = None,
                      memory_budget_mb: float | None = BINDER_MEMORY_MB,
                      stacklevel: int = 2, *, precision: str = "auto") -> CostEstimate:
    """Estimates the cost and issues a `MemoryBudgetWarning` if the peak exceeds the budget.

    Args:
        image_size: Longer side (square assumed) or ``(height, width)``.
        backbone: ``"vgg16"`` or ``"vgg19"``.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.
        num_steps: Steps (None: the optimizer's default).
        memory_budget_mb: Budget in MB; None never warns. Pass
            ``nst.current_profile().memory_budget_mb`` to follow the profile.
        stacklevel: Passed to `warnings.warn` (2: the caller's line).
        precision: `nst.stylize`'s ``precision`` (see `cost_series`).

    Returns:
        The `CostEstimate` (its ``warning`` is the warning's message, or None).
    """
    estimate = estimate_cost(image_size, backbone, optimizer, num_steps, memory_budget_mb,
                             precision=precision)
    if estimate.warning:
        warnings.warn(estimate.warning, MemoryBudgetWarning, stacklevel=stacklevel)
    return estimate


def memory_warning(shape: Sequence[int], backbone: str, optimizer: str, num_steps: int | None,
                   precision: str = "auto", memory_budget_mb: float | None = None) -> str | None:
    """The warning to give before a run that may not fit the budget, or None.

    The one check behind `stylize`'s `MemoryBudgetWarning` and the command
    line's one-line warning. The estimate never stops a run: a setting the
    measured table does not describe gets no warning.

    Args:
        shape: The largest stage's `(height, width)`.
        backbone: ``"vgg16"`` or ``"vgg19"``.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.
        num_steps: The steps of that stage.
        precision: `nst.stylize`'s ``precision``.
        memory_budget_mb: The budget; None: the current profile's.
    """
    if memory_budget_mb is None:
        from nst_teach.profiles import current_profile

        memory_budget_mb = current_profile(announce=False).memory_budget_mb
    try:
        return estimate_cost(tuple(shape), backbone, optimizer, num_steps, memory_budget_mb,
                             precision=precision).warning
    except ValueError:
        return None


def _check_choice(name: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {name} {value!r}: use one of {', '.join(map(repr, allowed))}.")


def _check_size(image_size: Any) -> tuple[int, int]:
    """Turns a longer side or a (height, width) into (height, width), checking both."""
    sizes = (image_size, image_size) if not isinstance(image_size, (tuple, list)) else image_size
    if len(sizes) != 2 or any(isinstance(size, bool) or not isinstance(size, (int, np.integer))
                              for size in sizes):
        raise ValueError(f"image_size must be a whole number of pixels (the longer side, such "
                         f"as 256) or (height, width), got {image_size!r}.")
    if min(sizes) < MIN_SIZE:
        raise ValueError(f"image_size must be at least {MIN_SIZE} px on each side (VGG's five "
                         f"poolings halve it five times), got {image_size!r}.")
    return int(sizes[0]), int(sizes[1])
