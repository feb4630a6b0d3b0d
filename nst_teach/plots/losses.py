"""Loss curves: every term of a history, per layer, on a log scale."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from nst_teach.images import show_in_notebooks
from nst_teach.plots.common import LOSS_COLORS, LOSS_TERMS


def _series(history: Sequence[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    steps = np.array([record["step"] for record in history if key in record], dtype=float)
    values = np.array([record[key] for record in history if key in record], dtype=float)
    return steps, values


def _style_layer_keys(history: Sequence[dict]) -> list[str]:
    keys = {}
    for record in history:
        keys.update(dict.fromkeys(key for key in record if key.startswith("style/")))
    return list(keys)


def _prepare_loss_axes(axes, title: str, log_scale: bool) -> None:
    axes.set_title(title, fontsize=9)
    axes.set_xlabel("step", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(True, alpha=0.3)
    if log_scale:
        axes.set_yscale("log", nonpositive="mask")
        axes.yaxis.set_minor_locator(NullLocator())  # minor ticks would double the drawing time


def plot_losses(history: Sequence[dict], log_scale: bool = True, per_layer: bool = True,
                size: tuple[float, float] = (4.0, 2.6), dpi: float = 80) -> Figure:
    """Draws the loss terms of a run against the step.

    Args:
        history: `StyleTransferResult.history` (or `Run.history`): dicts with
            `step`, `total`, `content`, `style`, `tv` and `style/<layer>`.
        log_scale: Logarithmic loss axis (zeros are left out).
        per_layer: Add a second panel with each style layer's term.
        size: Size of one panel in inches.
        dpi: Resolution (small by default: the widgets redraw it often).

    Returns:
        A Figure with one axes (the weighted terms), or two with `per_layer`.
        An empty history gives empty axes saying so.

    Raises:
        ValueError: If a record has no `step`.
    """
    history = list(history)
    if any("step" not in record for record in history):
        raise ValueError("Every history record needs a 'step' (use StyleTransferResult.history "
                         "or Run.history).")
    panels = 2 if per_layer else 1
    figure = Figure(figsize=(size[0] * panels, size[1]), dpi=dpi)
    show_in_notebooks(figure)
    # Fixed margins: a layout engine would triple the drawing time, and the
    # widgets redraw this figure while the optimization runs.
    figure.subplots_adjust(left=0.09 / panels, right=1.0 - 0.02 / panels, bottom=0.17,
                           top=0.9, wspace=0.2)
    all_axes = figure.subplots(1, panels, squeeze=False)[0]
    _prepare_loss_axes(all_axes[0], "weighted loss terms", log_scale)
    for key in LOSS_TERMS:
        steps, values = _series(history, key)
        if len(steps):
            all_axes[0].plot(steps, values, label=key, color=LOSS_COLORS[key], linewidth=1.2)
    if per_layer:
        _prepare_loss_axes(all_axes[1], "style term per layer", log_scale)
        for key in _style_layer_keys(history):
            steps, values = _series(history, key)
            all_axes[1].plot(steps, values, label=key.removeprefix("style/"), linewidth=1.0)
    for axes in all_axes:
        if axes.lines:
            axes.legend(fontsize=6, loc="upper right")
        else:
            axes.text(0.5, 0.5, "no steps yet" if not history else "no such terms",
                      ha="center", va="center", transform=axes.transAxes, color="gray")
    return figure
