"""Masks for spatial control: which style goes where (NumPy, Pillow, matplotlib).

A mask is a float32 NumPy array of shape `(1, H, W, 1)` with values in
[0, 1], at the content image's size: 1 where a style applies, 0 where it does
not, values in between for a soft transition. `nst.stylize(...,
style_masks=[...])` takes one mask per style image and turns them into guided
Gram matrices (Gatys et al., "Controlling Perceptual Factors in Neural Style
Transfer", CVPR 2017, section 4).

Masks come from a file or an array (`load_mask`) or are drawn from simple
shapes whose positions are fractions of the height and width, so the same
call works at any image size: `rectangle_mask`, `ellipse_mask`, `half_mask`,
`gradient_mask`; `invert_mask` gives the complement, `masks_from_labels` one
mask per region of a label image. `plot_masks` shows them over an image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from nst_teach.core.images import RANGE_TOLERANCE
from nst_teach.images import check_image, load_image, show_in_notebooks, to_uint8

LUMINANCE_WEIGHTS = np.array([0.299, 0.587, 0.114])  # Y of YIQ, as in nst_teach.color
SIDES = ("left", "right", "top", "bottom")
DIRECTIONS = ("horizontal", "vertical")
DIMMING = 0.25  # plot_masks: brightness kept where a mask is 0


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def _check_size(size: Any) -> tuple[int, int]:
    is_pair = isinstance(size, (tuple, list)) and len(size) == 2
    if not is_pair or not all(map(_is_positive_int, size)):
        raise ValueError(f"size must be (height, width) with two positive ints, e.g. "
                         f"content.shape[1:3], got {size!r}.")
    return int(size[0]), int(size[1])


def _check_fraction(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a fraction of the image from 0 to 1 (0.5 is the "
                         f"middle), got {value!r}.")
    return float(value)


def check_mask(mask: Any, name: str = "mask") -> np.ndarray:
    """Checks that a mask follows the contract and returns it as a NumPy array.

    Args:
        mask: An array expected to be float, shape `(1, H, W, 1)`, finite,
            values in [0, 1] (a tolerance of 1e-3 is clipped away).
        name: Name used in error messages, such as `"style_masks[0]"`.

    Returns:
        float32 `(1, H, W, 1)` in [0, 1].

    Raises:
        ValueError: If the shape, dtype or values break the contract; the
            message says how to fix it.
    """
    array = np.asarray(mask)
    if array.ndim != 4 or array.shape[0] != 1 or array.shape[-1] != 1 or 0 in array.shape:
        hint = " Use nst_teach.masks.load_mask to convert an image or array." \
            if array.ndim in (2, 3) or (array.ndim == 4 and array.shape[-1] == 3) else ""
        raise ValueError(f"{name}: expected a mask of shape (1, height, width, 1), got shape "
                         f"{array.shape}.{hint}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name}: expected float values in [0, 1], got dtype {array.dtype}; "
                         f"use nst_teach.masks.load_mask({name}) to convert it.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or infinite values.")
    low, high = float(array.min()), float(array.max())
    if low < -RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        raise ValueError(f"{name}: has values from {low:.4g} to {high:.4g}, expected [0, 1]; "
                         "divide by 255 if it holds 0..255 values.")
    return np.clip(array, 0.0, 1.0).astype(np.float32)


def resize_mask(mask: Any, size: tuple[int, int]) -> np.ndarray:
    """Resizes a mask with bilinear interpolation (no ringing, stays in [0, 1]).

    Args:
        mask: float32 `(1, H, W, 1)` in [0, 1].
        size: Target `(height, width)`, two positive ints.

    Returns:
        float32 `(1, height, width, 1)` in [0, 1]; the mask itself if already that size.

    Raises:
        ValueError: If the mask breaks the contract or the size is not two positive ints.
    """
    mask = check_mask(mask)
    height, width = _check_size(size)
    if mask.shape[1:3] == (height, width):
        return mask
    plane = Image.fromarray(mask[0, :, :, 0]).resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(plane, dtype=np.float32), 0.0, 1.0)[None, :, :, None]


def load_mask(source: Any, size: tuple[int, int] | None = None,
              threshold: float | None = None) -> np.ndarray:
    """Loads a mask from a file, bytes, a PIL image or an array.

    Colour sources become their luminance (`0.299 R + 0.587 G + 0.114 B`), so
    white is 1 and black is 0; a transparent pixel counts as white (as in
    `nst.load_image`). Paint the region in white on black, in any image editor.

    Args:
        source: A file path, PNG/JPEG `bytes`, a `PIL.Image.Image`, or an array
            (uint8 0..255, bool, or float 0..1) shaped `(H, W)`, `(H, W, C)`,
            `(1, H, W, C)` with C = 1, 3 or 4: anything `nst.load_image` reads.
        size: Target `(height, width)`, usually `content.shape[1:3]`; the
            mask is resized bilinearly. `None` keeps the source's size.
        threshold: If given, a number in (0, 1): the mask becomes 1 where the
            (resized) luminance is >= threshold and 0 elsewhere, a hard edge.

    Returns:
        float32 `(1, H, W, 1)` in [0, 1].

    Raises:
        ValueError: If the source is not a readable image, the size is not two
            positive ints or the threshold is not in (0, 1).
        FileNotFoundError: If a path does not exist.
        TypeError: If the source has an unsupported type.
    """
    if size is not None:
        size = _check_size(size)
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(
            threshold, (int, float, np.integer, np.floating)) or not 0.0 < threshold < 1.0):
        raise ValueError(f"threshold must be a number strictly between 0 and 1 (e.g. 0.5), "
                         f"or None for a soft mask; got {threshold!r}.")
    image = load_image(source)
    luminance = np.einsum("hwc,c->hw", image[0].astype(np.float64), LUMINANCE_WEIGHTS)
    mask = np.clip(luminance, 0.0, 1.0).astype(np.float32)[None, :, :, None]
    if size is not None:
        mask = resize_mask(mask, size)
    if threshold is not None:
        mask = (mask >= threshold).astype(np.float32)
    return mask


def _grid(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates as fractions: rows `(H, 1)` and columns `(1, W)`."""
    height, width = _check_size(size)
    rows = (np.arange(height, dtype=np.float64)[:, None] + 0.5) / height
    columns = (np.arange(width, dtype=np.float64)[None, :] + 0.5) / width
    return rows, columns


