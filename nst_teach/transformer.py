"""The image transformation network of fast style transfer (Johnson et al. 2016).

A feed-forward network that repaints a photo in one pass:

    photo -> reflection pad -> 9x9 conv -> two stride-2 3x3 convs (downsampling)
          -> residual blocks -> two (upsample x2, 3x3 conv) -> 9x9 conv -> sigmoid

Every convolution but the last is followed by instance normalisation and a
ReLU. The changes from the paper follow later practice: instance
normalisation instead of batch normalisation (Ulyanov et al. 2016), nearest
upsampling followed by a convolution instead of transposed convolutions (no
checkerboard artifacts, Odena et al. 2016), and reflection padding so that the
borders look like the middle. The output passes through a sigmoid, which is
the paper's scaled tanh `(tanh(x) + 1) / 2` written differently
(`sigmoid(2x) == (tanh(x) + 1) / 2`), so it lies in [0, 1].

Sizes: the network downsamples by 4, so it pads the input (by reflection, at the
bottom and right) to multiples of 4 and crops the output back: any `H, W` of
at least `MIN_SIDE` pixels works and the output has the input's size.

The custom layers are registered with Keras, so a model saved as `.keras` loads
back without `custom_objects`.
"""

from __future__ import annotations

import keras
from keras import layers, ops

MIN_SIDE = 16  # the 9x9 convolution's reflection padding needs at least 5 px after padding
DOWNSAMPLING = 4  # two stride-2 convolutions
# Johnson et al.'s widths: 32 filters, 5 residual blocks (1.7 M parameters).
PAPER_ARCHITECTURE = {"base_filters": 32, "num_residual_blocks": 5}
# A narrower network that trains in minutes on a laptop's CPU (see benchmarks/bench_fast.py).
CPU_ARCHITECTURE = {"base_filters": 16, "num_residual_blocks": 3}


@keras.saving.register_keras_serializable(package="nst_teach")
class ReflectionPadding2D(layers.Layer):
    """Pads height and width by mirroring the image at its borders.

    Args:
        padding: Pixels added on each side (top, bottom, left, right).
    """

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        pad = 2 * self.padding
        return (batch, None if height is None else height + pad,
                None if width is None else width + pad, channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="nst_teach")
