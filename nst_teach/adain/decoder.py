"""AdaIN's decoder: VGG16 up to `block3_conv1`, mirrored, that paints activations back.

Huang & Belongie mirror the encoder: each convolution of VGG up to the AdaIN
layer becomes one of the decoder, in reverse order, and each pooling becomes a
nearest-neighbour upsampling (no normalization layers: they would wash out the
style statistics AdaIN just set). Every convolution but the last is followed by
a ReLU; reflection padding keeps the borders free of artifacts. Here the
encoder is VGG16 (the project's backbone) up to `block3_conv1`, one block less than
the paper's `relu4_1`: a decoder for it trains in minutes on a CPU (a `block4_conv1`
decoder trained for ten minutes here still painted noise), at the price of
smaller strokes. The decoder mirrors

    block3_conv1 | pool | block2_conv2, block2_conv1 | pool | block1_conv2, block1_conv1

and `width` scales the channels (1.0, the default: VGG's widths, 0.56 M parameters,
2.2 MB in float32). The input is scaled by 1 / `FEATURE_SCALE` (1/64). The last
convolution is linear, as in the paper, with its bias starting at 0.5: a sigmoid there
saturates early in training (VGG's activations reach the hundreds) and its gradient
vanishes for good. `stylize` and `AdaINModel.decode` clip the picture to [0, 1];
training scores it unclipped.
"""

from __future__ import annotations

import keras
from keras import layers

from nst_teach.transformer import ReflectionPadding2D

ENCODER_CHANNELS = 256  # block3_conv1
DOWNSAMPLING = 4  # two poolings between the image and block3_conv1
# (mirrored VGG layer, channels it outputs in VGG16) per stage, deepest first.
MIRRORED_STAGES = (
    (("block3_conv1", 128),),
    (("block2_conv2", 128), ("block2_conv1", 64)),
    (("block1_conv2", 64), ("block1_conv1", 3)),
)
DEFAULT_WIDTH = 1.0
# VGG's activations (on 0-255 inputs) are tens to hundreds: scaled down by this at the
# input, an untrained decoder paints about 0.5 everywhere instead of values in the hundreds.
FEATURE_SCALE = 64.0


def build_decoder(width: float = DEFAULT_WIDTH, name: str = "adain_decoder") -> keras.Model:
    """Builds the decoder.

    Args:
        width: Multiplies the channels of every convolution but the last (1.0:
            VGG's widths, the default).
        name: The model's name.

    Returns:
        A `keras.Model` from float32 activations `(batch, h, w, 256)` to a
        picture `(batch, 4h, 4w, 3)`, about [0, 1] once trained (clip it).

    Raises:
        ValueError: For a width that is not a number in (0, 2].
    """
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= 2:
        raise ValueError(f"width must be a number in (0, 2], such as 0.5 or 1.0, got {width!r}.")
    features = keras.Input(shape=(None, None, ENCODER_CHANNELS), name="features")
    x = layers.Rescaling(1.0 / FEATURE_SCALE, name="rescale")(features)
    for stage_index, stage in enumerate(MIRRORED_STAGES):
        if stage_index > 0:
            x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{stage_index}")(x)
        for mirrored, channels in stage:
            last = mirrored == "block1_conv1"
            x = ReflectionPadding2D(1, name=f"{mirrored}_pad")(x)
            x = layers.Conv2D(channels if last else max(1, round(channels * width)), 3,
                              activation=None if last else "relu",
                              bias_initializer=keras.initializers.Constant(0.5 if last else 0.0),
                              name=f"{mirrored}_mirror", dtype="float32" if last else None)(x)
    return keras.Model(features, x, name=name)


def decoder_width(decoder: keras.Model) -> float:
    """Reads `width` back from a built decoder."""
    return decoder.get_layer("block3_conv1_mirror").filters / 128
