"""Colour: luminance, colour matching and a colour-histogram distance (NumPy only).

Style transfer copies the style image's colours along with its strokes. Two
simple ways to keep the photo's colours instead come from Gatys, Bethge,
Hertzmann and Shechtman, "Preserving Color in Neural Artistic Style Transfer"
(arXiv:1606.05897, 2016; also section 5 of Gatys et al., "Controlling
Perceptual Factors in Neural Style Transfer", CVPR 2017):

- **Luminance-only transfer**: stylize the luminance (Y of YIQ) only, with the
  style's luminance first matched to the content's mean and standard
  deviation (`match_luminance`), then put the content's colour channels I and
  Q back (`combine_luminance`).
- **Colour matching**: recolour the style image to the content's colour
  statistics before stylizing (`match_colors`), by a linear transform that
  matches mean and covariance, or by per-channel histogram matching.

These run once before or after the optimization, never inside the gradient
loop, so they are plain NumPy. Images follow the project's contract: float32
`(1, H, W, 3)`, RGB in [0, 1]; only YIQ arrays are different (see
`rgb_to_yiq`). `color_histogram_distance` measures how far apart two images'
colours are, to check that colour preservation works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nst_teach.images import check_image

# NTSC 1953 RGB -> YIQ matrix (the one in scikit-image's `rgb2yiq` and in
# Wikipedia's "YIQ"): rows give Y, I and Q as combinations of R, G, B.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                       [0.59590059, -0.27455667, -0.32134392],
                       [0.21153661, -0.52273617, 0.31119955]], dtype=np.float64)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)
# I and Q reach +-these values for RGB colours in [0, 1] (sum of the positive coefficients).
I_LIMIT = float(RGB_TO_YIQ[1].clip(min=0).sum())
Q_LIMIT = float(RGB_TO_YIQ[2].clip(min=0).sum())
COLOR_MATCHING_METHODS = ("mean_covariance", "histogram")
# Added to the covariances' diagonals, so that flat or gray images stay invertible.
COVARIANCE_REGULARIZATION = 1e-5
YIQ_TOLERANCE = 1e-3


def rgb_to_yiq(image: Any) -> np.ndarray:
    """Converts an RGB image to YIQ with the NTSC matrix (Gatys et al. 2016, section 2.2).

    Y is the luminance `0.299 R + 0.587 G + 0.114 B`; I (orange-blue) and Q
    (purple-green) carry the colour and are 0 for every gray.

    Args:
        image: float `(1, H, W, 3)`, RGB in [0, 1].

    Returns:
        float32 `(1, H, W, 3)`: Y in [0, 1], I in about [-0.596, 0.596] and Q
        in about [-0.523, 0.523]. Not an image of the contract: do not show it.

    Raises:
        ValueError: If the image breaks the contract.
    """
    image = check_image(image)
    return np.einsum("...c,yc->...y", image.astype(np.float64), RGB_TO_YIQ).astype(np.float32)


def _check_yiq(yiq: Any, name: str = "yiq") -> np.ndarray:
    array = np.asarray(yiq)
    if array.ndim != 4 or array.shape[0] != 1 or array.shape[-1] != 3 or 0 in array.shape:
        raise ValueError(f"{name}: expected YIQ values of shape (1, height, width, 3) as made "
                         f"by rgb_to_yiq, got shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite float YIQ values (from rgb_to_yiq), got "
                         f"dtype {array.dtype} or NaN/infinite values.")
    limits = np.array([1.0, I_LIMIT, Q_LIMIT])
    low = np.array([0.0, -I_LIMIT, -Q_LIMIT])
    if np.any(array < low - YIQ_TOLERANCE) or np.any(array > limits + YIQ_TOLERANCE):
        raise ValueError(f"{name}: values out of the YIQ range (Y in [0, 1], |I| <= "
                         f"{I_LIMIT:.3f}, |Q| <= {Q_LIMIT:.3f}); pass an RGB image through "
                         "rgb_to_yiq first, or check that the array is not an RGB image "
                         "scaled 0..255.")
    return array.astype(np.float64)


def yiq_to_rgb(yiq: Any) -> np.ndarray:
    """Converts YIQ back to RGB with the inverse of the NTSC matrix.

    Not every YIQ triple is a displayable colour (a bright Y with a strong I,
    say), so the result is clipped to [0, 1]; for the output of `rgb_to_yiq`
    the round trip is exact up to float32 rounding.

    Args:
        yiq: float `(1, H, W, 3)`: Y in [0, 1], I and Q signed (see `rgb_to_yiq`).

    Returns:
        float32 `(1, H, W, 3)`, RGB in [0, 1].

    Raises:
        ValueError: If the shape is wrong or the values are outside the YIQ range.
    """
    yiq = _check_yiq(yiq)
    rgb = np.einsum("...y,cy->...c", yiq, YIQ_TO_RGB)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def _luminance(image: np.ndarray) -> np.ndarray:
    """Y of an already checked image, float64 `(H, W)`."""
    return np.einsum("hwc,c->hw", image[0].astype(np.float64), RGB_TO_YIQ[0])


def _gray(luminance: np.ndarray) -> np.ndarray:
    """A float64 `(H, W)` luminance as a contract image `(1, H, W, 3)`, clipped to [0, 1]."""
    gray = np.clip(luminance, 0.0, 1.0).astype(np.float32)
    return np.repeat(gray[None, :, :, None], 3, axis=-1)


def luminance_image(image: Any) -> np.ndarray:
    """The image's luminance Y (NTSC weights) as a gray RGB image.

    Args:
        image: float `(1, H, W, 3)`, RGB in [0, 1].

    Returns:
        float32 `(1, H, W, 3)` in [0, 1], the three channels equal to Y.

    Raises:
        ValueError: If the image breaks the contract.
    """
    return _gray(_luminance(check_image(image)))


def match_luminance(style: Any, content: Any) -> np.ndarray:
    """The style's luminance, shifted and scaled to the content's mean and spread.

    Gatys et al. 2016 (section 2.2): `L_s' = sigma_c / sigma_s * (L_s - mu_s) + mu_c`,
    where `L` are the luminances (Y of YIQ), `mu` their means and `sigma` their
    standard deviations over all pixels. It keeps the style's strokes but gives
    its luminance the photo's brightness and contrast, so that luminance-only
    transfer does not make the photo darker or flatter. A flat style image
    (`sigma_s == 0`) is only shifted. The result is clipped to [0, 1], which
    can move the statistics slightly when the content is much more contrasted.

    Args:
        style: float `(1, H_s, W_s, 3)`, RGB in [0, 1].
        content: float `(1, H_c, W_c, 3)`, RGB in [0, 1]; any size.

    Returns:
        float32 `(1, H_s, W_s, 3)` in [0, 1]: the matched luminance as a gray
        image (three equal channels), at the style's size.

    Raises:
        ValueError: If an image breaks the contract.
    """
    style_luminance = _luminance(check_image(style, "style"))
    content_luminance = _luminance(check_image(content, "content"))
    style_std = style_luminance.std()
    scale = content_luminance.std() / style_std if style_std > 1e-12 else 0.0
    matched = scale * (style_luminance - style_luminance.mean()) + content_luminance.mean()
    return _gray(matched)


def combine_luminance(stylized: Any, content: Any) -> np.ndarray:
    """The stylized image's luminance with the content's colours (I and Q of YIQ).

    The last step of luminance-only transfer (Gatys et al. 2016, section 2.2):
    the stylized image gives Y, the photo gives I and Q, and the result is
    converted back to RGB (clipped to [0, 1], since a few combinations fall
    outside the RGB cube).

    Args:
        stylized: float `(1, H, W, 3)`, RGB in [0, 1] (usually gray).
        content: float `(1, H, W, 3)`, RGB in [0, 1], the same size.

    Returns:
        float32 `(1, H, W, 3)`, RGB in [0, 1].

    Raises:
        ValueError: If an image breaks the contract or the sizes differ.
    """
    stylized = check_image(stylized, "stylized")
    content = check_image(content, "content")
    if stylized.shape != content.shape:
        raise ValueError(f"stylized {stylized.shape[1:3]} and content {content.shape[1:3]} "
                         "differ in size; resize one with nst.resize_image(content, "
                         "stylized.shape[1:3]).")
    yiq = rgb_to_yiq(content).astype(np.float64)
    yiq[..., 0] = _luminance(stylized)
    return np.clip(np.einsum("...y,cy->...c", yiq, YIQ_TO_RGB), 0.0, 1.0).astype(np.float32)


def _symmetric_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """`matrix ** power` for a symmetric positive definite matrix, by eigendecomposition."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.maximum(values, 1e-12) ** power) @ vectors.T


