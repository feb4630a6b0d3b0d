"""The image contract, resizing and VGG preprocessing (lesson 01).

One contract everywhere in nst_teach: an image is a float32 array of shape
`(1, height, width, 3)` holding RGB values in `[0, 1]`. Loading files and URLs
(EXIF rotation, decompression bombs, 16-bit and alpha images) is a layer on top,
in `nst_teach.images`; here are only the checks, the resize and the one place
where the `[0, 1]` RGB image becomes what VGG was trained on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image

# Float images a little outside [0, 1] (resampling overshoot) are clipped, not refused.
RANGE_TOLERANCE = 1e-3
# The BGR channel means that Caffe-trained VGG networks subtract (Keras' "caffe" mode).
VGG_MEAN_BGR = (103.939, 116.779, 123.68)


def check_image(image: Any, name: str = "image") -> np.ndarray:
    """Checks that an image follows the contract and returns it as a NumPy array.

    Args:
        image: An array or tensor expected to be float, shape `(1, H, W, 3)`,
            finite, values in `[0, 1]` (a tolerance of 1e-3 is clipped away).
        name: Name used in error messages, such as `"style_image"`.

    Returns:
        The image as a float32 NumPy array of shape `(1, H, W, 3)` in `[0, 1]`.

    Raises:
        ValueError: If the shape, dtype or values break the contract; the
            message says how to fix it.
    """
    array = np.asarray(image)
    if array.ndim != 4:
        hint = " Add a batch axis with image[None]." if array.ndim == 3 else \
            " Use nst_teach.load_image to convert it."
        raise ValueError(f"{name}: expected shape (1, height, width, 3), "
                         f"got shape {array.shape}.{hint}")
    if array.shape[0] != 1:
        raise ValueError(f"{name}: expected a batch of 1 image, got {array.shape[0]} "
                         f"(shape {array.shape}); select one with {name}[i:i + 1].")
    if array.shape[-1] != 3:
        raise ValueError(f"{name}: expected 3 RGB channels, got {array.shape[-1]} "
                         f"(shape {array.shape}); load_image converts grayscale and RGBA to RGB.")
    if array.shape[1] == 0 or array.shape[2] == 0:
        raise ValueError(f"{name}: image is empty (shape {array.shape}).")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name}: expected float values in [0, 1], got dtype {array.dtype}; "
                         f"convert with {name}.astype(np.float32) / 255.")
    return check_range(array.astype(np.float32), name)


def check_range(values: np.ndarray, description: str) -> np.ndarray:
    """Refuses NaN, infinities and values outside [0, 1]; clips the tolerance away."""
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{description}: contains NaN or infinite values; fix the computation "
                         "that produced it, or replace them with np.nan_to_num.")
    low, high = float(values.min()), float(values.max())
    if low < -RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        hint = ("divide by 255 if your array holds 0..255 values" if high > 1.0 and low >= 0.0
                else "clip it with np.clip(image, 0, 1)")
        raise ValueError(f"{description}: has float values from {low:.4g} to {high:.4g}, "
                         f"expected [0, 1]; {hint}.")
    return np.clip(values, 0.0, 1.0)


def is_positive_int(value: Any) -> bool:
    """True for a Python or NumPy int > 0 (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def resize_image(image: Any, size: tuple[int, int]) -> np.ndarray:
    """Resizes an image to an exact size with Lanczos resampling.

    Args:
        image: Float image, shape `(1, H, W, 3)`, values in `[0, 1]`.
        size: Target `(height, width)` in pixels, both positive ints.

    Returns:
        A float32 array of shape `(1, height, width, 3)` in `[0, 1]`.

    Raises:
        ValueError: If the image breaks the contract or size is not two positive ints.
    """
    image = check_image(image)
    is_pair = isinstance(size, (tuple, list)) and len(size) == 2
    if not is_pair or not all(map(is_positive_int, size)):
        raise ValueError(f"size must be (height, width) with two positive ints, got {size!r}.")
    height, width = int(size[0]), int(size[1])
    channels = []
    for channel in range(3):  # Pillow resizes float images one channel ("F" mode) at a time
        plane = Image.fromarray(image[0, :, :, channel])
        channels.append(np.asarray(plane.resize((width, height), Image.Resampling.LANCZOS)))
    resized = np.stack(channels, axis=-1).astype(np.float32)
    return np.clip(resized, 0.0, 1.0)[None]


def preprocess_for_vgg(image: tf.Tensor) -> tf.Tensor:
    """Converts an RGB image in [0, 1] to what Caffe-trained VGG expects.

    Scales to [0, 255], reorders RGB to BGR and subtracts the ImageNet channel
    means, exactly as `keras.applications.vgg19.preprocess_input` does (the
    TensorFlow tutorial's convention). HED was trained with nearly the same
    means (104.0, 116.7, 122.7), so the same step serves both.

    Args:
        image: float32 `(batch, H, W, 3)`, RGB in [0, 1].

    Returns:
        float32 `(batch, H, W, 3)`, BGR, roughly in [-124, 152].
    """
    bgr = tf.reverse(tf.cast(image, tf.float32) * 255.0, axis=[-1])
    return bgr - tf.constant(VGG_MEAN_BGR, dtype=tf.float32)
