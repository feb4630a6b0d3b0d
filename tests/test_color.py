"""Tests of nst_teach.color: YIQ, luminance transfer, colour matching, histogram distance."""

import numpy as np
import pytest

from nst_teach import color


def random_image(height=24, width=32, seed=0, low=0.0, high=1.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, (1, height, width, 3)).astype(np.float32)


def correlated_image(height=40, width=30, seed=0, mean=(0.5, 0.4, 0.3), spread=0.08):
    """An image whose channels are correlated (like a photo's), staying well inside [0, 1]."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(3, 3))
    mixing *= 2.5 * spread / np.abs(mixing).sum(axis=1, keepdims=True)  # |deviation| <= 2.5 spread
    pixels = rng.uniform(-1, 1, size=(height * width, 3)) @ mixing.T + np.array(mean)
    assert pixels.min() > 0.0 and pixels.max() < 1.0
    return pixels.reshape(1, height, width, 3).astype(np.float32)


def statistics(image):
    pixels = image.reshape(-1, 3).astype(np.float64)
    return pixels.mean(axis=0), np.cov(pixels, rowvar=False, bias=True)


def solid(rgb, height=2, width=3):
    return np.broadcast_to(np.array(rgb, np.float32), (1, height, width, 3)).copy()


# --- YIQ ------------------------------------------------------------------------

@pytest.mark.parametrize("rgb, yiq", [
    ((0, 0, 0), (0, 0, 0)),
    ((1, 1, 1), (1, 0, 0)),
    ((0.5, 0.5, 0.5), (0.5, 0, 0)),
    ((1, 0, 0), (0.299, 0.596, 0.211)),
    ((0, 1, 0), (0.587, -0.275, -0.523)),
    ((0, 0, 1), (0.114, -0.321, 0.311)),
])
def test_yiq_of_pure_colours_matches_the_ntsc_matrix(rgb, yiq):
    result = color.rgb_to_yiq(solid(rgb))
    assert result.dtype == np.float32 and result.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(result[0, 0, 0], yiq, atol=1e-3)
    np.testing.assert_array_equal(result, np.broadcast_to(result[:, :1, :1], result.shape))


def test_rgb_to_yiq_to_rgb_round_trip():
    image = random_image()
    back = color.yiq_to_rgb(color.rgb_to_yiq(image))
    assert back.dtype == np.float32 and back.shape == image.shape
    np.testing.assert_allclose(back, image, atol=1e-5)


def test_yiq_to_rgb_clips_colours_outside_the_rgb_cube():
    yiq = np.zeros((1, 1, 2, 3), np.float32)
    yiq[0, 0, 0] = (1.0, 0.5, 0.0)  # bright and very orange: red would exceed 1
    yiq[0, 0, 1] = (0.0, -0.5, 0.0)  # black with colour: some channel would be negative
    rgb = color.yiq_to_rgb(yiq)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert rgb[0, 0, 0, 0] == 1.0 and rgb[0, 0, 1].min() == 0.0


@pytest.mark.parametrize("bad", [
    np.zeros((4, 4, 3), np.float32),           # no batch axis
    np.zeros((1, 4, 4, 4), np.float32),        # four channels
    np.zeros((1, 4, 4, 3), np.uint8),          # integers
    np.full((1, 4, 4, 3), np.nan, np.float32),
    np.full((1, 4, 4, 3), 2.0, np.float32),    # Y > 1: not YIQ
    np.full((1, 4, 4, 3), 255.0, np.float32),  # RGB 0..255
])
def test_yiq_to_rgb_rejects_what_is_not_yiq(bad):
    with pytest.raises(ValueError, match="yiq"):
        color.yiq_to_rgb(bad)


# --- luminance ------------------------------------------------------------------

def test_luminance_image_repeats_y_in_three_channels():
    image = random_image(seed=1)
    gray = color.luminance_image(image)
    assert gray.shape == image.shape and gray.dtype == np.float32
    expected = 0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2]
    for channel in range(3):
        np.testing.assert_allclose(gray[..., channel], expected, atol=1e-6)
    np.testing.assert_allclose(color.rgb_to_yiq(gray)[..., 1:], 0.0, atol=1e-6)  # gray: no I, Q


def test_match_luminance_follows_gatys_equation():
    style = random_image(30, 20, seed=2, low=0.3, high=0.7)  # low contrast, mid gray
    content = correlated_image(seed=3)
    matched = color.match_luminance(style, content)
    assert matched.shape == style.shape and matched.dtype == np.float32
    style_y = color.rgb_to_yiq(style)[..., 0].astype(np.float64)
    content_y = color.rgb_to_yiq(content)[..., 0].astype(np.float64)
    expected = content_y.std() / style_y.std() * (style_y - style_y.mean()) + content_y.mean()
    np.testing.assert_allclose(matched[..., 0], expected, atol=1e-5)
    np.testing.assert_allclose(matched[..., 0].mean(), content_y.mean(), atol=1e-5)
    np.testing.assert_allclose(matched[..., 0].std(), content_y.std(), rtol=1e-4)
    np.testing.assert_array_equal(matched[..., 0], matched[..., 2])


def test_match_luminance_of_a_flat_style_is_the_content_mean():
    content = correlated_image(seed=4)
    matched = color.match_luminance(solid((0.2, 0.2, 0.2), 5, 5), content)
    np.testing.assert_allclose(matched, color.luminance_image(content).mean(), atol=1e-5)


def test_combine_luminance_keeps_the_content_iq_and_the_stylized_y():
    content = correlated_image(seed=5)
    stylized = color.luminance_image(random_image(40, 30, seed=6, low=0.35, high=0.65))
    combined = color.combine_luminance(stylized, content)
    assert combined.shape == content.shape and combined.dtype == np.float32
    combined_yiq, content_yiq = color.rgb_to_yiq(combined), color.rgb_to_yiq(content)
    np.testing.assert_allclose(combined_yiq[..., 1:], content_yiq[..., 1:], atol=1e-5)
    np.testing.assert_allclose(combined_yiq[..., 0], stylized[..., 0], atol=1e-5)


def test_combine_luminance_of_the_content_itself_is_the_content():
    content = random_image(seed=7)
    np.testing.assert_allclose(color.combine_luminance(content, content), content, atol=1e-5)


def test_combine_luminance_rejects_different_sizes():
    with pytest.raises(ValueError, match="resize"):
        color.combine_luminance(random_image(10, 10), random_image(12, 10))


# --- colour matching ------------------------------------------------------------

def test_mean_covariance_matching_gives_the_content_statistics():
    style = correlated_image(50, 40, seed=8, mean=(0.3, 0.5, 0.6), spread=0.1)
    content = correlated_image(30, 35, seed=9, mean=(0.6, 0.45, 0.35), spread=0.06)
    matched = color.match_colors(style, content)
    assert matched.shape == style.shape and matched.dtype == np.float32
    assert 0.0 < matched.min() and matched.max() < 1.0  # nothing clipped: exact statistics
    matched_mean, matched_covariance = statistics(matched)
    content_mean, content_covariance = statistics(content)
    np.testing.assert_allclose(matched_mean, content_mean, atol=1e-5)
    np.testing.assert_allclose(matched_covariance, content_covariance, atol=3e-5)


def test_mean_covariance_matching_is_linear_and_solves_a_sigma_a_t():
    style, content = correlated_image(seed=10), correlated_image(seed=11, mean=(0.4, 0.5, 0.5))
    matched = color.match_colors(style, content).reshape(-1, 3).astype(np.float64)
    pixels = style.reshape(-1, 3).astype(np.float64)
    centred = np.column_stack([pixels - pixels.mean(axis=0), np.ones(len(pixels))])
    solution, residuals, *_ = np.linalg.lstsq(centred, matched, rcond=None)
    assert residuals.max() < 1e-8  # x' = A x + b exactly (no clipping here)
    transform = solution[:3].T
    # A (Σs + εI) Aᵀ = Σc + εI, with the documented regularisation ε
    regularization = color.COVARIANCE_REGULARIZATION * np.eye(3)
    style_covariance = statistics(style)[1] + regularization
    content_covariance = statistics(content)[1] + regularization
    np.testing.assert_allclose(transform @ style_covariance @ transform.T, content_covariance,
                               atol=1e-7)


def test_mean_covariance_matching_does_not_depend_on_the_channel_order():
    # The Image Analogies transform (symmetric square roots) commutes with a permutation of
    # the channels; the Cholesky variant would not.
    style, content = correlated_image(seed=27), correlated_image(seed=28, mean=(0.6, 0.4, 0.5))
    order = [2, 0, 1]
    matched = color.match_colors(style, content)
    permuted = color.match_colors(style[..., order], content[..., order])
    np.testing.assert_allclose(permuted, matched[..., order], atol=1e-5)


def test_matching_an_image_to_itself_changes_nothing():
    image = correlated_image(seed=12)
    for method in ("mean_covariance", "histogram"):
        np.testing.assert_allclose(color.match_colors(image, image, method=method), image,
                                   atol=1e-4)


def test_histogram_matching_gives_the_content_quantiles():
    style = random_image(60, 50, seed=13) ** 2  # skewed towards dark values
    content = correlated_image(40, 45, seed=14)
    matched = color.match_colors(style, content, method="histogram")
    assert matched.shape == style.shape and matched.dtype == np.float32
    levels = np.linspace(0.02, 0.98, 25)
    for channel in range(3):
        np.testing.assert_allclose(np.quantile(matched[..., channel], levels),
                                   np.quantile(content[..., channel], levels), atol=0.01)


def test_histogram_matching_keeps_the_order_of_the_style_values():
    style = random_image(20, 20, seed=15)
    matched = color.match_colors(style, correlated_image(seed=16), method="histogram")
    for channel in range(3):
        order = np.argsort(style[..., channel].ravel(), kind="stable")
        assert np.all(np.diff(matched[..., channel].ravel()[order]) >= 0)


def test_histogram_matching_maps_equal_values_to_equal_values():
    style = np.round(random_image(16, 16, seed=17) * 4) / 4  # only 5 levels
    matched = color.match_colors(style, random_image(seed=18), method="histogram")
    for level in np.unique(style[..., 0]):
        assert np.unique(matched[..., 0][style[..., 0] == level]).size == 1


def test_colour_matching_makes_the_style_closer_to_the_content():
    style = correlated_image(seed=19, mean=(0.25, 0.3, 0.7))
    content = correlated_image(seed=20, mean=(0.7, 0.5, 0.2))
    before = color.color_histogram_distance(style, content)
    for method in ("mean_covariance", "histogram"):
        after = color.color_histogram_distance(color.match_colors(style, content, method), content)
        assert after < before / 5


def test_mean_covariance_matching_handles_a_gray_style():
    gray = color.luminance_image(random_image(seed=21))  # rank-1 covariance
    matched = color.match_colors(gray, correlated_image(seed=22))
    assert np.all(np.isfinite(matched)) and 0.0 <= matched.min() and matched.max() <= 1.0


@pytest.mark.parametrize("method", ["mean covariance", "cholesky", None])
def test_match_colors_rejects_unknown_methods(method):
    with pytest.raises(ValueError, match="mean_covariance"):
        color.match_colors(random_image(), random_image(), method=method)


# --- histogram distance ---------------------------------------------------------

def test_histogram_distance_properties():
    a, b = random_image(seed=23), correlated_image(seed=24)
    assert color.color_histogram_distance(a, a) == 0.0
    assert color.color_histogram_distance(a, b) == color.color_histogram_distance(b, a)
    assert color.color_histogram_distance(a, b) > 0.0
    # the same pixels in another order and at another size: the same histograms
    shuffled = np.random.default_rng(0).permutation(a.reshape(-1, 3)).reshape(1, 32, 24, 3)
    assert color.color_histogram_distance(a, shuffled) == pytest.approx(0.0, abs=1e-12)


def test_histogram_distance_grows_with_the_colour_shift():
    base = correlated_image(seed=25, mean=(0.3, 0.3, 0.3), spread=0.04)
    distances = [color.color_histogram_distance(base, np.clip(base + shift, 0, 1))
                 for shift in (0.05, 0.1, 0.2, 0.4)]
    assert distances == sorted(distances) and distances[0] > 0
    np.testing.assert_allclose(distances, [0.05, 0.1, 0.2, 0.4], atol=1 / 32)  # EMD = the shift


def test_histogram_distance_of_black_and_white_is_its_maximum():
    black, white = solid((0, 0, 0)), solid((1, 1, 1), 5, 5)
    assert color.color_histogram_distance(black, white, bins=32) == pytest.approx(1 - 1 / 32)
    assert color.color_histogram_distance(black, white, bins=4) == pytest.approx(3 / 4)


def test_color_histograms_are_normalised():
    histograms = color.color_histograms(random_image(seed=26), bins=8)
    assert histograms.shape == (3, 8)
    np.testing.assert_allclose(histograms.sum(axis=1), 1.0)


@pytest.mark.parametrize("bins", [1, 0, -3, 2.5, "32", True])
def test_histogram_distance_rejects_bad_bins(bins):
    with pytest.raises(ValueError, match="bins"):
        color.color_histogram_distance(random_image(), random_image(), bins=bins)


# --- every function rejects images that break the contract -----------------------

BAD_IMAGES = [
    (np.zeros((8, 8, 3), np.float32), "batch axis"),
    (np.zeros((1, 8, 8, 1), np.float32), "3 RGB channels"),
    (np.zeros((1, 8, 8, 3), np.uint8), "float"),
    (np.full((1, 8, 8, 3), 255.0, np.float32), "255"),
    (np.full((1, 8, 8, 3), np.inf, np.float32), "infinite"),
]


@pytest.mark.parametrize("bad, message", BAD_IMAGES)
@pytest.mark.parametrize("function", [
    lambda image: color.rgb_to_yiq(image),
    lambda image: color.luminance_image(image),
    lambda image: color.match_luminance(image, random_image()),
    lambda image: color.match_luminance(random_image(), image),
    lambda image: color.combine_luminance(image, random_image(8, 8)),
    lambda image: color.combine_luminance(random_image(8, 8), image),
    lambda image: color.match_colors(image, random_image()),
    lambda image: color.match_colors(random_image(), image, method="histogram"),
    lambda image: color.color_histogram_distance(image, random_image()),
    lambda image: color.color_histogram_distance(random_image(), image),
])
def test_bad_images_raise_value_errors_that_say_why(function, bad, message):
    with pytest.raises(ValueError, match=message):
        function(bad)
