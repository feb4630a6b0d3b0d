"""Applying a trained network to photos, and saving and loading it."""

from __future__ import annotations

import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from nst_teach.fast.defaults import _positive_int
from nst_teach.images import check_image
from nst_teach.safe_write import write_atomically
from nst_teach.transformer import (
    MIN_SIDE,
)


def _check_batch(images, name: str = "images") -> np.ndarray:
    """Checks a batch `(N, H, W, 3)` float in [0, 1] (`check_image` on the stacked rows)."""
    array = np.asarray(images)
    if array.ndim == 3:
        raise ValueError(f"{name}: expected shape (N, height, width, 3), got {array.shape}; "
                         f"add a batch axis with {name}[None].")
    if array.ndim != 4 or array.shape[0] == 0:
        raise ValueError(f"{name}: expected shape (N, height, width, 3) with N >= 1, got "
                         f"{array.shape}.")
    number, height, width = array.shape[:3]
    flat = check_image(array.reshape(1, number * height, width, array.shape[-1]), name)
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"{name}: {height}x{width} px is too small; the network needs at least "
                         f"{MIN_SIDE} px on each side (resize_image can enlarge it).")
    return flat.reshape(array.shape)


def apply_network(model: keras.Model, images, batch_size: int = 8) -> np.ndarray | list:
    """Stylizes photos in one pass through a trained transformer.

    Args:
        model: A transformer from `train`, `build_transformer` or `load`.
        images: float32 `(1, H, W, 3)` or a batch `(N, H, W, 3)` in [0, 1]
            (any `H, W >= 16`), or a list of such arrays of different sizes.
        batch_size: Images per call to the network (limits memory).

    Returns:
        float32 in [0, 1] of the input's shape (a list for a list).

    Raises:
        ValueError: If an image breaks the contract or is smaller than 16 px.
    """
    if isinstance(images, (list, tuple)):
        return [apply_network(model, image, batch_size) for image in images]
    batch = _check_batch(images)
    batch_size = _positive_int(batch_size, "batch_size")
    outputs = [np.asarray(_forward(model, tf.constant(batch[start:start + batch_size])))
               for start in range(0, len(batch), batch_size)]
    return np.clip(np.concatenate(outputs), 0.0, 1.0).astype(np.float32)


def _forward(model: keras.Model, batch: tf.Tensor) -> tf.Tensor:
    """Runs the network in inference mode, as one compiled graph per model."""
    function = getattr(model, "_nst_forward", None)
    if function is None:
        function = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        model._nst_forward = function
    return function(batch)


def save(model: keras.Model, path: str | os.PathLike) -> pathlib.Path:
    """Saves a transformer as a `.keras` file (architecture and weights).

    Raises:
        ValueError: If the file name does not end in `.keras`.
        nst_teach.safe_write.SaveError: If the folder is read-only or the disk full
            (nothing is written; the model is still in memory).
    """
    path = pathlib.Path(path).expanduser()
    if path.suffix != ".keras":
        raise ValueError(f"Save the model as a .keras file, such as {path.with_suffix('.keras')}, "
                         f"not {path.name}.")
    return write_atomically(path, model.save, "the network")


def load(path: str | os.PathLike) -> keras.Model:
    """Loads a transformer saved by `save` (its custom layers are registered on import).

    Raises:
        ValueError: If the file does not exist or is not a `.keras` file.
    """
    path = pathlib.Path(path).expanduser()
    if path.suffix != ".keras":
        raise ValueError(f"{path.name} is not a .keras file: give the file `save` wrote.")
    if not path.is_file():
        raise ValueError(f"Model file {path} does not exist: train one with "
                         "nst.fast.train(...) and nst.fast.save(...), or "
                         "'python -m nst_teach train-fast'.")
    return keras.saving.load_model(path, compile=False)
