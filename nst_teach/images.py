"""Loading, converting, saving and showing images: a layer on `nst_teach.core.images`.

The one image contract of ``nst_teach`` (``core.images.check_image``): an image is
a NumPy ``float32`` array of shape ``(1, height, width, 3)`` holding RGB values in
``[0, 1]``. Here is everything robust around it: files, URLs, bytes and PIL
images, EXIF rotation, decompression bombs, 16-bit and alpha images, saving and
display. Every function also accepts ``tf.Tensor``-like objects (``np.asarray``).
"""

from __future__ import annotations

import http.client
import io
import math
import os
import pathlib
import struct
import urllib.request
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nst_teach.core.images import (  # the contract itself is part of the core
    check_image,
    check_range,
    is_positive_int,
    resize_image,
)
from nst_teach.safe_write import write_atomically

DEFAULT_MAX_PIXELS = 8192 * 8192
DOWNLOAD_TIMEOUT_SECONDS = 15.0
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
USER_AGENT = "nst_teach/0.1 (neural style transfer lessons; Python urllib)"
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


def load_image(source: Any, max_size: int | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Loads an image from almost anything and returns it in the project's contract.

    Applies the EXIF orientation, turns grayscale into RGB, composites
    transparent images (RGBA, LA, palette with transparency) over a white
    background, scales 16-bit images by 65535 and converts CMYK to RGB.

    Args:
        source: A file path (``str`` or ``pathlib.Path``), an ``http(s)://``
            URL, encoded file ``bytes``, a ``PIL.Image.Image``, or an array:
            ``uint8`` (0..255) or float (0..1), shaped ``(H, W)``,
            ``(H, W, C)`` or ``(1, H, W, C)`` with C = 1, 3 or 4.
        max_size: If given, a positive int: the longer side is shrunk to at
            most this many pixels (aspect ratio kept, never enlarged).
        max_pixels: Largest number of pixels accepted (protects against
            decompression bombs). Defaults to 8192 * 8192.

    Returns:
        A float32 array of shape ``(1, H, W, 3)`` with values in ``[0, 1]``.

    Raises:
        ValueError: If the source is not a valid image (not an image, truncated,
            empty, too large, values out of range, wrong shape) or max_size is
            not a positive int.
        FileNotFoundError: If a path does not exist.
        OSError: If a URL cannot be downloaded.
        TypeError: If the source has an unsupported type.
    """
    _check_max_size(max_size)
    image = _to_float_image(source, max_pixels)
    return image if max_size is None else resize_to_max_size(image, max_size)


def _check_max_size(max_size: Any) -> None:
    if max_size is not None and not is_positive_int(max_size):
        raise ValueError(f"max_size must be a positive int such as 512, got {max_size!r}.")


def _to_float_image(source: Any, max_pixels: int) -> np.ndarray:
    if isinstance(source, Image.Image):
        description = f"the given PIL image (mode {source.mode}, size {source.size})"
        _check_pixel_count(source.size, description, max_pixels)
        try:
            source.load()
        except OSError as error:
            message = f"{description}: image data is truncated or corrupt ({error})."
            raise ValueError(message) from error
        return _pil_to_array(source, description)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), f"the given bytes ({len(source)} bytes)", max_pixels)
    if isinstance(source, str) and source.lower().startswith(("http://", "https://")):
        return _decode(_download(source), source, max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = pathlib.Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"image file '{path}' not found "
                                    f"(current folder: {pathlib.Path.cwd()}).")
        return _decode(path.read_bytes(), f"'{path}'", max_pixels)
    if isinstance(source, np.ndarray) or hasattr(source, "__array__"):
        return _array_to_image(np.asarray(source), "the given array")
    raise TypeError("load_image accepts a path, an http(s) URL, bytes, a PIL image or an array, "
                    f"got {type(source).__name__}.")


def _download(url: str, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except (OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        raise OSError(f"could not download {url}: {reason}. Check the address and your "
                      "connection, or download the file and pass its path.") from error
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"{url}: the file is larger than {MAX_DOWNLOAD_BYTES // 2**20} MB; "
                         "download and shrink it first.")
    return data


def _decode(data: bytes, description: str, max_pixels: int) -> np.ndarray:
    """Decodes file bytes, checking the size in the header before decoding pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            _check_pixel_count(image.size, description, max_pixels)
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ValueError(f"{description}: image is too large, possibly a decompression bomb "
                             f"({error}).") from error
        except UnidentifiedImageError as error:
            raise ValueError(f"{description}: not an image file that Pillow can read; "
                             "check that it is a PNG, JPEG or similar file.") from error
        except (OSError, SyntaxError, struct.error, EOFError) as error:  # struct: a cut PNG
            raise ValueError(f"{description}: image data is truncated or corrupt ({error}); "
                             "download or export the file again.") from error
    return _pil_to_array(image, description)


def _check_pixel_count(size: tuple[int, int], description: str, max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"{description}: image is empty ({width}x{height} pixels).")
    if width * height > max_pixels:
        raise ValueError(f"{description}: image is {width}x{height} = {width * height} pixels, "
                         f"more than the limit of {max_pixels}; this may be a decompression bomb. "
                         "Shrink it first, or pass a larger max_pixels if you trust the file.")


def _pil_to_array(image: Image.Image, description: str) -> np.ndarray:
    """Converts any PIL mode to RGB float values in [0, 1] (after EXIF orientation)."""
    image = ImageOps.exif_transpose(image)
    has_transparency = image.mode in ALPHA_MODES or "transparency" in image.info
    if image.mode in SIXTEEN_BIT_MODES:
        gray = np.asarray(image).astype(np.float32) / 65535.0
        array = np.clip(gray, 0.0, 1.0)[..., None]
    elif image.mode == "F":
        array = np.clip(np.asarray(image, dtype=np.float32) / 255.0, 0.0, 1.0)[..., None]
    elif has_transparency:
        array = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    else:
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return _array_to_image(array, description)


def _array_to_image(array: np.ndarray, description: str) -> np.ndarray:
    """Turns an (H, W), (H, W, C) or (1, H, W, C) array into a (1, H, W, 3) float32 image."""
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim == 4:
        raise ValueError(f"{description}: holds {array.shape[0]} images (shape {array.shape}); "
                         "pass one, for example array[0:1].")
    elif array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"{description}: has shape {array.shape}; expected (height, width), "
                         "(height, width, channels) or (1, height, width, channels).")
    if array.size == 0:
        raise ValueError(f"{description}: is empty (shape {array.shape}).")
    if array.shape[-1] not in (1, 3, 4):
        hint = ""
        if array.shape[0] in (1, 3, 4):
            hint = " It looks channels-first: use np.transpose(array, (1, 2, 0))."
        raise ValueError(f"{description}: has {array.shape[-1]} channels (shape {array.shape}); "
                         f"expected 1 (gray), 3 (RGB) or 4 (RGBA).{hint}")
    values = _to_unit_range(array, description)
    if values.shape[-1] == 1:
        values = np.repeat(values, 3, axis=-1)
    elif values.shape[-1] == 4:
        alpha = values[..., 3:]
        values = values[..., :3] * alpha + (1.0 - alpha)  # composite over white
    return np.ascontiguousarray(values[None], dtype=np.float32)