def _as_mask(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32)[None, :, :, None]


def rectangle_mask(size: tuple[int, int], top: float, left: float, bottom: float,
                   right: float) -> np.ndarray:
    """1 inside a rectangle, 0 outside.

    A pixel is inside when its centre is: `top <= (row + 0.5) / H < bottom`
    and `left <= (column + 0.5) / W < right`.

    Args:
        size: `(height, width)` of the mask, two positive ints.
        top, left, bottom, right: Edges as fractions of the height and width
            in [0, 1], with `top < bottom` and `left < right`.

    Returns:
        float32 `(1, height, width, 1)` of 0s and 1s.

    Raises:
        ValueError: If the size is wrong or the edges are not ordered fractions.
    """
    rows, columns = _grid(size)
    top, left = _check_fraction(top, "top"), _check_fraction(left, "left")
    bottom, right = _check_fraction(bottom, "bottom"), _check_fraction(right, "right")
    if top >= bottom or left >= right:
        raise ValueError(f"need top < bottom and left < right, got top={top}, bottom={bottom}, "
                         f"left={left}, right={right}.")
    inside = (rows >= top) & (rows < bottom) & (columns >= left) & (columns < right)
    return _as_mask(inside)


def ellipse_mask(size: tuple[int, int], center: tuple[float, float] = (0.5, 0.5),
                 radius: tuple[float, float] = (0.25, 0.25)) -> np.ndarray:
    """1 inside an ellipse, 0 outside.

    Args:
        size: `(height, width)` of the mask, two positive ints.
        center: `(row, column)` of the centre as fractions of height and width.
        radius: `(vertical, horizontal)` radii as fractions of height and
            width, both > 0: `(0.25, 0.25)` is an ellipse half as tall and
            half as wide as the image (a circle on a square image).

    Returns:
        float32 `(1, height, width, 1)` of 0s and 1s: 1 where
        `((y - cy) / ry)^2 + ((x - cx) / rx)^2 <= 1` at the pixel centre.

    Raises:
        ValueError: If the size is wrong, the centre is not two fractions or a
            radius is not positive.
    """
    rows, columns = _grid(size)
    if not (isinstance(center, (tuple, list)) and len(center) == 2):
        raise ValueError(f"center must be (row, column) fractions such as (0.5, 0.5), "
                         f"got {center!r}.")
    if not (isinstance(radius, (tuple, list)) and len(radius) == 2) or not all(
            isinstance(value, (int, float, np.integer, np.floating)) and value > 0
            for value in radius):
        raise ValueError(f"radius must be (vertical, horizontal) fractions > 0 such as "
                         f"(0.25, 0.25), got {radius!r}.")
    center_row = _check_fraction(center[0], "center[0] (row)")
    center_column = _check_fraction(center[1], "center[1] (column)")
    distance = ((rows - center_row) / radius[0]) ** 2 + ((columns - center_column) / radius[1]) ** 2
    return _as_mask(distance <= 1.0)


