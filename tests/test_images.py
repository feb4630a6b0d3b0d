"""Tests of nst_teach.images: every source type, conversions, errors, saving, showing."""

import io
import struct
import zlib

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from nst_teach import images  # noqa: E402


def gradient_rgb(height=20, width=30):
    """A uint8 (H, W, 3) image whose red grows along x and green along y."""
    array = np.zeros((height, width, 3), np.uint8)
    array[..., 0] = np.linspace(0, 255, width).round().astype(np.uint8)[None, :]
    array[..., 1] = np.linspace(0, 255, height).round().astype(np.uint8)[:, None]
    array[..., 2] = 100
    return array


def encode(picture, file_format="PNG", **options):
    buffer = io.BytesIO()
    picture.save(buffer, format=file_format, **options)
    return buffer.getvalue()


def assert_contract(image, height, width):
    assert isinstance(image, np.ndarray)
    assert image.shape == (1, height, width, 3)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0


# --- every source type ---------------------------------------------------------

def test_uint8_array_sources_of_every_shape():
    array = gradient_rgb()
    expected = array.astype(np.float32) / 255.0
    for source in (array, array[None]):
        image = images.load_image(source)
        assert_contract(image, 20, 30)
        np.testing.assert_allclose(image[0], expected, atol=1e-6)


