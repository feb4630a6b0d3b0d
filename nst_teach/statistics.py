"""Style statistics beyond the plain Gram matrix, all computed with `core.gram_matrix`.

A layer on top of `nst_teach.core` for the controls of lessons 09 and 10 and the
strip-wise memory saving. Everything here comes from one quantity, the Gram
matrix of the activations with a channel of ones appended, weighted by a mask
`m` (all ones without one) and summed over positions:

    S = sum over (i, j) of m[i, j] * [F, 1][F, 1]^T
      = H * W * gram_matrix(sqrt(m) * [F, 1])

Its blocks are `sum m F F^T`, `sum m F` and `sum m`, so

* the guided Gram matrix (Gatys et al. 2017) is `sum m F F^T / sum m`, which
  for a mask of ones is exactly `gram_matrix(F)`;
* AdaIN's per-channel mean and standard deviation (Huang & Belongie 2017) are
  `sum m F / sum m` and `sqrt(E[F^2] - E[F]^2 + 1e-5)`;
* sums over strips of rows add up to the whole layer's, which lets the
  `FeatureExtractor` with `recompute=True` compute a large layer strip by strip.

The centred Gram matrix (covariance) and the correlation matrix the Gram viewer
shows (`gram_view`) are the exception: they centre the activations first and
call `gram_matrix` on that, as `E[F F^T] - E[F] E[F]^T` loses its digits to
cancellation in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from nst_teach.core.gram import gram_matrix

# Added to the variance before the square root (AdaIN's epsilon): keeps the
# gradient finite where a channel is constant (e.g. a dead ReLU).
STD_EPSILON = 1e-5
STYLE_STATISTICS = ("gram", "mean_std")
# In `gram_view`, a channel whose standard deviation is below this fraction of
# its mean's magnitude counts as constant (float32 cannot resolve less).
CONSTANT_CHANNEL_RTOL = 1e-4


def check_mask(features: tf.Tensor, mask: tf.Tensor | None, name: str
               ) -> tuple[tf.Tensor, tf.Tensor | None]:
    """Converts both to float32 and checks the mask's shape against the activations'."""
    features = tf.convert_to_tensor(features)
    if features.shape.rank != 4:
        raise ValueError(f"{name} expects activations of shape (batch, H, W, C), "
                         f"got shape {tuple(features.shape)}.")
    if mask is None:
        return tf.cast(features, tf.float32), None
    mask = tf.cast(tf.convert_to_tensor(mask), tf.float32)
    if mask.shape.rank != 4 or mask.shape[-1] != 1 or mask.shape[1:3] != features.shape[1:3]:
        raise ValueError(f"{name}: the mask must have shape (batch or 1, {features.shape[1]}, "
                         f"{features.shape[2]}, 1) to match the activations "
                         f"{tuple(features.shape)}, got {tuple(mask.shape)}; bring it to the "
                         "layer's size with nst_teach.features.layer_masks.")
    return tf.cast(features, tf.float32), mask


def moment_sums(features: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
    """`sum m [F, 1][F, 1]^T` over positions, via `gram_matrix`.

    Args:
        features: Activations `(batch, H, W, C)`, any float dtype.
        mask: Optional weights `(batch or 1, H, W, 1)` in [0, 1].

    Returns:
        float32 `(batch, C + 1, C + 1)`: `[:, :C, :C]` is `sum m F F^T`,
        `[:, C, :C]` is `sum m F` and `[:, C, C]` is `sum m`.
    """
    features, mask = check_mask(features, mask, "moment_sums")
    augmented = tf.concat([features, tf.ones_like(features[..., :1])], axis=-1)
    if mask is not None:
        augmented = augmented * tf.sqrt(mask)
    num_positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return gram_matrix(augmented) * num_positions


def statistics_from_sums(sums: tf.Tensor, statistic: str = "gram") -> tuple[tf.Tensor, ...]:
    """The style statistics from `moment_sums` (zeros for an empty region).

    Args:
        sums: float32 `(batch, C + 1, C + 1)` from `moment_sums` (or their sum
            over strips).
        statistic: `"gram"` or `"mean_std"`.

    Returns:
        `(gram,)` with gram `(batch, C, C)`, or `(mean, std)`, each `(batch, C)`.
    """
    weight = sums[:, -1, -1]
    if statistic == "gram":
        return (tf.math.divide_no_nan(sums[:, :-1, :-1], weight[:, None, None]),)
    mean = tf.math.divide_no_nan(sums[:, -1, :-1], weight[:, None])
    squares = tf.math.divide_no_nan(tf.linalg.diag_part(sums)[:, :-1], weight[:, None])
    variance = tf.maximum(squares - tf.square(mean), 0.0)
    return mean, tf.sqrt(variance + STD_EPSILON)


def guided_gram_matrix(features: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Computes the Gram matrix of the positions a mask selects.

        G[c, d] = sum over (i, j) of m[i, j] * F[i, j, c] * F[i, j, d], divided by sum of m

    a weighted mean of the same products `gram_matrix` averages, so a mask of
    ones (or any constant) gives `gram_matrix(features)`, and positions where
    the mask is 0 play no part. Gatys et al. (2017, eq. 4) multiply the feature
    maps by the mask, `(F * m)^T (F * m)`, which weighs positions by `m^2`; for
    the binary masks of the paper both agree. Dividing by the mask's sum (not by
    H * W) keeps a small region's statistics on the scale of a whole image's,
    so the same style weight works for any region size.

    Args:
        features: Activations `(batch, H, W, C)`, any float dtype.
        mask: Weights `(batch or 1, H, W, 1)` in [0, 1] at the activations'
            resolution (see `nst_teach.features.layer_masks`).

    Returns:
        float32 `(batch, C, C)`, symmetric; all zeros where the mask is all 0.

    Raises:
        ValueError: If the shapes do not match.
    """
    check_mask(features, mask, "guided_gram_matrix")
    return statistics_from_sums(moment_sums(features, mask), "gram")[0]


