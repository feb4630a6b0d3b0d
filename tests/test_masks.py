"""Tests of nst_teach.masks: loading, shapes, combining, plotting, errors."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from nst_teach import masks


def assert_mask(mask, height, width):
    assert isinstance(mask, np.ndarray)
    assert mask.shape == (1, height, width, 1)
    assert mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0


def white_square_png(path=None, size=40, box=(10, 10, 30, 30), mode="L"):
    """A black picture with a white square (left, top, right, bottom) in pixels."""
    array = np.zeros((size, size), np.uint8)
    left, top, right, bottom = box
    array[top:bottom, left:right] = 255
    picture = Image.fromarray(array).convert(mode)
    if path is None:
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return buffer.getvalue()
    picture.save(path)
    return path


# --- load_mask ------------------------------------------------------------------

def test_load_mask_from_a_png_file(tmp_path):
    path = white_square_png(tmp_path / "mask.png")
    mask = masks.load_mask(path)
    assert_mask(mask, 40, 40)
    assert mask[0, 20, 20, 0] == 1.0 and mask[0, 2, 2, 0] == 0.0
    assert mask.mean() == pytest.approx(20 * 20 / 40 ** 2)
    assert np.array_equal(masks.load_mask(str(path)), mask)


def test_load_mask_from_bytes_pil_and_colour_files(tmp_path):
    from_bytes = masks.load_mask(white_square_png())
    from_pil = masks.load_mask(Image.open(io.BytesIO(white_square_png())))
    from_rgb = masks.load_mask(white_square_png(tmp_path / "rgb.png", mode="RGB"))
    np.testing.assert_array_equal(from_bytes, from_pil)
    np.testing.assert_allclose(from_rgb, from_bytes, atol=1e-6)


def test_load_mask_uses_the_luminance_of_colours():
    array = np.zeros((2, 3, 3), np.uint8)
    array[0, 0] = (255, 0, 0)
    array[0, 1] = (0, 255, 0)
    array[0, 2] = (0, 0, 255)
    array[1] = 255
    mask = masks.load_mask(array)
    np.testing.assert_allclose(mask[0, 0, :, 0], [0.299, 0.587, 0.114], atol=1e-6)
    np.testing.assert_allclose(mask[0, 1, :, 0], 1.0, atol=1e-6)


@pytest.mark.parametrize("source", [
    np.array([[0.0, 0.25], [0.5, 1.0]]),
    np.array([[0.0, 0.25], [0.5, 1.0]])[..., None],
    np.array([[0.0, 0.25], [0.5, 1.0]], np.float32)[None, ..., None],
    np.array([[0, 64], [128, 255]], np.uint8),
])
def test_load_mask_from_arrays_of_every_shape(source):
    mask = masks.load_mask(source)
    assert_mask(mask, 2, 2)
    np.testing.assert_allclose(mask[0, :, :, 0], [[0, 0.25], [0.5, 1.0]], atol=0.002)


def test_load_mask_from_a_bool_array():
    mask = masks.load_mask(np.eye(3, dtype=bool))
    np.testing.assert_array_equal(mask[0, :, :, 0], np.eye(3))


def test_load_mask_resizes_to_the_requested_size(tmp_path):
    path = white_square_png(tmp_path / "mask.png")
    mask = masks.load_mask(path, size=(20, 30))
    assert_mask(mask, 20, 30)
    assert mask[0, 10, 15, 0] == pytest.approx(1.0)  # the square's middle
    assert mask[0, 0, 0, 0] == pytest.approx(0.0)
    assert mask.mean() == pytest.approx(0.25, abs=0.03)  # the square still covers a quarter
    assert masks.load_mask(path, size=[40, 40]).shape == (1, 40, 40, 1)


def test_threshold_makes_a_hard_mask():
    ramp = np.linspace(0, 1, 11, dtype=np.float32)[None, :].repeat(2, axis=0)
    soft = masks.load_mask(ramp)
    hard = masks.load_mask(ramp, threshold=0.5)
    assert_mask(hard, 2, 11)
    assert set(np.unique(hard)) == {0.0, 1.0}
    np.testing.assert_array_equal(hard, (soft >= 0.5).astype(np.float32))
    assert hard[0, 0, :, 0].tolist() == [0] * 5 + [1] * 6


def test_threshold_applies_after_resizing(tmp_path):
    path = white_square_png(tmp_path / "mask.png")
    hard = masks.load_mask(path, size=(15, 15), threshold=0.5)
    assert set(np.unique(hard)) == {0.0, 1.0}
    soft = masks.load_mask(path, size=(15, 15))
    assert len(np.unique(soft)) > 2  # bilinear edges are soft


@pytest.mark.parametrize("threshold", [0, 1, 1.5, -0.1, "0.5", True])
def test_bad_thresholds(threshold):
    with pytest.raises(ValueError, match="threshold"):
        masks.load_mask(np.ones((4, 4)), threshold=threshold)


@pytest.mark.parametrize("size", [(0, 4), (4,), (4.0, 4), "64", 64, (True, 4), (4, -2)])
def test_bad_sizes(size):
    with pytest.raises(ValueError, match="size"):
        masks.load_mask(np.ones((4, 4)), size=size)


def test_load_mask_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        masks.load_mask(tmp_path / "missing.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        masks.load_mask(tmp_path / "notes.png")
    with pytest.raises(ValueError, match="channels"):
        masks.load_mask(np.ones((4, 4, 2)))
    with pytest.raises(ValueError, match="0..255|expected \\[0, 1\\]"):
        masks.load_mask(np.full((4, 4), 255.0))
    with pytest.raises(TypeError):
        masks.load_mask(42)


# --- shapes ---------------------------------------------------------------------

def test_rectangle_mask():
    mask = masks.rectangle_mask((10, 20), top=0.2, left=0.5, bottom=0.6, right=1.0)
    assert_mask(mask, 10, 20)
    expected = np.zeros((10, 20))
    expected[2:6, 10:20] = 1
    np.testing.assert_array_equal(mask[0, :, :, 0], expected)


def test_full_rectangle_covers_everything():
    np.testing.assert_array_equal(masks.rectangle_mask((7, 5), 0, 0, 1, 1), np.ones((1, 7, 5, 1)))


@pytest.mark.parametrize("edges, message", [
    ((0.5, 0, 0.5, 1), "top < bottom"),
    ((0, 0.8, 1, 0.2), "left < right"),
    ((-0.1, 0, 1, 1), "top"),
    ((0, 0, 1.5, 1), "bottom"),
    ((0, "0", 1, 1), "left"),
])
def test_bad_rectangles(edges, message):
    with pytest.raises(ValueError, match=message):
        masks.rectangle_mask((10, 10), *edges)


def test_ellipse_mask():
    mask = masks.ellipse_mask((100, 200), center=(0.5, 0.5), radius=(0.25, 0.25))
    assert_mask(mask, 100, 200)
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert mask[0, 50, 100, 0] == 1 and mask[0, 50, 151, 0] == 0 and mask[0, 50, 149, 0] == 1
    assert mask[0, 76, 100, 0] == 0 and mask[0, 74, 100, 0] == 1
    assert mask.mean() == pytest.approx(np.pi * 0.25 * 0.25, abs=0.005)  # area of the ellipse


def test_ellipse_mask_off_centre():
    mask = masks.ellipse_mask((40, 40), center=(0.0, 1.0), radius=(0.5, 0.5))
    assert mask[0, 0, 39, 0] == 1 and mask[0, 39, 0, 0] == 0
    assert mask.mean() == pytest.approx(np.pi / 16, abs=0.02)  # a quarter of the disc


@pytest.mark.parametrize("options, message", [
    ({"center": (0.5,)}, "center"),
    ({"center": (0.5, 1.5)}, "center"),
    ({"radius": (0.0, 0.2)}, "radius"),
    ({"radius": 0.2}, "radius"),
])
def test_bad_ellipses(options, message):
    with pytest.raises(ValueError, match=message):
        masks.ellipse_mask((10, 10), **options)


@pytest.mark.parametrize("height, width", [(4, 6), (5, 7)])
def test_half_masks_are_complementary(height, width):
    size = (height, width)
    left, right = masks.half_mask(size, "left"), masks.half_mask(size, "right")
    top, bottom = masks.half_mask(size, "top"), masks.half_mask(size, "bottom")
    for mask in (left, right, top, bottom):
        assert_mask(mask, height, width)
    np.testing.assert_array_equal(left + right, np.ones((1, height, width, 1)))
    np.testing.assert_array_equal(top + bottom, np.ones((1, height, width, 1)))
    assert left[0, 0, 0, 0] == 1 and left[0, 0, -1, 0] == 0
    assert top[0, 0, 0, 0] == 1 and top[0, -1, 0, 0] == 0
    assert left[0, :, : width // 2].min() == 1 and left[0, :, (width + 1) // 2:].max() == 0


def test_gradient_masks():
    horizontal = masks.gradient_mask((3, 5))
    assert_mask(horizontal, 3, 5)
    np.testing.assert_allclose(horizontal[0, 1, :, 0], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(horizontal[0, 0], horizontal[0, 2])
    vertical = masks.gradient_mask((5, 3), direction="vertical")
    np.testing.assert_allclose(vertical[0, :, 2, 0], [0, 0.25, 0.5, 0.75, 1.0])


def test_invert_mask():
    mask = masks.gradient_mask((2, 5))
    inverted = masks.invert_mask(mask)
    assert_mask(inverted, 2, 5)
    np.testing.assert_allclose(inverted + mask, 1.0)
    np.testing.assert_allclose(masks.invert_mask(inverted), mask)


def test_masks_from_labels_cover_the_image_once():
    labels = np.array([[0, 0, 1], [2, 1, 1]])
    regions = masks.masks_from_labels(labels)
    assert len(regions) == 3
    for region in regions:
        assert_mask(region, 2, 3)
    np.testing.assert_array_equal(sum(regions), np.ones((1, 2, 3, 1)))
    np.testing.assert_array_equal(regions[1][0, :, :, 0], [[0, 0, 1], [0, 1, 1]])
    assert len(masks.masks_from_labels(labels[None, ..., None], num_regions=4)) == 4


@pytest.mark.parametrize("labels, options, message", [
    (np.array([[0.0, 1.0]]), {}, "integer"),
    (np.array([0, 1]), {}, "shape"),
    (np.array([[0, -1]]), {}, ">= 0"),
    (np.array([[0, 1]]), {"num_regions": 0}, "num_regions"),
])
def test_bad_labels(labels, options, message):
    with pytest.raises(ValueError, match=message):
        masks.masks_from_labels(labels, **options)


@pytest.mark.parametrize("function", [
    lambda size: masks.rectangle_mask(size, 0, 0, 1, 1),
    lambda size: masks.ellipse_mask(size),
    lambda size: masks.half_mask(size),
    lambda size: masks.gradient_mask(size),
])
@pytest.mark.parametrize("size", [(0, 3), (3, 3, 3), 3, (2.5, 3)])
def test_shapes_reject_bad_sizes(function, size):
    with pytest.raises(ValueError, match="size"):
        function(size)


def test_bad_side_and_direction():
    with pytest.raises(ValueError, match="side"):
        masks.half_mask((4, 4), side="middle")
    with pytest.raises(ValueError, match="direction"):
        masks.gradient_mask((4, 4), direction="diagonal")


# --- check_mask, resize_mask ----------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    (np.ones((4, 4), np.float32), "load_mask"),
    (np.ones((1, 4, 4, 3), np.float32), "load_mask"),
    (np.ones((2, 4, 4, 1), np.float32), "shape"),
    (np.ones((1, 4, 4, 1), np.uint8), "float"),
    (np.full((1, 4, 4, 1), 255.0, np.float32), "255"),
    (np.full((1, 4, 4, 1), np.nan, np.float32), "NaN"),
])
def test_check_mask_rejects_bad_masks(bad, message):
    with pytest.raises(ValueError, match=message):
        masks.check_mask(bad)
    with pytest.raises(ValueError):
        masks.invert_mask(bad)


def test_resize_mask_keeps_values_in_range():
    mask = masks.rectangle_mask((8, 8), 0.25, 0.25, 0.75, 0.75)
    resized = masks.resize_mask(mask, (32, 16))
    assert_mask(resized, 32, 16)
    assert resized.mean() == pytest.approx(0.25, abs=0.03)
    np.testing.assert_array_equal(masks.resize_mask(mask, (8, 8)), mask)


# --- plot_masks -----------------------------------------------------------------

def test_plot_masks_draws_the_image_and_each_mask():
    image = np.random.default_rng(0).uniform(0, 1, (1, 20, 30, 3)).astype(np.float32)
    left = masks.half_mask((20, 30), "left")
    figure = masks.plot_masks(image, [left, masks.invert_mask(left)], titles=["sky", "ground"])
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 3
    titles = [axes.get_title() for axes in figure.axes]
    assert titles[0] == "image" and titles[1].startswith("sky") and "50 %" in titles[1]
    shown = figure.axes[1].images[0].get_array()
    assert shown.shape == (20, 30, 3)
    assert np.abs(shown[:, :15].astype(int) - np.round(image[0, :, :15] * 255)).max() <= 1
    assert shown[:, 15:].max() <= 0.25 * 255 + 1  # dimmed where the mask is 0
    figure.savefig(io.BytesIO(), format="png")


def test_plot_masks_without_an_image_and_with_one_mask():
    figure = masks.plot_masks(None, masks.ellipse_mask((10, 10)))
    assert len(figure.axes) == 1 and figure.axes[0].get_title().startswith("mask 0")


def test_plot_masks_errors():
    image = np.zeros((1, 10, 10, 3), np.float32)
    with pytest.raises(ValueError, match="at least one"):
        masks.plot_masks(image, [])
    with pytest.raises(ValueError, match="size"):
        masks.plot_masks(image, [masks.half_mask((12, 10))])
    with pytest.raises(ValueError, match="titles"):
        masks.plot_masks(image, [masks.half_mask((10, 10))], titles=["a", "b"])
    with pytest.raises(ValueError, match="masks\\[0\\]"):
        masks.plot_masks(image, [np.ones((10, 10))])