def test_float_array_is_kept_and_gray_array_is_repeated():
    array = gradient_rgb().astype(np.float32) / 255.0
    np.testing.assert_allclose(images.load_image(array.astype(np.float64))[0], array, atol=1e-6)
    gray = np.linspace(0.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
    image = images.load_image(gray)
    assert_contract(image, 3, 4)
    for channel in range(3):
        np.testing.assert_allclose(image[0, ..., channel], gray, atol=1e-6)
    np.testing.assert_allclose(images.load_image(gray[..., None])[0, ..., 1], gray, atol=1e-6)


def test_rgba_array_is_composited_over_white():
    array = np.zeros((2, 2, 4), np.uint8)
    array[..., 0] = 255
    array[..., 3] = [[255, 0], [128, 255]]
    image = images.load_image(array)[0]
    np.testing.assert_allclose(image[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(image[0, 1], [1, 1, 1], atol=1e-6)
    half = 128 / 255
    np.testing.assert_allclose(image[1, 0], [1, 1 - half, 1 - half], atol=1e-6)


def test_tensor_like_object_is_read_with_asarray():
    class FakeTensor:
        def __init__(self, value):
            self.value = value

        def __array__(self, dtype=None, copy=None):
            return self.value

    array = gradient_rgb().astype(np.float32)[None] / 255.0
    np.testing.assert_allclose(images.load_image(FakeTensor(array)), array, atol=1e-6)
    np.testing.assert_allclose(images.check_image(FakeTensor(array)), array, atol=1e-6)


def test_path_str_bytes_and_pil_sources_agree(tmp_path):
    picture = Image.fromarray(gradient_rgb())
    path = tmp_path / "gradient.png"
    picture.save(path)
    expected = gradient_rgb().astype(np.float32) / 255.0
    for source in (path, str(path), path.read_bytes(), bytearray(path.read_bytes()), picture):
        image = images.load_image(source)
        assert_contract(image, 20, 30)
        np.testing.assert_allclose(image[0], expected, atol=1e-6)


def test_missing_file_and_unsupported_type():
    with pytest.raises(FileNotFoundError, match="not found"):
        images.load_image("no/such/picture.png")
    with pytest.raises(TypeError, match="accepts a path"):
        images.load_image(12345)


# --- EXIF orientation and PIL modes ---------------------------------------------

def test_exif_orientation_is_applied():
    array = np.zeros((10, 20, 3), np.uint8)
    array[:, :10] = (255, 0, 0)  # left half red, right half blue
    array[:, 10:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(Image.fromarray(array), "JPEG", quality=95, exif=exif.tobytes())
    image = images.load_image(data)
    assert_contract(image, 20, 10)  # portrait once rotated
    top, bottom = image[0, 2, 5], image[0, 17, 5]
    assert top[0] > 0.8 and top[2] < 0.2  # red ends up on top
    assert bottom[2] > 0.8 and bottom[0] < 0.2


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grayscale_modes(mode):
    gray = np.array([[0, 255], [255, 0]], np.uint8)
    picture = Image.fromarray(gray).convert(mode)
    image = images.load_image(encode(picture))
    np.testing.assert_allclose(image[0, ..., 0], gray / 255.0, atol=1e-6)
    np.testing.assert_allclose(image[0, ..., 0], image[0, ..., 2])


def test_la_and_rgba_files_are_composited_over_white():
    la = Image.fromarray(np.array([[[0, 0], [0, 255]]], np.uint8), mode="LA")
    image = images.load_image(encode(la))[0, 0]
    np.testing.assert_allclose(image, [[1, 1, 1], [0, 0, 0]], atol=1e-6)
    rgba = Image.new("RGBA", (2, 1), (0, 0, 255, 0))
    rgba.putpixel((1, 0), (0, 0, 255, 255))
    image = images.load_image(encode(rgba))[0, 0]
    np.testing.assert_allclose(image, [[1, 1, 1], [0, 0, 1]], atol=1e-6)


def test_palette_with_transparency():
    picture = Image.new("P", (2, 1))
    picture.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    picture.putpixel((0, 0), 0)
    picture.putpixel((1, 0), 1)
    picture.info["transparency"] = 0
    image = images.load_image(encode(picture, transparency=0))[0, 0]
    np.testing.assert_allclose(image, [[1, 1, 1], [0, 1, 0]], atol=1e-6)
    opaque = images.load_image(encode(picture.copy(), "GIF"))
    assert opaque.shape == (1, 1, 2, 3)


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_sixteen_bit_images_are_scaled_by_65535(mode):
    values = np.array([[0, 32768, 65535]], np.uint16)
    picture = Image.fromarray(values).convert(mode) if mode == "I" else Image.frombytes(
        mode, (3, 1), values.astype(">u2" if mode == "I;16B" else "<u2").tobytes())
    image = images.load_image(picture)
    np.testing.assert_allclose(image[0, 0, :, 0], [0, 32768 / 65535, 1], atol=1e-6)
    png = encode(Image.frombytes("I;16", (3, 1), values.astype("<u2").tobytes()))
    round_trip = images.load_image(png)
    np.testing.assert_allclose(round_trip[0, 0, :, 1], [0, 32768 / 65535, 1], atol=1e-6)


def test_cmyk_jpeg_is_converted_to_rgb():
    picture = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    image = images.load_image(encode(picture, "JPEG", quality=100))
    assert_contract(image, 8, 8)
    red, green, blue = image[0, 4, 4]
    assert red > 0.9 and green < 0.1 and blue < 0.1


def test_float_mode_is_read_as_0_to_255():
    picture = Image.fromarray(np.array([[0.0, 127.5, 255.0]], np.float32))
    np.testing.assert_allclose(images.load_image(picture)[0, 0, :, 0], [0, 0.5, 1], atol=1e-6)


# --- resizing ------------------------------------------------------------------

def test_max_size_caps_the_longer_side_and_never_enlarges():
    array = np.random.default_rng(0).random((100, 60, 3)).astype(np.float32)
    assert images.load_image(array, max_size=50).shape == (1, 50, 30, 3)
    assert images.load_image(array, max_size=500).shape == (1, 100, 60, 3)
    assert images.resize_to_max_size(array[None], 10).shape == (1, 10, 6, 3)
    assert_contract(images.resize_to_max_size(array[None], 33), 33, 20)


def test_resize_keeps_a_flat_colour_and_resize_image_hits_exact_size():
    flat = np.full((1, 64, 48, 3), 0.25, np.float32)
    small = images.resize_to_max_size(flat, 16)
    np.testing.assert_allclose(small, 0.25, atol=1e-4)
    assert images.resize_image(flat, (7, 9)).shape == (1, 7, 9, 3)
    with pytest.raises(ValueError, match="size must be"):
        images.resize_image(flat, (0, 9))


@pytest.mark.parametrize("max_size", [0, -3, 2.5, "512", True])
def test_bad_max_size(max_size):
    with pytest.raises(ValueError, match="max_size must be a positive int"):
        images.load_image(np.zeros((4, 4, 3), np.uint8), max_size=max_size)


# --- bad inputs ----------------------------------------------------------------

def test_non_image_bytes():
    with pytest.raises(ValueError, match=r"the given bytes.*not an image"):
        images.load_image(b"<html>this is not a picture</html>")


def test_truncated_file(tmp_path):
    data = encode(Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8)))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.png.*truncated"):
        images.load_image(path)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.75])  # (cut in IEND: the pixels are all there)