class InstanceNormalization(layers.Layer):
    """Normalises each image's channels to mean 0 and variance 1, then scales and shifts.

    `y = scale * (x - mean) / sqrt(variance + epsilon) + offset`, with `mean`
    and `variance` taken over height and width, separately for every image
    and channel (Ulyanov et al. 2016). Unlike batch normalisation it behaves
    the same in training and inference, and one image's contrast does not
    depend on the other images of its batch.

    Args:
        epsilon: Added to the variance, for stability.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.scale = self.add_weight(shape=(channels,), initializer="ones", name="scale")
        self.offset = self.add_weight(shape=(channels,), initializer="zeros", name="offset")

    def call(self, inputs):
        mean, variance = ops.moments(inputs, axes=[1, 2], keepdims=True)
        normalized = (inputs - mean) * ops.rsqrt(variance + self.epsilon)
        return self.scale * normalized + self.offset

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="nst_teach")
class PadToMultiple(layers.Layer):
    """Pads height and width at the bottom and right, by reflection, to multiples of `multiple`."""

    def __init__(self, multiple: int = DOWNSAMPLING, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, inputs):
        shape = ops.shape(inputs)
        pad_height = (-shape[1]) % self.multiple
        pad_width = (-shape[2]) % self.multiple
        return ops.pad(inputs, [[0, 0], [0, pad_height], [0, pad_width], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        def grow(side):
            return None if side is None else -(-side // self.multiple) * self.multiple

        batch, height, width, channels = input_shape
        return (batch, grow(height), grow(width), channels)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="nst_teach")
class CropLike(layers.Layer):
    """Crops `inputs[0]` to the height and width of `inputs[1]` (undoes `PadToMultiple`)."""

    def call(self, inputs):
        image, reference = inputs
        shape = ops.shape(reference)
        return image[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shapes):
        image_shape, reference_shape = input_shapes
        return (image_shape[0], reference_shape[1], reference_shape[2], image_shape[3])


@keras.saving.register_keras_serializable(package="nst_teach")
class AddToPhoto(layers.Layer):
    """`sigmoid(logit(photo) + change)`: the network paints a change to the photo.

    With a change of zero the output is the photo itself (clipped to [1e-3, 1 - 1e-3]),
    the start `nst.stylize` takes from the content image.
    """

    def call(self, inputs):
        change, photo = inputs
        clipped = ops.clip(photo, 1e-3, 1.0 - 1e-3)
        return ops.sigmoid(ops.log(clipped) - ops.log(1.0 - clipped) + change)

    def compute_output_shape(self, input_shapes):
        return input_shapes[1]


def conv_layer(x, filters: int, kernel_size: int, strides: int = 1, name: str = "conv",
               relu: bool = True, normalize: bool = True):
    """Reflection pad, convolution, instance norm and ReLU: the network's building block.

    Args:
        x: A Keras tensor `(batch, H, W, C)`.
        filters: Output channels.
        kernel_size: Odd side of the square kernel (padding is `kernel_size // 2`).
        strides: 2 halves height and width.
        name: Prefix of the layers' names.
        relu: Apply a ReLU at the end.
        normalize: Apply instance normalisation after the convolution.

    Returns:
        A Keras tensor `(batch, H / strides, W / strides, filters)`.
    """
    x = ReflectionPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="valid",
                      use_bias=not normalize, name=name)(x)
    if normalize:
        x = InstanceNormalization(name=f"{name}_norm")(x)
    if relu:
        x = layers.ReLU(name=f"{name}_relu")(x)
    return x


def residual_block(x, filters: int, name: str = "residual"):
    """Two 3x3 convolutions whose result is added to the input (He et al. 2016).

    The block learns a change to its input, `x + F(x)`, so a network of such
    blocks starts close to "pass the photo through" and needs to learn only
    the difference (no ReLU after the addition, as in Johnson et al.).

    Args:
        x: A Keras tensor `(batch, H, W, filters)`.
        filters: Channels of both convolutions (the input's).
        name: Prefix of the layers' names.

    Returns:
        A Keras tensor of the input's shape.
    """
    shortcut = x
    x = conv_layer(x, filters, 3, name=f"{name}_conv1")
    x = conv_layer(x, filters, 3, name=f"{name}_conv2", relu=False)
    return layers.Add(name=f"{name}_add")([shortcut, x])


def upsample_conv(x, filters: int, name: str = "up", interpolation: str = "nearest"):
    """Doubles height and width by resizing, then convolves (no checkerboard artifacts).

    Args:
        x: A Keras tensor `(batch, H, W, C)`.
        filters: Output channels.
        name: Prefix of the layers' names.
        interpolation: `"nearest"` or `"bilinear"`.

    Returns:
        A Keras tensor `(batch, 2H, 2W, filters)`.
    """
    x = layers.UpSampling2D(2, interpolation=interpolation, name=f"{name}_resize")(x)
    return conv_layer(x, filters, 3, name=name)


def build_transformer(base_filters: int = CPU_ARCHITECTURE["base_filters"],
                      num_residual_blocks: int = CPU_ARCHITECTURE["num_residual_blocks"],
                      interpolation: str = "nearest", name: str = "transformer",
                      start_from_photo: bool = False) -> keras.Model:
    """Builds the image transformation network.

    Johnson et al. use `base_filters=32, num_residual_blocks=5`
    (`PAPER_ARCHITECTURE`); the default, `CPU_ARCHITECTURE`, is narrower so
    that a few minutes of training on a CPU already gives a stylized picture.

    Args:
        base_filters: Channels after the first convolution; the two
            downsampling convolutions have 2x and 4x as many.
        num_residual_blocks: Residual blocks at a quarter of the resolution.
        interpolation: Upsampling before each upsampling convolution,
            `"nearest"` or `"bilinear"`.
        name: The model's name.
        start_from_photo: Paint a change to the photo instead of a new picture: the
            last convolution starts at zero and its output is added to the photo's
            logits (`AddToPhoto`), so the untrained network gives the photo back, as
            `nst.stylize` starts from the content image. The shipped networks do not
            (docs/training/README.md says why).

    Returns:
        A `keras.Model` mapping float32
        `(batch, H, W, 3)` in [0, 1] to float32 `(batch, H, W, 3)` in [0, 1],
        for any `H, W >= MIN_SIDE`.

    Raises:
        ValueError: For a width or depth below 1 or an unknown interpolation.
    """
    for label, value in (("base_filters", base_filters),
                         ("num_residual_blocks", num_residual_blocks)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a whole number >= 1, got {value!r} "
                             f"(Johnson et al. use {PAPER_ARCHITECTURE[label]}).")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}.")
    photo = keras.Input(shape=(None, None, 3), name="photo")
    x = PadToMultiple(DOWNSAMPLING, name="pad_to_multiple")(photo)
    x = conv_layer(x, base_filters, 9, name="down1")
    x = conv_layer(x, 2 * base_filters, 3, strides=2, name="down2")
    x = conv_layer(x, 4 * base_filters, 3, strides=2, name="down3")
    for index in range(1, num_residual_blocks + 1):
        x = residual_block(x, 4 * base_filters, name=f"residual{index}")
    x = upsample_conv(x, 2 * base_filters, name="up1", interpolation=interpolation)
    x = upsample_conv(x, base_filters, name="up2", interpolation=interpolation)
    x = ReflectionPadding2D(4, name="output_pad")(x)
    if start_from_photo:
        x = layers.Conv2D(3, 9, padding="valid", name="output_conv", kernel_initializer="zeros",
                          dtype="float32")(x)
        image = AddToPhoto(name="add_to_photo", dtype="float32")([CropLike(name="crop")(
            [x, photo]), photo])
        return keras.Model(photo, image, name=name)
    x = layers.Conv2D(3, 9, padding="valid", name="output_conv")(x)
    x = layers.Activation("sigmoid", name="output_sigmoid", dtype="float32")(x)
    image = CropLike(name="crop")([x, photo])
    return keras.Model(photo, image, name=name)


def architecture(model: keras.Model) -> dict:
    """Reads `base_filters` and `num_residual_blocks` back from a built transformer."""
    base_filters = model.get_layer("down1").filters
    blocks = sum(1 for layer in model.layers if layer.name.endswith("_add"))
    interpolation = model.get_layer("up1_resize").interpolation
    settings = {"base_filters": int(base_filters), "num_residual_blocks": int(blocks),
                "interpolation": str(interpolation)}
    if any(layer.name == "add_to_photo" for layer in model.layers):
        settings["start_from_photo"] = True
    return settings