def _pixels(image: np.ndarray) -> np.ndarray:
    return image[0].reshape(-1, 3).astype(np.float64)


def _match_mean_covariance(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """`x' = A x + b` with `A = Sigma_c^(1/2) Sigma_s^(-1/2)` and `b = mu_c - A mu_s`."""
    style_pixels, content_pixels = _pixels(style), _pixels(content)
    regularization = COVARIANCE_REGULARIZATION * np.eye(3)
    style_mean, content_mean = style_pixels.mean(axis=0), content_pixels.mean(axis=0)
    style_covariance = np.cov(style_pixels, rowvar=False, bias=True) + regularization
    content_covariance = np.cov(content_pixels, rowvar=False, bias=True) + regularization
    transform = _symmetric_power(content_covariance, 0.5) @ _symmetric_power(style_covariance, -0.5)
    matched = (style_pixels - style_mean) @ transform.T + content_mean
    return matched.reshape(style.shape)


def _match_histogram_channel(source: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Maps `source` values through its CDF and the inverse CDF of `template` (1-D arrays)."""
    _, inverse, counts = np.unique(source, return_inverse=True, return_counts=True)
    template_values, template_counts = np.unique(template, return_counts=True)
    quantiles = (np.cumsum(counts) - 0.5 * counts) / source.size  # mid-rank: ties stay equal
    template_quantiles = (np.cumsum(template_counts) - 0.5 * template_counts) / template.size
    return np.interp(quantiles, template_quantiles, template_values)[inverse.ravel()]


def _match_histograms(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    matched = np.empty(style.shape, np.float64)
    for channel in range(3):
        matched[..., channel] = _match_histogram_channel(
            style[..., channel].ravel(), content[..., channel].ravel()).reshape(style.shape[:3])
    return matched


def match_colors(style: Any, content: Any, method: str = "mean_covariance") -> np.ndarray:
    """Recolours the style image to the content's colour statistics (Gatys et al. 2016, 2.1).

    Done before stylizing, it makes the stylized image keep the photo's
    palette while taking the painting's strokes.

    - `"mean_covariance"`: every style pixel `x` (an RGB vector) becomes
      `A x + b` such that the mean and the 3 x 3 covariance of the result equal
      the content's: `b = mu_c - A mu_s` and `A Sigma_s A^T = Sigma_c`. Of the
      two solutions the paper gives (Cholesky, or the "Image Analogies" 3-D
      colour matching of Hertzmann et al. 2001), this is the Image Analogies
      one, `A = Sigma_c^(1/2) Sigma_s^(-1/2)` with symmetric square roots: unlike
      the Cholesky one, it does not depend on the order of the channels.
      Covariances get `1e-5` added to their diagonal, so gray or flat images work.
    - `"histogram"`: each of R, G, B separately is passed through the style's
      cumulative distribution and the inverse of the content's (histogram
      matching, as in scikit-image's `match_histograms`), so each channel of
      the result has the content's distribution of values (quantiles).
      Channels are matched independently, so correlations between them are not.

    Args:
        style: float `(1, H_s, W_s, 3)`, RGB in [0, 1].
        content: float `(1, H_c, W_c, 3)`, RGB in [0, 1]; any size.
        method: `"mean_covariance"` or `"histogram"`.

    Returns:
        float32 `(1, H_s, W_s, 3)`, RGB in [0, 1]: the style image, recoloured.
        The linear transform can leave the RGB cube; such values are clipped.

    Raises:
        ValueError: If an image breaks the contract or the method is unknown.
    """
    if method not in COLOR_MATCHING_METHODS:
        raise ValueError(f"method must be one of {COLOR_MATCHING_METHODS}, got {method!r}.")
    style = check_image(style, "style")
    content = check_image(content, "content")
    if method == "mean_covariance":
        matched = _match_mean_covariance(style, content)
    else:
        matched = _match_histograms(style, content)
    return np.clip(matched, 0.0, 1.0).astype(np.float32)


def color_histograms(image: Any, bins: int = 32, name: str = "image") -> np.ndarray:
    """Normalised histograms of R, G and B over `bins` equal bins of [0, 1].

    Args:
        image: float `(1, H, W, 3)`, RGB in [0, 1].
        bins: Number of bins, an int >= 2.
        name: The image's name in error messages.

    Returns:
        float64 `(3, bins)`: row c is channel c's histogram, summing to 1.

    Raises:
        ValueError: If the image breaks the contract or bins is not an int >= 2.
    """
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 2:
        raise ValueError(f"bins must be an int >= 2 such as 32, got {bins!r}.")
    pixels = _pixels(check_image(image, name))
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    counts = np.stack([np.histogram(pixels[:, channel], bins=edges)[0] for channel in range(3)])
    return counts / pixels.shape[0]


def color_histogram_distance(a: Any, b: Any, bins: int = 32) -> float:
    """How different two images' colours are: the mean over R, G, B of the 1-D
    earth mover's distance between their normalised histograms.

    Each channel's histogram (`bins` equal bins of [0, 1], see
    `color_histograms`) is a distribution of intensity; the earth mover's
    (Wasserstein-1) distance between two of them is the area between their
    cumulative histograms, `sum |CDF_a - CDF_b| / bins`: the average amount
    by which intensity must move to turn one into the other. Unlike an L1
    distance between histograms, it keeps growing as colours move further
    apart, even when the histograms no longer overlap. It ignores where
    colours are, so the images may differ in size.

    Args:
        a: float `(1, H, W, 3)`, RGB in [0, 1].
        b: float `(1, H', W', 3)`, RGB in [0, 1].
        bins: Number of histogram bins, an int >= 2.

    Returns:
        A float in `[0, 1 - 1/bins]`: 0 for identical histograms, symmetric in
        `a` and `b`; `1 - 1/bins` for black against white.

    Raises:
        ValueError: If an image breaks the contract or bins is not an int >= 2.
    """
    cumulative_a = np.cumsum(color_histograms(a, bins, name="a"), axis=1)
    cumulative_b = np.cumsum(color_histograms(b, bins, name="b"), axis=1)
    per_channel = np.abs(cumulative_a - cumulative_b).sum(axis=1) / bins
    return float(per_channel.mean())