def test_a_png_cut_anywhere_is_a_value_error(fraction):
    """Wherever a download stops, loading says so (PIL raises struct.error for some cuts)."""
    flat = np.zeros((48, 64, 3), np.uint8)
    flat[..., 0] = 200
    data = encode(Image.fromarray(flat))
    with pytest.raises(ValueError, match="truncated or corrupt|not an image file"):
        images.load_image(data[: int(len(data) * fraction)])


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width, height):
    """A tiny PNG file whose header claims the given size (it holds almost no pixel data)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    pixels = png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
    return b"\x89PNG\r\n\x1a\n" + header + pixels + png_chunk(b"IEND", b"")


def test_decompression_bomb_header_is_refused_before_decoding():
    pillow_limit = Image.MAX_IMAGE_PIXELS
    # Refused by Pillow's own check, by nst_teach's 8192 * 8192 limit, and by
    # Pillow's warning (turned into an error) when max_pixels is raised.
    for width, height, max_pixels in ((100_000, 100_000, images.DEFAULT_MAX_PIXELS),
                                      (9000, 9000, images.DEFAULT_MAX_PIXELS),
                                      (10_000, 10_000, 200_000_000)):
        with pytest.raises(ValueError, match="the given bytes.*decompression bomb"):
            images.load_image(png_header_only(width, height), max_pixels=max_pixels)
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # Pillow's global limit is left alone


def test_big_but_cheap_image_with_a_lowered_limit():
    data = encode(Image.new("L", (300, 300)))
    with pytest.raises(ValueError, match=r"300x300.*decompression bomb"):
        images.load_image(data, max_pixels=200 * 200)
    assert images.load_image(data, max_pixels=300 * 300).shape == (1, 300, 300, 3)


@pytest.mark.parametrize("array, words", [
    (np.zeros((0, 5, 3), np.uint8), "empty"),
    (np.full((2, 2, 3), 255.0, np.float32), "divide by 255"),
    (np.full((2, 2, 3), -0.5, np.float32), "expected \\[0, 1\\]"),
    (np.array([[[np.nan, 0, 0]]], np.float32), "NaN"),
    (np.zeros((2, 4, 4, 3), np.float32), "holds 2 images"),
    (np.zeros((3, 8, 8), np.float32), "channels-first"),
    (np.zeros((4, 4, 2), np.float32), "2 channels"),
    (np.zeros((2, 2, 2, 2, 3), np.float32), "shape"),
    (np.zeros((4, 4, 3), np.int64), "dtype int64"),
])
def test_bad_arrays(array, words):
    with pytest.raises(ValueError, match=f"(?i)the given array.*{words}"):
        images.load_image(array)


@pytest.mark.parametrize("array, words", [
    (np.zeros((256, 256, 3), np.float32), r"got shape \(256, 256, 3\).*image\[None\]"),
    (np.zeros((2, 8, 8, 3), np.float32), "batch of 1"),
    (np.zeros((1, 8, 8, 4), np.float32), "3 RGB channels"),
    (np.zeros((1, 8, 8, 3), np.uint8), "dtype uint8"),
    (np.full((1, 8, 8, 3), 1.5, np.float32), "divide by 255"),
    (np.full((1, 8, 8, 3), np.inf, np.float32), "NaN or infinite"),
    (np.zeros((1, 0, 8, 3), np.float32), "empty"),
])
def test_check_image_errors(array, words):
    with pytest.raises(ValueError, match=f"style_image: .*{words}"):
        images.check_image(array, name="style_image")


def test_check_image_clips_a_tiny_overshoot():
    image = np.full((1, 2, 2, 3), 1.0 + 1e-5, np.float64)
    checked = images.check_image(image)
    assert checked.dtype == np.float32 and checked.max() == 1.0


# --- converting, saving, showing --------------------------------------------------

def test_to_uint8_and_to_pil():
    image = np.array([[[[0.0, 0.5, 1.0]]]], np.float32)
    np.testing.assert_array_equal(images.to_uint8(image), [[[0, 128, 255]]])
    picture = images.to_pil(image)
    assert picture.mode == "RGB" and picture.size == (1, 1)


def test_save_and_load_round_trip(tmp_path):
    image = images.load_image(gradient_rgb(40, 50))
    png = images.save_image(image, tmp_path / "deep" / "folder" / "out.png")
    assert png.is_file()
    np.testing.assert_array_equal(images.load_image(png), image)
    jpeg = images.save_image(image, tmp_path / "out.JPG", quality=95)
    assert jpeg.read_bytes()[:2] == b"\xff\xd8"
    assert np.abs(images.load_image(jpeg) - image).mean() < 0.02
    with pytest.raises(ValueError, match=r"\.png, \.jpg or \.jpeg"):
        images.save_image(image, tmp_path / "out.gif")


def test_png_and_jpeg_bytes():
    image = images.load_image(gradient_rgb())
    png = images.image_to_png_bytes(image)
    assert png.startswith(b"\x89PNG")
    np.testing.assert_array_equal(images.load_image(png), image)
    jpeg = images.image_to_jpeg_bytes(image, quality=50)
    assert jpeg.startswith(b"\xff\xd8") and images.load_image(jpeg).shape == image.shape


def test_show_images_returns_a_figure_with_one_axes_per_image():
    from matplotlib.figure import Figure

    image = images.load_image(gradient_rgb())
    figure = images.show_images([image, image, image], titles=["a", "b", "c"], columns=2)
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 3
    assert [axes.get_title() for axes in figure.axes] == ["a", "b", "c"]
    single = images.show_images(image, titles="only")
    assert len(single.axes) == 1 and single.axes[0].get_title() == "only"
    figure.canvas.draw()  # renders with the Agg backend
    with pytest.raises(ValueError, match="one title per image"):
        images.show_images([image, image], titles=["one"])
    with pytest.raises(ValueError, match=r"images\[1\]"):
        images.show_images([image, image[0]])