def half_mask(size: tuple[int, int], side: str = "left") -> np.ndarray:
    """1 on one half of the image, 0 on the other.

    Args:
        size: `(height, width)` of the mask, two positive ints.
        side: `"left"`, `"right"`, `"top"` or `"bottom"`: the half set to 1.
            With an odd width (height) the middle column (row) goes to the
            right (bottom) half, so `half_mask(size, "left")` and
            `half_mask(size, "right")` always add up to 1.

    Returns:
        float32 `(1, height, width, 1)` of 0s and 1s.

    Raises:
        ValueError: If the size is wrong or the side unknown.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}.")
    rows, columns = _grid(size)
    inside = {"left": columns < 0.5, "right": columns >= 0.5,
              "top": rows < 0.5, "bottom": rows >= 0.5}[side]
    inside = np.broadcast_to(inside, (rows.shape[0], columns.shape[1]))
    return _as_mask(inside)


def gradient_mask(size: tuple[int, int], direction: str = "horizontal") -> np.ndarray:
    """A linear ramp from 0 to 1: a soft transition between two styles.

    Args:
        size: `(height, width)` of the mask, two positive ints.
        direction: `"horizontal"` (0 at the left column, 1 at the right) or
            `"vertical"` (0 at the top row, 1 at the bottom).

    Returns:
        float32 `(1, height, width, 1)` in [0, 1]; `invert_mask` reverses it.

    Raises:
        ValueError: If the size is wrong or the direction unknown.
    """
    height, width = _check_size(size)
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")
    if direction == "horizontal":
        ramp = np.broadcast_to(np.linspace(0.0, 1.0, width)[None, :], (height, width))
    else:
        ramp = np.broadcast_to(np.linspace(0.0, 1.0, height)[:, None], (height, width))
    return _as_mask(ramp)


def invert_mask(mask: Any) -> np.ndarray:
    """The complement `1 - mask`: the style applies where it did not.

    Args:
        mask: float `(1, H, W, 1)` in [0, 1].

    Returns:
        float32 `(1, H, W, 1)` in [0, 1].

    Raises:
        ValueError: If the mask breaks the contract.
    """
    return (1.0 - check_mask(mask)).astype(np.float32)


def masks_from_labels(labels: Any, num_regions: int | None = None) -> list[np.ndarray]:
    """One mask per region of a label image (0, 1, 2, ... per pixel).

    The masks add up to 1 at every pixel whose label is below `num_regions`:
    give them to `stylize` with one style per region.

    Args:
        labels: Integer array `(H, W)` or `(1, H, W, 1)`, values >= 0.
        num_regions: How many masks (labels 0 .. num_regions - 1); by default
            the largest label + 1.

    Returns:
        A list of `num_regions` float32 `(1, H, W, 1)` masks of 0s and 1s.

    Raises:
        ValueError: If the labels are not a 2-D integer array of values >= 0
            or num_regions is not a positive int.
    """
    array = np.asarray(labels)
    if array.ndim == 4 and array.shape[0] == 1 and array.shape[-1] == 1:
        array = array[0, :, :, 0]
    if array.ndim != 2 or 0 in array.shape or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be an integer array of shape (height, width), got shape "
                         f"{array.shape} and dtype {array.dtype}; round floats with "
                         "labels.astype(int).")
    if array.min() < 0:
        raise ValueError(f"labels must be >= 0, got a minimum of {array.min()}.")
    if num_regions is None:
        num_regions = int(array.max()) + 1
    if not _is_positive_int(num_regions):
        raise ValueError(f"num_regions must be a positive int, got {num_regions!r}.")
    return [_as_mask(array == label) for label in range(int(num_regions))]


def plot_masks(image: Any, masks: Sequence[Any] | Any, titles: Sequence[str] | None = None,
               size: float = 3.0):
    """Draws an image, then each mask over it: kept where the mask is 1, dimmed where 0.

    Pure matplotlib (no pyplot): the figure displays itself as the last
    expression of a notebook cell, like `nst.show_images`.

    Args:
        image: float `(1, H, W, 3)` in [0, 1], e.g. the content image; or
            `None` to draw the masks alone, in gray.
        masks: One mask or a list of masks, each float `(1, H, W, 1)` in
            [0, 1] at the image's size.
        titles: One title per mask; by default `"mask i"`. Each title gets the
            mask's coverage (its mean) appended.
        size: Width of one panel in inches.

    Returns:
        The `matplotlib.figure.Figure`, one axes per panel.

    Raises:
        ValueError: If there are no masks, a mask breaks the contract or does
            not match the image's size, or the titles do not match.
    """
    from matplotlib.figure import Figure

    masks = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    if not masks:
        raise ValueError("plot_masks needs at least one mask.")
    masks = [check_mask(mask, f"masks[{index}]") for index, mask in enumerate(masks)]
    titles = [f"mask {index}" for index in range(len(masks))] if titles is None else list(titles)
    if len(titles) != len(masks):
        raise ValueError(f"Got {len(titles)} titles for {len(masks)} masks.")
    if image is not None:
        image = check_image(image)
        for index, mask in enumerate(masks):
            if mask.shape[1:3] != image.shape[1:3]:
                raise ValueError(f"masks[{index}] is {mask.shape[1:3]}, the image "
                                 f"{image.shape[1:3]}; make it with size=image.shape[1:3] or "
                                 "nst_teach.masks.resize_mask.")
    panels = [] if image is None else [(image, "image")]
    for mask, title in zip(masks, titles):
        shown = np.repeat(mask, 3, axis=-1) if image is None else \
            image * (DIMMING + (1.0 - DIMMING) * mask)
        panels.append((shown, f"{title} ({100 * float(mask.mean()):.0f} %)"))
    columns = min(len(panels), 4)
    rows = math.ceil(len(panels) / columns)
    height, width = masks[0].shape[1:3]
    figure = Figure(figsize=(size * columns, size * height / width * rows + 0.4 * rows),
                    layout="constrained")
    show_in_notebooks(figure)
    for index, (shown, title) in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(to_uint8(shown.astype(np.float32)))
        axes.set_title(title, fontsize=9)
        axes.set_axis_off()
    return figure