def mean_std(features: tf.Tensor, mask: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-channel mean and standard deviation of activations (AdaIN's statistics).

        mean[c] = sum of m * F[..., c] / sum of m
        std[c]  = sqrt(sum of m * F[..., c]^2 / sum of m - mean[c]^2 + 1e-5)

    with `m = 1` everywhere when there is no mask, as in Huang & Belongie
    (2017), whose AdaIN layer and style loss use these statistics (with the
    same epsilon). Unlike the Gram matrix they say nothing about which channels
    fire *together*: they are its last row and its diagonal.

    Args:
        features: Activations `(batch, H, W, C)`, any float dtype.
        mask: Optional weights `(batch or 1, H, W, 1)` in [0, 1], as for
            `guided_gram_matrix`.

    Returns:
        Two float32 tensors `(batch, C)`: the means and the standard deviations.

    Raises:
        ValueError: If `features` is not 4-dimensional or the mask does not match.
    """
    check_mask(features, mask, "mean_std")
    return statistics_from_sums(moment_sums(features, mask), "mean_std")


def style_statistics(features: tf.Tensor, statistic: str = "gram",
                     mask: tf.Tensor | None = None) -> tuple[tf.Tensor, ...]:
    """The statistics a style term compares, for one layer: `(gram,)` or `(mean, std)`.

    Without a mask, the Gram matrix is `core.gram_matrix` itself.
    """
    if statistic == "gram" and mask is None:
        return (gram_matrix(features),)
    return statistics_from_sums(moment_sums(features, mask), statistic)


def statistics_distance(statistics: Sequence[tf.Tensor],
                        targets: Sequence[tf.Tensor]) -> tf.Tensor:
    """Sum over the statistics of the mean squared difference to the target.

    For a Gram matrix this is `core.style_loss`; for `(mean, std)` it is
    `mean((mean - mean_s)^2) + mean((std - std_s)^2)`: AdaIN's style loss
    (Huang & Belongie 2017, eq. 13) with means of squares instead of norms.
    """
    return tf.add_n([tf.reduce_mean(tf.square(value - target))
                     for value, target in zip(statistics, targets)])


def blend(statistics: Sequence[tuple[tf.Tensor, ...]], weights: Sequence[float]) -> tuple:
    """The weighted mean of several styles' statistics, statistic by statistic.

    Johnson's neural-style `-style_blend_weights`: the target of several
    styles is `A = sum_k w_k A_k`, with the weights summing to 1.
    """
    return tuple(tf.add_n([weight * values[index] for weight, values in zip(weights, statistics)])
                 for index in range(len(statistics[0])))


GRAM_VIEWS = ("raw", "centred", "correlation")


def gram_view(features: tf.Tensor, view: str = "raw") -> tf.Tensor:
    """The Gram matrix of a layer, raw, centred or normalised (for looking at it).

    For ReLU activations (all >= 0) the raw Gram matrix is dominated by the
    products of the channel means; centring shows how channels vary together:

        raw[c, d]         = E[F_c F_d]                        (`core.gram_matrix`)
        centred[c, d]     = E[(F_c - E[F_c]) (F_d - E[F_d])]  (the covariance)
        correlation[c, d] = centred[c, d] / (std_c std_d)     (in [-1, 1])

    A constant channel (a dead ReLU, say) has correlation 0 with every channel.

    The covariance equals `E[F_c F_d] - E[F_c] E[F_d]`, but is computed as
    written above, centred first: the difference loses its digits in float32.

    Args:
        features: Activations `(batch, H, W, C)`, any float dtype.
        view: `"raw"`, `"centred"` or `"correlation"`.

    Returns:
        float32 `(batch, C, C)`, symmetric.

    Raises:
        ValueError: For an unknown view or activations that are not 4-D.
    """
    if view not in GRAM_VIEWS:
        raise ValueError(f"view must be one of {', '.join(GRAM_VIEWS)}, got {view!r}.")
    if view == "raw":
        return gram_matrix(features)
    features, _ = check_mask(features, None, "gram_view")
    mean = tf.reduce_mean(features, axis=(1, 2), keepdims=True)
    covariance = gram_matrix(features - mean)  # centred first (see the docstring)
    if view == "centred":
        return covariance
    std = tf.sqrt(tf.linalg.diag_part(covariance))
    # A constant channel keeps a spread of rounding noise (the last bits of its
    # mean): count it as constant, with correlation 0.
    std = tf.where(std > CONSTANT_CHANNEL_RTOL * tf.abs(mean[:, 0, 0, :]), std, 0.0)
    return tf.math.divide_no_nan(covariance, std[:, :, None] * std[:, None, :])


def most_different_pairs(gram_a, gram_b, count: int = 5, include_diagonal: bool = True
                         ) -> list[tuple[int, int, float, float]]:
    """The channel pairs `(c, d)`, `c <= d`, whose entries differ most between two matrices.

    Args:
        gram_a: float `(C, C)` or `(1, C, C)`, e.g. the style image's.
        gram_b: Same shape, e.g. the generated image's.
        count: How many pairs.
        include_diagonal: Also consider `c == d` (a channel with itself; leave
            it out for correlation matrices, whose diagonal is all 1 or 0).

    Returns:
        `(c, d, a[c, d], b[c, d])` tuples, the largest `|a - b|` first.

    Raises:
        ValueError: If the shapes differ or are not square.
    """
    a = np.asarray(gram_a, dtype=np.float64).reshape(np.shape(gram_a)[-2:])
    b = np.asarray(gram_b, dtype=np.float64).reshape(np.shape(gram_b)[-2:])
    if a.shape != b.shape or a.shape[0] != a.shape[1]:
        raise ValueError(f"Two square matrices of one shape are needed, got {a.shape} and "
                         f"{b.shape}.")
    rows, columns = np.triu_indices(len(a), k=0 if include_diagonal else 1)
    order = np.argsort(-np.abs(a[rows, columns] - b[rows, columns]), kind="stable")[:count]
    return [(int(rows[i]), int(columns[i]), float(a[rows[i], columns[i]]),
             float(b[rows[i], columns[i]])) for i in order]
