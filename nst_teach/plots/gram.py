"""Gram matrices: one, ordered to show its structure, or the style's against an image's."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import Normalize, PowerNorm, TwoSlopeNorm
from matplotlib.figure import Figure

from nst_teach.images import show_in_notebooks
from nst_teach.plots.common import (
    DIFFERENCE_COLORMAP,
    GRAM_COLORMAP,
    SATURATION_PERCENTILE,
)


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


def _matrix_style(*matrices: np.ndarray) -> dict:
    """`imshow` options: the Gram colour map for non-negative matrices, a diverging one
    centred on 0 for signed ones (centred Gram or correlation matrices)."""
    if min(float(matrix.min()) for matrix in matrices) >= 0:
        return {"cmap": GRAM_COLORMAP, "norm": _gram_norm(*matrices)}
    return {"cmap": DIFFERENCE_COLORMAP,
            "norm": _difference_norm(np.concatenate([matrix.ravel() for matrix in matrices]))}


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
                       **_matrix_style(matrix))
    figure.colorbar(image, ax=axes, shrink=0.8)
    return figure


def plot_gram_comparison(style_gram: Any, image_gram: Any, loss: float | None = None,
                         layer: str | None = None, order: Any = "auto",
                         size: float = 3.0, view: str = "raw") -> Figure:
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
        view: What the matrices are, for the title: `"raw"`, `"centred"` or
            `"correlation"` (`nst_teach.statistics.gram_view`). Signed
            matrices get a diverging colour map centred on 0.

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
    style_options = _matrix_style(style, image)
    _draw_gram(left, style, "style", **style_options)
    drawn = _draw_gram(middle, image, "image", **style_options)
    figure.colorbar(drawn, ax=[left, middle], shrink=0.8, extend="max")
    difference_image = _draw_gram(right, difference, "image - style", cmap=DIFFERENCE_COLORMAP,
                                  norm=_difference_norm(difference))
    figure.colorbar(difference_image, ax=right, shrink=0.8, extend="both")
    parts = [layer or "", f"{len(style)} channels", "" if view == "raw" else view]
    if loss is not None:
        parts.append(f"style loss {float(loss):.4g}")
    figure.suptitle(" · ".join(part for part in parts if part), fontsize=10)
    return figure