def _to_unit_range(array: np.ndarray, description: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{description}: has dtype {array.dtype}; expected uint8 (0..255) or "
                         "float (0..1). If it holds 0..255 values, use array.astype(np.uint8).")
    return check_range(array.astype(np.float32), description)


def resize_to_max_size(image: Any, max_size: int) -> np.ndarray:
    """Shrinks an image so that its longer side is at most ``max_size`` pixels.

    Args:
        image: Float image, shape ``(1, H, W, 3)``, values in ``[0, 1]``.
        max_size: Largest allowed length of the longer side, a positive int.

    Returns:
        A float32 array ``(1, H', W', 3)`` in ``[0, 1]`` with the same aspect
        ratio; the image itself (as float32) if it is already small enough.

    Raises:
        ValueError: If the image breaks the contract or max_size is not a positive int.
    """
    _check_max_size(max_size)
    image = check_image(image)
    height, width = image.shape[1:3]
    scale = max_size / max(height, width)
    if scale >= 1.0:
        return image
    new_size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return resize_image(image, new_size)


def to_uint8(image: Any) -> np.ndarray:
    """Converts an image to 8-bit pixels.

    Args:
        image: Float image, shape ``(1, H, W, 3)``, values in ``[0, 1]``.

    Returns:
        A uint8 array of shape ``(H, W, 3)`` with values 0..255.
    """
    return np.round(check_image(image)[0] * 255.0).astype(np.uint8)


