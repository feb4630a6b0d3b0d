"""Arbitrary style in one pass: encode, AdaIN, decode (Huang & Belongie 2017).

    content, style --VGG16 to block3_conv1--> x, y
    t = alpha * AdaIN(x, y) + (1 - alpha) * x        (the content-style trade-off)
    picture = decoder(t)

Several styles interpolate: `t = sum_k w_k AdaIN(x, y_k)` with weights summing to
one, before the trade-off (the paper's section 7.3). The decoder inverts one
encoder, so it is always used with the weights it was trained with (the shipped
one: `hed`, which nst_teach always has; see `decoder_metadata`).

The shipped decoder is ``adain_decoder.weights.h5`` (weights only, readable by any
Keras 3) with ``adain_decoder.json`` beside it (its width and encoder); a decoder
you train is a whole-model ``.keras`` file (`save_decoder`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from nst_teach.adain.decoder import DEFAULT_WIDTH, DOWNSAMPLING, build_decoder
from nst_teach.backbone_weights import load_weights
from nst_teach.core.adain import ENCODER_LAYER, adaptive_instance_normalization
from nst_teach.core.images import check_image
from nst_teach.features import FeatureExtractor

SHIPPED_DECODER = pathlib.Path(__file__).resolve().parent.parent / "data" / "adain" \
    / "adain_decoder.weights.h5"
WEIGHTS_SUFFIX = ".weights.h5"
MIN_STYLE_SIDE = 16
CACHED_ENCODINGS = 4  # images whose activations an AdaINModel remembers (4 MB each at 256 px)


def _sidecar(path: pathlib.Path) -> pathlib.Path:
    """``decoder.keras`` or ``decoder.weights.h5`` -> ``decoder.json``."""
    return path.with_name(path.name.removesuffix(WEIGHTS_SUFFIX)).with_suffix(".json")


def decoder_metadata(path: str | os.PathLike) -> dict:
    """The JSON written beside a decoder: encoder weights, layer, width, training settings."""
    sidecar = _sidecar(pathlib.Path(path))
    if not sidecar.is_file():
        return {"backbone": "vgg16", "weights": "hed", "layer": ENCODER_LAYER}
    return json.loads(sidecar.read_text())


@dataclasses.dataclass
class AdaINModel:
    """An encoder (VGG up to `ENCODER_LAYER`) and the decoder trained to invert it.

    Attributes:
        decoder: The decoder (`build_decoder`, `train_decoder` or `load_model`).
        encoder: A `FeatureExtractor` returning `ENCODER_LAYER` (`block3_conv1`).
    """

    decoder: keras.Model
    encoder: FeatureExtractor
    encodings: dict = dataclasses.field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        self._encode = tf.function(lambda image: self.encoder(image)[ENCODER_LAYER],
                                   reduce_retracing=True)
        self._decode = tf.function(lambda features: self.decoder(features, training=False),
                                   reduce_retracing=True)

    def encode(self, image: np.ndarray | tf.Tensor) -> tf.Tensor:
        """float32 `(1, H, W, 3)` in [0, 1] -> `block3_conv1` activations `(1, H/4, W/4, 256)`."""
        return self._encode(tf.constant(image, tf.float32))

    def encode_cached(self, image: np.ndarray) -> tf.Tensor:
        """`encode`, remembering the last `CACHED_ENCODINGS` images (keyed by their pixels).

        A style used for many photos, or a photo stylized again as alpha changes, is
        encoded once. The key is a hash of the exact pixels, so a changed image is
        encoded again.
        """
        image = np.ascontiguousarray(image, np.float32)
        key = (image.shape, hashlib.blake2b(image.tobytes(), digest_size=16).digest())
        features = self.encodings.pop(key, None)
        if features is None:
            features = self.encode(image)
            if len(self.encodings) >= CACHED_ENCODINGS:
                self.encodings.pop(next(iter(self.encodings)))  # the least recently used
        self.encodings[key] = features  # now the most recently used
        return features

    def decode(self, features: tf.Tensor) -> tf.Tensor:
        """Activations `(1, h, w, 256)` -> a picture `(1, 4h, 4w, 3)`, clipped to [0, 1]."""
        return tf.clip_by_value(self._decode(tf.cast(features, tf.float32)), 0.0, 1.0)


def load_model(path: str | os.PathLike | None = None, precision: str = "auto",
               backbone_weights=None) -> AdaINModel:
    """Loads a decoder (the shipped one by default) with the encoder it was trained on.

    Args:
        path: A `.keras` decoder from `save_decoder`, or a ``.weights.h5`` file with
            its ``.json`` (giving ``width``) beside it; None for the shipped decoder.
        precision: The encoder's convolutions: ``"auto"``, ``"float32"`` or ``"bfloat16"``.
        backbone_weights: Encoder weights to use instead of those the decoder names.

    Raises:
        ValueError: If the file does not exist (the message says how to make one).
    """
    path = SHIPPED_DECODER if path is None else pathlib.Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"Decoder file {path} does not exist: train one with "
                         "nst.adain.train_decoder(...) or 'python -m nst_teach train-adain'.")
    metadata = decoder_metadata(path)
    if backbone_weights is None:
        backbone_weights = load_weights(metadata.get("backbone", "vgg16"),
                                        metadata.get("weights", "hed"), up_to=ENCODER_LAYER,
                                        verbose=False)
    if path.name.endswith(WEIGHTS_SUFFIX):
        decoder = build_decoder(metadata.get("width", DEFAULT_WIDTH))
        decoder.load_weights(path)
    else:
        decoder = keras.saving.load_model(path, compile=False)
    return AdaINModel(decoder, FeatureExtractor(backbone_weights, [ENCODER_LAYER],
                                                precision=precision))


def _style_weights(styles: list, style_weights: Sequence[float] | None) -> list[float]:
    if style_weights is None:
        return [1.0 / len(styles)] * len(styles)
    weights = [float(weight) for weight in style_weights]
    if len(weights) != len(styles) or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"style_weights must be {len(styles)} numbers >= 0, one per style, "
                         f"not all zero (they are scaled to sum to 1), got {style_weights!r}.")
    return [weight / sum(weights) for weight in weights]


def _pad_to_multiple(image: np.ndarray) -> np.ndarray:
    """Pads bottom and right by reflection to multiples of 4 (the encoder's two poolings)."""
    height, width = image.shape[1:3]
    pad = ((0, 0), (0, -height % DOWNSAMPLING), (0, -width % DOWNSAMPLING), (0, 0))
    return np.pad(image, pad, mode="reflect" if min(height, width) > DOWNSAMPLING else "edge")


def stylize(content: np.ndarray, style: np.ndarray | Sequence[np.ndarray], alpha: float = 1.0,
            style_weights: Sequence[float] | None = None, model: AdaINModel | None = None
            ) -> np.ndarray:
    """Stylizes `content` in one pass with any style: encode, AdaIN, decode.

    Args:
        content: float32 `(1, H, W, 3)` in [0, 1], `H, W >= 16`.
        style: One style image, or a list of them to interpolate (each float32
            `(1, H_s, W_s, 3)` in [0, 1], any size of at least 16 px).
        alpha: The content-style trade-off in [0, 1]: 0 gives the content back
            (as the decoder paints it), 1 the full style.
        style_weights: With several styles, how much of each (scaled to sum to 1;
            None: equal).
        model: An `AdaINModel` (`load_model()`); None loads the shipped decoder
            (load it once and pass it when stylizing many pictures).

    Returns:
        float32 `(1, H, W, 3)` in [0, 1].

    Raises:
        ValueError: For an image that breaks the contract or is too small, alpha
            outside [0, 1], or style weights that do not match the styles.
    """
    content = check_image(content, "content")
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    styles = [check_image(image, f"style {index}") for index, image in enumerate(styles)]
    for name, image in [("content", content)] + [(f"style {i}", s) for i, s in enumerate(styles)]:
        if min(image.shape[1:3]) < MIN_STYLE_SIDE:
            raise ValueError(f"{name} is {image.shape[1]}x{image.shape[2]} px: AdaIN needs at "
                             f"least {MIN_STYLE_SIDE} px on each side (resize_image enlarges it).")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1] (1 = full style), got {alpha!r}.")
    weights = _style_weights(styles, style_weights)
    model = load_model() if model is None else model
    content_features = model.encode_cached(_pad_to_multiple(content))
    target = tf.add_n([weight * adaptive_instance_normalization(content_features,
                                                                model.encode_cached(image))
                       for weight, image in zip(weights, styles)])
    target = alpha * target + (1.0 - alpha) * content_features
    picture = model.decode(target)[:, : content.shape[1], : content.shape[2]]
    return np.clip(np.asarray(picture, np.float32), 0.0, 1.0)
