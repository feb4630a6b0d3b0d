"""Loss curves: every term of a history, per layer, against steps or seconds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from nst_teach.images import show_in_notebooks
from nst_teach.plots.common import LOSS_COLORS, LOSS_TERMS


X_AXES = {"step": "step", "time": "seconds"}  # history key -> axis label


def _series(history: Sequence[dict], key: str, x_axis: str = "step"
            ) -> tuple[np.ndarray, np.ndarray]:
    """The x values (steps or seconds) and the values of one term, where it was recorded."""
    records = [record for record in history if key in record]
    return (np.array([record[x_axis] for record in records], dtype=float),
            np.array([record[key] for record in records], dtype=float))


def _style_layer_keys(history: Sequence[dict]) -> list[str]:
    keys = {}
    for record in history:
        keys.update(dict.fromkeys(key for key in record if key.startswith("style/")))
    return list(keys)


def _prepare_loss_axes(axes, title: str, log_scale: bool, x_axis: str = "step") -> None:
    axes.set_title(title, fontsize=9)
    axes.set_xlabel(X_AXES[x_axis], fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(True, alpha=0.3)
    if log_scale:
        axes.set_yscale("log", nonpositive="mask")
        axes.yaxis.set_minor_locator(NullLocator())  # minor ticks would double the drawing time


def plot_losses(history: Sequence[dict], log_scale: bool = True, per_layer: bool = True,
                size: tuple[float, float] = (4.0, 2.6), dpi: float = 80, x_axis: str = "step",
                terms: Sequence[str] = LOSS_TERMS) -> Figure:
    """Draws the loss terms of a run against the step or the time.

    Args:
        history: `StyleTransferResult.history` (or `Run.history`): dicts with
            `step`, `time`, `total`, `content`, `style`, `tv` and `style/<layer>`.
        log_scale: Logarithmic loss axis (zeros are left out).
        per_layer: Add a second panel with each style layer's term.
        size: Size of one panel in inches.
        dpi: Resolution (small by default: the widgets redraw it often).
        x_axis: `"step"` or `"time"` (seconds since the run started, tracing
            included: the axis on which optimizers are compared fairly).
        terms: Which of `total`, `content`, `style`, `tv` to draw.

    Returns:
        A Figure with one axes (the weighted terms), or two with `per_layer`.
        An empty history gives empty axes saying so.

    Raises:
        ValueError: For an unknown axis or term, or a record without the x value.
    """
    history = list(history)
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be 'step' or 'time', got {x_axis!r}.")
    unknown = [term for term in terms if term not in LOSS_TERMS]
    if unknown or isinstance(terms, str):
        raise ValueError(f"terms must be a list of {', '.join(LOSS_TERMS)}, got {terms!r}.")
    if any(x_axis not in record for record in history):
        raise ValueError(f"Every history record needs a {x_axis!r} (use "
                         "StyleTransferResult.history or Run.history).")
    panels = 2 if per_layer else 1
    figure = Figure(figsize=(size[0] * panels, size[1]), dpi=dpi)
    show_in_notebooks(figure)
    # Fixed margins: a layout engine would triple the drawing time, and the
    # widgets redraw this figure while the optimization runs.
    figure.subplots_adjust(left=0.09 / panels, right=1.0 - 0.02 / panels, bottom=0.17,
                           top=0.9, wspace=0.2)
    all_axes = figure.subplots(1, panels, squeeze=False)[0]
    _prepare_loss_axes(all_axes[0], "weighted loss terms", log_scale, x_axis)
    for key in (term for term in LOSS_TERMS if term in terms):
        xs, values = _series(history, key, x_axis)
        if len(xs):
            all_axes[0].plot(xs, values, label=key, color=LOSS_COLORS[key], linewidth=1.2)
    if per_layer:
        _prepare_loss_axes(all_axes[1], "style term per layer", log_scale, x_axis)
        for key in _style_layer_keys(history):
            xs, values = _series(history, key, x_axis)
            all_axes[1].plot(xs, values, label=key.removeprefix("style/"), linewidth=1.0)
    for axes in all_axes:
        if axes.lines:
            axes.legend(fontsize=6, loc="upper right")
        else:
            axes.text(0.5, 0.5, "no steps yet" if not history else "no such terms",
                      ha="center", va="center", transform=axes.transAxes, color="gray")
    return figure


def plot_loss_comparison(histories: Mapping[str, Sequence[dict]], x_axis: str = "time",
                         term: str = "total", log_scale: bool = True,
                         size: tuple[float, float] = (6.0, 3.2), dpi: float = 80) -> Figure:
    """Draws one loss term of several runs on one axes, to compare them.

    Args:
        histories: Label to a run's history (e.g. `{"adam": result.history}`).
        x_axis: `"time"` (seconds: a fair race between optimizers whose steps
            cost differently) or `"step"`.
        term: `"total"`, `"content"`, `"style"` or `"tv"`.
        log_scale: Logarithmic loss axis.
        size: Figure size in inches.
        dpi: Resolution.

    Returns:
        A Figure with one axes and a line per run.

    Raises:
        ValueError: For an unknown axis or term, or no runs.
    """
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be 'step' or 'time', got {x_axis!r}.")
    if term not in LOSS_TERMS:
        raise ValueError(f"term must be one of {', '.join(LOSS_TERMS)}, got {term!r}.")
    if not histories:
        raise ValueError("Give at least one run to compare, e.g. {'adam': result.history}.")
    figure = Figure(figsize=size, dpi=dpi)
    show_in_notebooks(figure)
    figure.subplots_adjust(left=0.12, right=0.98, bottom=0.16, top=0.9)
    axes = figure.subplots()
    _prepare_loss_axes(axes, f"{term} loss", log_scale, x_axis)
    for label, history in histories.items():
        xs, values = _series(list(history), term, x_axis)
        axes.plot(xs, values, label=label, linewidth=1.2)
    axes.legend(fontsize=7, loc="upper right")
    return figure


def plot_style_shares(layer_terms: Mapping[str, float], size: tuple[float, float] = (4.0, 2.4),
                      dpi: float = 80) -> Figure:
    """A bar per style layer: its share of the style term, in percent.

    Args:
        layer_terms: Layer name to its weighted style term (e.g. the
            `style/<layer>` entries of a history record, or losses times the
            layer weights); all >= 0.
        size: Figure size in inches.
        dpi: Resolution.

    Returns:
        A Figure with one axes; each bar is labelled with its percentage.

    Raises:
        ValueError: For no layers or a negative term.
    """
    names = [name.removeprefix("style/") for name in layer_terms]
    values = np.array([float(value) for value in layer_terms.values()])
    if not len(values) or (values < 0).any():
        raise ValueError(f"layer_terms must map at least one layer to a term >= 0, got "
                         f"{dict(layer_terms)}.")
    shares = 100 * values / values.sum() if values.sum() > 0 else np.zeros_like(values)
    figure = Figure(figsize=size, dpi=dpi)
    show_in_notebooks(figure)
    figure.subplots_adjust(left=0.12, right=0.98, bottom=0.3, top=0.86)
    axes = figure.subplots()
    bars = axes.bar(names, shares, color=LOSS_COLORS["style"])
    axes.bar_label(bars, labels=[f"{share:.0f} %" for share in shares], fontsize=7)
    axes.set_title("share of the style term per layer", fontsize=9)
    axes.set_ylim(0, 110)
    axes.tick_params(labelsize=7)
    axes.tick_params(axis="x", labelrotation=30)
    return figure
