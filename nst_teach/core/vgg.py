"""VGG written out: layer names, convolution -> ReLU -> pooling, named activations (lesson 02).

A VGG network is a stack of 3x3 convolutions, each followed by a ReLU, in five
blocks with a 2x2 pooling after each block (Simonyan & Zisserman 2015). Layer
names follow `keras.applications` (`block4_conv2`, `block3_pool`, ...), and a
convolution's activation is its output *after* the ReLU, as in Keras and in the
TensorFlow style-transfer tutorial. The weights are passed in: where they come
from (ImageNet, HED, random, a file) is `nst_teach.backbone_weights.load_weights`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

from nst_teach.core.images import preprocess_for_vgg

# Channels of each convolution, block by block (Simonyan & Zisserman 2015).
ARCHITECTURES: Mapping[str, tuple[tuple[int, ...], ...]] = {
    "vgg16": ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    "vgg19": ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4),
}


@dataclasses.dataclass(frozen=True)
class BackboneWeights:
    """The convolution weights of one VGG network.

    Attributes:
        backbone: `"vgg16"` or `"vgg19"`.
        source: Where the weights came from: `"imagenet"`, `"hed"`,
            `"random (seed 0)"` or a file path.
        convolutions: Layer name to `(kernel, bias)`; kernel float32
            `(3, 3, in_channels, out_channels)`, bias float32 `(out_channels,)`.
            Only the layers that were loaded are present.
    """

    backbone: str
    source: str
    convolutions: Mapping[str, tuple[np.ndarray, np.ndarray]]

    def __repr__(self) -> str:
        return (f"BackboneWeights(backbone={self.backbone!r}, source={self.source!r}, "
                f"layers={len(self.convolutions)})")


def layer_names(backbone: str = "vgg19", include_pooling: bool = True) -> list[str]:
    """Lists a backbone's layer names in forward order.

    Args:
        backbone: `"vgg16"` or `"vgg19"`.
        include_pooling: Also list the `blockN_pool` layers.

    Returns:
        Names such as `["block1_conv1", "block1_conv2", "block1_pool", ...]`.

    Raises:
        ValueError: If the backbone is not `"vgg16"` or `"vgg19"`.
    """
    if backbone not in ARCHITECTURES:
        raise ValueError(f"Unknown backbone {backbone!r}: use 'vgg16' or 'vgg19'.")
    names = []
    for block, channels in enumerate(ARCHITECTURES[backbone], start=1):
        names += [f"block{block}_conv{index}" for index in range(1, len(channels) + 1)]
        if include_pooling:
            names.append(f"block{block}_pool")
    return names


def apply_layer(name: str, x: tf.Tensor, convolutions: Mapping[str, tuple],
                pooling: str = "max") -> tf.Tensor:
    """Applies one VGG layer: a 3x3 convolution then ReLU, or a 2x2 pooling.

    Args:
        name: A layer name, e.g. `"block1_conv1"` or `"block1_pool"`.
        x: The previous layer's output `(batch, H, W, C_in)`.
        convolutions: Layer name to `(kernel, bias)` (see `BackboneWeights`).
        pooling: `"max"` (as VGG was trained) or `"average"` (Gatys et al.
            2016 found it gives slightly smoother results).

    Returns:
        `(batch, H, W, C_out)` for a convolution ("SAME" padding, stride 1),
        `(batch, H // 2, W // 2, C_in)` for a pooling ("VALID", stride 2).
    """
    if name.endswith("_pool"):
        pool = tf.nn.max_pool2d if pooling == "max" else tf.nn.avg_pool2d
        return pool(x, ksize=2, strides=2, padding="VALID")
    kernel, bias = convolutions[name]
    return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias))


def vgg_features(image: tf.Tensor, weights: BackboneWeights, layers: Sequence[str],
                 pooling: str = "max") -> dict[str, tf.Tensor]:
    """Runs VGG on an image up to the deepest requested layer.

    The TensorFlow tutorial's `vgg_layers(layer_names)(preprocess_input(image * 255))`,
    written out layer by layer.

    Args:
        image: float32 `(1, H, W, 3)`, RGB in [0, 1].
        weights: The network's `BackboneWeights`.
        layers: Layer names whose activations to return.
        pooling: `"max"` or `"average"`.

    Returns:
        Layer name to float32 activations `(1, H_l, W_l, C_l)`.

    Raises:
        ValueError: If a layer name is unknown or its weights are missing.
    """
    names = layer_names(weights.backbone)
    unknown = [name for name in layers if name not in names]
    if unknown or not layers:
        raise ValueError(f"Unknown layer names {unknown} for {weights.backbone}; valid names "
                         f"are {', '.join(names)}." if layers else "Give at least one layer.")
    deepest = max(names.index(name) for name in layers)
    convolutions = {name: (tf.constant(kernel, tf.float32), tf.constant(bias, tf.float32))
                    for name, (kernel, bias) in weights.convolutions.items()}
    x = preprocess_for_vgg(image)
    features = {}
    for name in names[: deepest + 1]:
        if "_conv" in name and name not in convolutions:
            raise ValueError(f"The weights ({weights.source}) do not hold {name}; load them "
                             f"with up_to={names[deepest]!r} or deeper.")
        x = apply_layer(name, x, convolutions, pooling)
        if name in layers:
            features[name] = x
    return features
