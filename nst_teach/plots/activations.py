"""Activations: the most active channels of a layer, and one channel across images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nst_teach.images import show_in_notebooks
from nst_teach.plots.common import ACTIVATION_COLORMAP, DEFAULT_CHANNEL_COUNT


def _as_activations(activations: Any) -> np.ndarray:
    """Returns activations as float32 NumPy `(H, W, C)`, checking `(1, H, W, C)`."""
    array = np.asarray(activations, dtype=np.float32)
    if array.ndim != 4 or array.shape[0] != 1:
        raise ValueError(f"Expected the activations of one image, shape (1, H, W, C), got "
                         f"shape {array.shape}; select one image with activations[i:i + 1].")
    return array[0]


RANKINGS = ("mean", "max", "difference")


def rank_channels(activations: Any, count: int, by: str = "mean",
                  other: Any = None) -> list[int]:
    """The `count` channels that score highest, by mean, by maximum, or by difference.

    Args:
        activations: float `(1, H, W, C)`, one layer's activations.
        count: How many channels to return, `1 <= count <= C`.
        by: `"mean"` (most active on average), `"max"` (the strongest single
            response: a feature that fires in one place only) or
            `"difference"` (largest `|mean - other's mean|`: what tells two
            images apart; sizes may differ).
        other: The second image's activations at the same layer, for
            `by="difference"`.

    Returns:
        `count` channel indices, highest score first (ties: lower index first).

    Raises:
        ValueError: For a bad shape, count or ranking, or `other` missing or
            with another number of channels.
    """
    array = _as_activations(activations)
    num_channels = array.shape[-1]
    if not isinstance(count, (int, np.integer)) or not 1 <= count <= num_channels:
        raise ValueError(f"count must be a whole number from 1 to {num_channels} (the number "
                         f"of channels), got {count!r}.")
    if by not in RANKINGS:
        raise ValueError(f"by must be one of {', '.join(RANKINGS)}, got {by!r}.")
    if by == "mean":
        scores = array.mean(axis=(0, 1))
    elif by == "max":
        scores = array.max(axis=(0, 1))
    else:
        if other is None:
            raise ValueError("by='difference' compares two images: pass the other image's "
                             "activations as other=...")
        second = _as_activations(other)
        if second.shape[-1] != num_channels:
            raise ValueError(f"other has {second.shape[-1]} channels, activations "
                             f"{num_channels}: take both at the same layer.")
        scores = np.abs(array.mean(axis=(0, 1)) - second.mean(axis=(0, 1)))
    order = np.argsort(-scores, kind="stable")
    return [int(channel) for channel in order[:count]]


def most_active_channels(activations: Any, count: int) -> list[int]:
    """Finds the channels with the largest mean activation (`rank_channels(by="mean")`).

    Args:
        activations: float `(1, H, W, C)`, one layer's activations.
        count: How many channels to return, `1 <= count <= C`.

    Returns:
        `count` channel indices, most active first (ties: lower index first).

    Raises:
        ValueError: If the shape is wrong or `count` is out of range.
    """
    return rank_channels(activations, count, by="mean")


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


def plot_receptive_field(image: Any, activations: Any, channel: int, position: tuple[int, int],
                         box: tuple[int, int, int, int], title: str | None = None,
                         panel_size: float = 3.0) -> Figure:
    """One channel with an activation marked, beside the image with the pixels it sees.

    Args:
        image: The input image, float32 `(1, H, W, 3)` in [0, 1].
        activations: The layer's activations of that image, `(1, H_l, W_l, C)`.
        channel: The channel drawn on the left.
        position: `(row, column)` of the marked activation in the `(H_l, W_l)` grid.
        box: `(top, left, bottom, right)` of its receptive field in input pixels,
            inclusive (`nst_teach.features.receptive_field_box`).
        title: Title above the panels.
        panel_size: Width of one panel in inches.

    Returns:
        A Figure with two axes: the channel (a cross at `position`) and the
        image (a rectangle around the field).

    Raises:
        ValueError: For a bad shape, or a channel or position out of range.
    """
    from matplotlib.patches import Rectangle

    from nst_teach.images import check_image

    picture = check_image(image)[0]
    array = _as_activations(activations)
    if not isinstance(channel, (int, np.integer)) or not 0 <= channel < array.shape[-1]:
        raise ValueError(f"Channel {channel!r} does not exist: this layer has "
                         f"{array.shape[-1]} channels, 0 to {array.shape[-1] - 1}.")
    row, column = position
    if not (0 <= row < array.shape[0] and 0 <= column < array.shape[1]):
        raise ValueError(f"Position {tuple(position)} is outside the {array.shape[0]} x "
                         f"{array.shape[1]} activations.")
    aspect = picture.shape[0] / picture.shape[1]
    extra = 0.35 if title else 0.0
    figure = Figure(figsize=(2 * panel_size + 0.2, panel_size * aspect + 0.3 + extra))
    show_in_notebooks(figure)
    channel_axes, image_axes = figure.subplots(1, 2, gridspec_kw={"wspace": 0.05})
    channel_axes.imshow(array[..., int(channel)], cmap=ACTIVATION_COLORMAP,
                        interpolation="nearest")
    channel_axes.plot([column], [row], marker="+", color="red", markersize=12, mew=2)
    channel_axes.set_title(f"channel {channel}, activation ({row}, {column})", fontsize=8)
    image_axes.imshow(picture, interpolation="nearest")
    top, left, bottom, right = box
    image_axes.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                                   fill=False, edgecolor="red", linewidth=2))
    image_axes.set_title(f"it sees rows {top}-{bottom}, columns {left}-{right}", fontsize=8)
    for axes in (channel_axes, image_axes):
        axes.set_axis_off()
    if title:
        figure.suptitle(title, fontsize=10)
    return figure
