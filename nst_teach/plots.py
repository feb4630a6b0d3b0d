"""Pictures of what the network sees: activations, Gram matrices, loss curves.

Every function here is pure: it takes NumPy arrays (or tensors, or a loss
history) and returns a `matplotlib.figure.Figure` built with the
object-oriented API, never through pyplot, so nothing needs closing and the
same figure works in a notebook, in print (`figure.savefig`) and inside a
widget (`figure_to_png`). The widgets in `nst_teach.widgets` draw nothing
themselves: they call these functions.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import Normalize, PowerNorm, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from nst_teach.images import show_in_notebooks

LOSS_TERMS = ("total", "content", "style", "tv")
LOSS_COLORS = {"total": "black", "content": "tab:blue", "style": "tab:red", "tv": "tab:green"}
DEFAULT_CHANNEL_COUNT = 16
ACTIVATION_COLORMAP = "viridis"
GRAM_COLORMAP = "magma"
DIFFERENCE_COLORMAP = "RdBu_r"
SATURATION_PERCENTILE = 99.5


def figure_to_png(figure: Figure, dpi: float | None = None) -> bytes:
    """Renders a figure to PNG file bytes (for `ipywidgets.Image` or a file).

    Args:
        figure: A `matplotlib.figure.Figure` (pyplot is not needed).
        dpi: Resolution; the figure's own when `None`.

    Returns:
        The PNG file's bytes.

    Raises:
        TypeError: If `figure` is not a matplotlib Figure.
    """
    if not isinstance(figure, Figure):
        raise TypeError(f"figure_to_png expects a matplotlib Figure, got "
                        f"{type(figure).__name__}.")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi if dpi is not None else figure.dpi)
    return buffer.getvalue()


def _as_activations(activations: Any) -> np.ndarray:
    """Returns activations as float32 NumPy `(H, W, C)`, checking `(1, H, W, C)`."""
    array = np.asarray(activations, dtype=np.float32)
    if array.ndim != 4 or array.shape[0] != 1:
        raise ValueError(f"Expected the activations of one image, shape (1, H, W, C), got "
                         f"shape {array.shape}; select one image with activations[i:i + 1].")
    return array[0]


def most_active_channels(activations: Any, count: int) -> list[int]:
    """Finds the channels with the largest mean activation.

    Args:
        activations: float `(1, H, W, C)`, one layer's activations.
        count: How many channels to return, `1 <= count <= C`.

    Returns:
        `count` channel indices, most active first (ties: lower index first).

    Raises:
        ValueError: If the shape is wrong or `count` is out of range.
    """
    array = _as_activations(activations)
    num_channels = array.shape[-1]
    if not isinstance(count, (int, np.integer)) or not 1 <= count <= num_channels:
        raise ValueError(f"count must be a whole number from 1 to {num_channels} (the number "
                         f"of channels), got {count!r}.")
    means = array.mean(axis=(0, 1))
    order = np.argsort(-means, kind="stable")
    return [int(channel) for channel in order[:count]]


def plot_activations(activations: Any, channels: Sequence[int] | None = None,
                     columns: int = 8, title: str | None = None,
                     panel_size: float = 1.2) -> Figure:
    """Draws chosen channels (feature maps) of one layer's activations as a grid.

    Each panel has its own colour scale (from 0 to the channel's maximum, so a
    dead channel is uniformly dark); its title gives the channel index and its
    mean activation.

    Args:
        activations: float `(1, H, W, C)`, one layer's activations.
        channels: Channel indices to draw; by default the 16 most active ones
            (or all, if there are fewer).
        columns: Panels per row.
        title: Title above the grid.
        panel_size: Side of one panel in inches.

    Returns:
        A Figure with one axes per channel.

    Raises:
        ValueError: If the shape is wrong, a channel is out of range or there
            are no channels.
    """
    array = _as_activations(activations)
    num_channels = array.shape[-1]
    if channels is None:
        channels = most_active_channels(activations, min(DEFAULT_CHANNEL_COUNT, num_channels))
    channels = [int(channel) for channel in channels]
    if not channels:
        raise ValueError("plot_activations needs at least one channel index.")
    invalid = [channel for channel in channels if not 0 <= channel < num_channels]
    if invalid:
        raise ValueError(f"Channel {invalid[0]} does not exist: this layer has {num_channels} "
                         f"channels, 0 to {num_channels - 1}.")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}.")
    columns = min(columns, len(channels))
    rows = math.ceil(len(channels) / columns)
    height, width = array.shape[:2]
    aspect = height / width
    extra = 0.35 if title else 0.0
    figure = Figure(figsize=(panel_size * columns,
                            panel_size * aspect * rows + 0.25 * rows + extra))
    show_in_notebooks(figure)
    for index, channel in enumerate(channels):
        axes = figure.add_subplot(rows, columns, index + 1)
        plane = array[..., channel]
        axes.imshow(plane, cmap=ACTIVATION_COLORMAP, vmin=0.0,
                    vmax=max(float(plane.max()), 1e-12), interpolation="nearest")
        axes.set_title(f"{channel} ({plane.mean():.3g})", fontsize=7, pad=2)
        axes.set_axis_off()
    if title:
        figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, wspace=0.05, hspace=0.2,
                           top=1.0 - (extra + 0.2) / figure.get_figheight())
    return figure


def plot_channel_comparison(activations: Sequence[Any], channel: int,
                            titles: Sequence[str] | None = None, title: str | None = None,
                            panel_size: float = 3.0) -> Figure:
    """Draws one channel of several images' activations side by side, on one colour scale.

    Unlike `plot_activations`, all panels share the colour scale (from 0 to
    the largest value of the channel in any of them), so the brighter panel
    is the image that excites the channel more. The images may differ in size.

    Args:
        activations: One float `(1, H, W, C)` array per image, all from the
            same layer (the same number of channels C).
        channel: The channel index to draw, `0 <= channel < C`.
        titles: One panel title per image (e.g. the image names); the
            channel's mean activation is appended.
        title: Title above the panels.
        panel_size: Width of one panel in inches.

    Returns:
        A Figure with one axes per image (and a shared colour bar).

    Raises:
        ValueError: If there are no activations, the channel counts differ,
            the channel is out of range or the titles do not match.
    """
    arrays = [_as_activations(array) for array in activations]
    if not arrays:
        raise ValueError("plot_channel_comparison needs the activations of at least one image.")
    counts = sorted({array.shape[-1] for array in arrays})
    if len(counts) > 1:
        raise ValueError(f"The activations have different channel counts {counts}: compare "
                         "the same layer of each image.")
    if not isinstance(channel, (int, np.integer)) or not 0 <= channel < counts[0]:
        raise ValueError(f"Channel {channel!r} does not exist: this layer has {counts[0]} "
                         f"channels, 0 to {counts[0] - 1}.")
    titles = [f"image {index + 1}" for index in range(len(arrays))] if titles is None else titles
    if len(titles) != len(arrays):
        raise ValueError(f"Got {len(titles)} titles for {len(arrays)} images.")
    planes = [array[..., int(channel)] for array in arrays]
    vmax = max(max(float(plane.max()) for plane in planes), 1e-12)
    aspect = max(plane.shape[0] / plane.shape[1] for plane in planes)
    extra = 0.35 if title else 0.0
    figure = Figure(figsize=(panel_size * len(planes) + 0.6,
                             panel_size * aspect + 0.3 + extra))
    show_in_notebooks(figure)
    grid = figure.add_gridspec(1, len(planes) + 1, width_ratios=[1.0] * len(planes) + [0.05],
                               left=0.02, right=0.92, bottom=0.02, wspace=0.08,
                               top=1.0 - (extra + 0.3) / figure.get_figheight())
    for index, (plane, name) in enumerate(zip(planes, titles)):
        axes = figure.add_subplot(grid[0, index])
        shown = axes.imshow(plane, cmap=ACTIVATION_COLORMAP, vmin=0.0, vmax=vmax,
                            interpolation="nearest")
        axes.set_title(f"{name} ({plane.mean():.3g})", fontsize=8, pad=2)
        axes.set_axis_off()
    figure.colorbar(shown, cax=figure.add_subplot(grid[0, -1]))
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def _as_gram(gram: Any, name: str = "gram") -> np.ndarray:
    """Returns a Gram matrix as float64 `(C, C)`, accepting `(1, C, C)`."""
    array = np.asarray(gram, dtype=np.float64)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise ValueError(f"{name} must be a square Gram matrix, shape (C, C) or (1, C, C), got "
                         f"shape {np.shape(gram)}; compute it with nst.gram_matrix(activations).")
    return array


def gram_channel_order(gram: Any) -> np.ndarray:
    """Orders channels so that channels which fire together sit together.

    Spectral seriation (Atkins et al. 1998): turn the Gram matrix into
    correlations `G[c, d] / sqrt(G[c, c] G[d, d])`, treat them as similarities
    (negative ones count as 0), and sort channels by the Fiedler vector of that
    similarity graph's Laplacian. Blocks of co-occurring features then show as
    bright squares along the diagonal. Dead channels (zero diagonal: they
    never fire on this image) go last, in index order.

    Args:
        gram: float `(C, C)` or `(1, C, C)`, e.g. from `nst.gram_matrix`.

    Returns:
        int `(C,)`, a permutation of `0 .. C - 1`; use `gram[np.ix_(order, order)]`.

    Raises:
        ValueError: If `gram` is not square.
    """
    matrix = _as_gram(gram)
    diagonal = np.diag(matrix)
    alive = np.flatnonzero(diagonal > 1e-12 * max(float(diagonal.max()), 1e-30))
    dead = np.setdiff1d(np.arange(len(matrix)), alive)
    if len(alive) <= 2:
        return np.concatenate([alive, dead]).astype(int)
    scale = np.sqrt(diagonal[alive])
    similarity = np.maximum(matrix[np.ix_(alive, alive)] / np.outer(scale, scale), 0.0)
    laplacian = np.diag(similarity.sum(axis=1)) - similarity
    _, vectors = np.linalg.eigh(laplacian)
    fiedler = vectors[:, 1]
    if fiedler[np.argmax(np.abs(fiedler))] < 0:  # eigenvectors have no sign: fix one
        fiedler = -fiedler
    order = alive[np.argsort(fiedler, kind="stable")]
    return np.concatenate([order, dead]).astype(int)


def _check_order(order: Any, size: int) -> np.ndarray:
    order = np.asarray(order, dtype=int)
    if order.shape != (size,) or not np.array_equal(np.sort(order), np.arange(size)):
        raise ValueError(f"order must be a permutation of 0 .. {size - 1} (for example "
                         "gram_channel_order(gram)).")
    return order


def _draw_gram(axes, matrix: np.ndarray, title: str, **imshow_options):
    image = axes.imshow(matrix, interpolation="antialiased", **imshow_options)
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])
    return image


def _gram_norm(*matrices: np.ndarray) -> Normalize:
    """A colour scale for Gram matrices, readable although a few entries dominate.

    Non-negative matrices (ReLU activations) get a square-root scale, so weak
    correlations stay visible; the top saturates at the 99.5th percentile.
    """
    values = np.concatenate([matrix.ravel() for matrix in matrices])
    low = float(values.min())
    high = max(float(np.percentile(values, SATURATION_PERCENTILE)), low + 1e-12)
    if low >= 0:
        return PowerNorm(gamma=0.5, vmin=0.0, vmax=high, clip=True)
    return Normalize(vmin=low, vmax=high, clip=True)


def _difference_norm(difference: np.ndarray) -> TwoSlopeNorm:
    """A diverging scale centred on 0, saturating at the 99.5th percentile of |difference|."""
    limit = max(float(np.percentile(np.abs(difference), SATURATION_PERCENTILE)), 1e-12)
    return TwoSlopeNorm(0.0, -limit, limit)


def plot_gram(gram: Any, title: str | None = None, order: Any = None,
              size: float = 4.0) -> Figure:
    """Draws a Gram matrix as a heatmap (square-root colour scale, see
    `plot_gram_comparison`).

    Args:
        gram: float `(C, C)` or `(1, C, C)`.
        title: Title of the heatmap; by default its size.
        order: A channel permutation (e.g. `gram_channel_order(gram)`) applied
            to rows and columns; `None` keeps the channels' order.
        size: Side of the figure in inches.

    Returns:
        A Figure with two axes: the heatmap and its colour bar.

    Raises:
        ValueError: If `gram` is not square or `order` is not a permutation.
    """
    matrix = _as_gram(gram)
    if order is not None:
        order = _check_order(order, len(matrix))
        matrix = matrix[np.ix_(order, order)]
    figure = Figure(figsize=(size + 0.8, size), layout="constrained")
    show_in_notebooks(figure)
    axes = figure.add_subplot()
    image = _draw_gram(axes, matrix, title or f"Gram matrix ({len(matrix)} x {len(matrix)})",
                       cmap=GRAM_COLORMAP, norm=_gram_norm(matrix))
    figure.colorbar(image, ax=axes, shrink=0.8)
    return figure


def plot_gram_comparison(style_gram: Any, image_gram: Any, loss: float | None = None,
                         layer: str | None = None, order: Any = "auto",
                         size: float = 3.0) -> Figure:
    """Draws the style's Gram matrix, the image's, and their difference.

    The first two share one colour scale (square root, so that weak
    correlations show); the difference (image - style) uses a diverging
    colour map centred on 0: red where the image has too much of a pair of
    features, blue where too little. Both saturate at the 99.5th percentile,
    so that a few huge entries do not hide the rest. The style loss is the
    mean of the squared difference.

    Args:
        style_gram: float `(C, C)` or `(1, C, C)`, the style image's.
        image_gram: Same shape, the generated (or content) image's.
        loss: The layer's style loss, shown in the title.
        layer: The layer's name, shown in the title.
        order: `"auto"` sorts channels with `gram_channel_order(style_gram)`;
            `None` keeps them; or give a permutation.
        size: Side of one panel in inches.

    Returns:
        A Figure with five axes: three heatmaps and two colour bars.

    Raises:
        ValueError: If the matrices are not square or differ in shape.
    """
    style = _as_gram(style_gram, "style_gram")
    image = _as_gram(image_gram, "image_gram")
    if style.shape != image.shape:
        raise ValueError(f"The Gram matrices differ in shape: style {style.shape}, image "
                         f"{image.shape}; compute both at the same layer.")
    if isinstance(order, str) and order == "auto":
        order = gram_channel_order(style)
    if order is not None:
        order = _check_order(order, len(style))
        style, image = style[np.ix_(order, order)], image[np.ix_(order, order)]
    difference = image - style
    figure = Figure(figsize=(3 * size + 1.5, size + 0.4), layout="constrained")
    show_in_notebooks(figure)
    left, middle, right = figure.subplots(1, 3)
    norm = _gram_norm(style, image)
    _draw_gram(left, style, "style", cmap=GRAM_COLORMAP, norm=norm)
    drawn = _draw_gram(middle, image, "image", cmap=GRAM_COLORMAP, norm=norm)
    figure.colorbar(drawn, ax=[left, middle], shrink=0.8, extend="max")
    difference_image = _draw_gram(right, difference, "image - style", cmap=DIFFERENCE_COLORMAP,
                                  norm=_difference_norm(difference))
    figure.colorbar(difference_image, ax=right, shrink=0.8, extend="both")
    parts = [layer or "", f"{len(style)} channels"]
    if loss is not None:
        parts.append(f"style loss {float(loss):.4g}")
    figure.suptitle(" · ".join(part for part in parts if part), fontsize=10)
    return figure


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
