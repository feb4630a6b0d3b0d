"""What VGG was trained for: naming the object in a photo (ImageNet's 1000 classes).

Style transfer uses only VGG's convolutions; its three fully connected layers,
which turn the last features into 1000 class scores, are left out (Keras'
`include_top=False`). With them, the same network names what is in a photo,
which is what its filters were trained to support. Their weights are a separate
548 MB (VGG16: 528 MB) download, so this module uses them only when Keras has
already cached them: `classifier_available` tells, `top_classes` names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from nst_teach.images import check_image

CLASSIFIER_FILES = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
    "vgg19": "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
}
CLASS_INDEX_FILE = "imagenet_class_index.json"
INPUT_SIZE = 224


def keras_models_dir() -> Path:
    """Keras' download cache, `$KERAS_HOME/models` (default `~/.keras/models`)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def classifier_available(backbone: str = "vgg19") -> bool:
    """True if the classifier's weights and ImageNet's class names are in Keras' cache.

    Raises:
        ValueError: If `backbone` is not "vgg16" or "vgg19".
    """
    if backbone not in CLASSIFIER_FILES:
        raise ValueError(f"Unknown backbone {backbone!r}: use 'vgg16' or 'vgg19'.")
    folder = keras_models_dir()
    return (folder / CLASSIFIER_FILES[backbone]).is_file() and (folder / CLASS_INDEX_FILE).is_file()


def build_classifier(backbone: str = "vgg19") -> tf.keras.Model:
    """Keras' VGG with its classifier, ImageNet weights (downloads them if not cached)."""
    applications = {"vgg16": tf.keras.applications.VGG16, "vgg19": tf.keras.applications.VGG19}
    if backbone not in applications:
        raise ValueError(f"Unknown backbone {backbone!r}: use 'vgg16' or 'vgg19'.")
    return applications[backbone](weights="imagenet", include_top=True)


def top_classes(image: Any, backbone: str = "vgg19", num_classes: int = 5,
                model: tf.keras.Model | None = None) -> list[tuple[str, float]]:
    """The ImageNet classes VGG finds most likely in an image.

    The image is resized (squashed) to 224 x 224, as VGG was trained, and
    preprocessed as Keras' `vgg19.preprocess_input` does (BGR, ImageNet means
    subtracted); both VGGs share that preprocessing.

    Args:
        image: RGB float32 `(1, H, W, 3)` in [0, 1].
        backbone: "vgg16" or "vgg19", when `model` is None.
        num_classes: How many classes to return, 1 to 1000.
        model: A classifier taking `(1, 224, 224, 3)` preprocessed images and returning
            1000 probabilities; None builds Keras' (see `build_classifier`).

    Returns:
        `[(class name, probability), ...]`, most likely first, probabilities in [0, 1].

    Raises:
        ValueError: If the image breaks the contract or `num_classes` is out of range.
        FileNotFoundError: If ImageNet's class names are not cached (see `class_names`).
    """
    image = check_image(image, "image")
    if not 1 <= num_classes <= 1000:
        raise ValueError(f"num_classes must be between 1 and 1000, got {num_classes}.")
    model = model if model is not None else build_classifier(backbone)
    resized = tf.image.resize(image, (INPUT_SIZE, INPUT_SIZE), antialias=True)
    batch = tf.keras.applications.vgg19.preprocess_input(255.0 * resized)
    probabilities = np.asarray(model(batch, training=False), dtype=np.float32)[0]
    names = class_names()
    best = np.argsort(probabilities)[::-1][:num_classes]
    return [(names[index], float(probabilities[index])) for index in best]


def class_names() -> list[str]:
    """ImageNet's 1000 class names, in the classifier's order, from Keras' cached index.

    Raises:
        FileNotFoundError: If Keras has not cached `imagenet_class_index.json`.
    """
    path = keras_models_dir() / CLASS_INDEX_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: Keras downloads it with the classifier "
                                "(keras.applications.imagenet_utils.decode_predictions).")
    index = json.loads(path.read_text(encoding="utf-8"))  # {"0": ["n01440764", "tench"], ...}
    return [index[str(number)][1].replace("_", " ") for number in range(len(index))]