def to_pil(image: Any) -> Image.Image:
    """Converts an image (float, ``(1, H, W, 3)``, ``[0, 1]``) to an RGB ``PIL.Image.Image``."""
    return Image.fromarray(to_uint8(image))


def save_image(image: Any, path: str | os.PathLike, quality: int = 95) -> pathlib.Path:
    """Saves an image as PNG or JPEG (chosen by the extension), creating folders.

    Args:
        image: Float image, shape ``(1, H, W, 3)``, values in ``[0, 1]``.
        path: Destination ending in ``.png``, ``.jpg`` or ``.jpeg``.
        quality: JPEG quality from 1 to 95 (ignored for PNG).

    Returns:
        The path written, as a ``pathlib.Path``.

    Raises:
        ValueError: If the extension is not .png, .jpg or .jpeg, or the image breaks the contract.
        nst_teach.safe_write.SaveError: (an `OSError`) If the folder is read-only or the
            disk full: nothing is written, and the message says the image is still in memory.
    """
    path = pathlib.Path(path).expanduser()
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
    file_format = formats.get(path.suffix.lower())
    if file_format is None:
        raise ValueError(f"cannot save '{path}': use a .png, .jpg or .jpeg file name.")
    picture = to_pil(image)
    options = {"quality": int(quality)} if file_format == "JPEG" else {}
    return write_atomically(path, lambda target: picture.save(target, format=file_format,
                                                              **options), "the image")


def image_to_png_bytes(image: Any) -> bytes:
    """Encodes an image (float, ``(1, H, W, 3)``, ``[0, 1]``) as PNG file bytes."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def image_to_jpeg_bytes(image: Any, quality: int = 85) -> bytes:
    """Encodes an image (float, ``(1, H, W, 3)``, ``[0, 1]``) as JPEG bytes (quality 1..95)."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def show_images(images: Any, titles: Sequence[str] | str | None = None,
                columns: int | None = None, size: float = 4.0):
    """Draws one or several images side by side in a matplotlib figure.

    The figure is built without pyplot, so nothing needs closing and it is shown
    exactly once: a notebook displays it when it is the last expression of a cell
    (or with ``IPython.display.display(figure)``); a script can call ``figure.savefig``.

    Args:
        images: One image or a list of images, each float ``(1, H, W, 3)`` in ``[0, 1]``.
        titles: One title per image (or a single string for a single image).
        columns: Images per row; defaults to all of them, at most 4.
        size: Size of each panel in inches.

    Returns:
        The ``matplotlib.figure.Figure``, with one axes per image.

    Raises:
        ValueError: If there are no images, titles do not match, or an image breaks the contract.
    """
    from matplotlib.figure import Figure

    images = list(images) if isinstance(images, (list, tuple)) else [images]
    titles = [titles] if isinstance(titles, str) else list(titles or [""] * len(images))
    if not images or len(titles) != len(images):
        raise ValueError(f"show_images needs at least one image and one title per image; "
                         f"got {len(images)} images and {len(titles)} titles.")
    columns = min(len(images), 4) if columns is None else max(1, int(columns))
    rows = math.ceil(len(images) / columns)
    figure = Figure(figsize=(size * columns, size * rows), layout="constrained")
    show_in_notebooks(figure)
    for index, (image, title) in enumerate(zip(images, titles, strict=True)):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(to_uint8(check_image(image, name=f"images[{index}]")))
        axes.set_title(title)
        axes.set_axis_off()
    return figure


def show_in_notebooks(figure: Any) -> None:
    """Inside IPython, makes a pyplot-free figure display as PNG (not as its repr).

    Figures built with `matplotlib.figure.Figure` (no pyplot state) have no
    display hook of their own; this registers one. `show_images` and every
    function of `nst_teach.plots` call it.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup(figure)
    except KeyError:
        def render(shown: Any) -> bytes:
            return print_figure(shown, "png", bbox_inches="tight")

        formatter.for_type(type(figure), render)
