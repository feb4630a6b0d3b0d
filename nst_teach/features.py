"""VGG feature extraction for `stylize`: layer facts and a faster extractor.

`nst_teach.core.vgg` writes the network out (`apply_layer`, `vgg_features`).
This module is the layer on top: facts about layers (channels, receptive
fields, masks brought to a layer's size), and the `FeatureExtractor`, which runs the same `apply_layer` with options the core
leaves out: another compute precision, recomputation in strips to save memory,
and transforms that reduce a layer as soon as it is computed.

The weights are loaded by `nst_teach.backbone_weights.load_weights`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Callable, Mapping, Sequence

import tensorflow as tf

from nst_teach.config import resolve_precision
from nst_teach.core.images import preprocess_for_vgg
from nst_teach.core.vgg import ARCHITECTURES, BackboneWeights, apply_layer, layer_names

# With recompute=True, blocks whose input has more rows than this are
# computed in strips of this many rows (see FeatureExtractor).
STRIP_ROWS = 64


def layer_channels(backbone: str, layer: str) -> int:
    """Returns the number of channels (feature maps) a layer outputs."""
    check_layer_names(backbone, [layer])
    block = int(layer[5]) - 1
    if layer.endswith("_pool"):
        return ARCHITECTURES[backbone][block][-1]
    return ARCHITECTURES[backbone][block][int(layer.split("conv")[1]) - 1]


def receptive_field(backbone: str, layer: str) -> tuple[int, int]:
    """Computes how much of the input one activation of a layer sees.

    Each 3x3 convolution widens the field by 2 "jumps"; each 2x2 pooling by 1
    jump and doubles the jump (the distance, in input pixels, between two
    neighbouring activations).

    Args:
        backbone: `"vgg16"` or `"vgg19"`.
        layer: A layer name, e.g. `"block3_conv1"`.

    Returns:
        `(size, stride)`: the field's side in input pixels and the jump.
    """
    check_layer_names(backbone, [layer])
    size, jump = 1, 1
    for name in layer_names(backbone):
        if name.endswith("_pool"):
            size, jump = size + jump, jump * 2
        else:
            size += 2 * jump
        if name == layer:
            return size, jump
    raise AssertionError("unreachable")  # check_layer_names guarantees a match


def receptive_field_box(backbone: str, layer: str, position: tuple[int, int],
                        image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The input pixels one activation of `layer` sees: a box on the image.

    VGG's 3x3 convolutions use "same" padding, so they keep an activation's
    centre; each 2x2 pooling puts output `i` at the middle of inputs `2i` and
    `2i + 1`. Activation `(row, column)` is therefore centred on input pixel
    `row * jump + (jump - 1) / 2` (likewise for columns), and the field of
    `receptive_field` extends `(size - 1) / 2` pixels either side of it.

    Args:
        backbone: `"vgg16"` or `"vgg19"`.
        layer: A layer name, e.g. `"block3_conv1"`.
        position: `(row, column)` of the activation in the layer's `(H_l, W_l)` grid.
        image_size: `(H, W)` of the input image.

    Returns:
        `(top, left, bottom, right)`: the first and last rows and columns of the
        field in input pixels, inclusive, clipped to the image (near a border
        part of the field is padding).

    Raises:
        ValueError: For an unknown layer, or a position outside the layer's grid.
    """
    size, jump = receptive_field(backbone, layer)
    height, width = int(image_size[0]), int(image_size[1])
    grid = (height // jump, width // jump)  # each "valid" 2x2 pooling floors the size
    row, column = position
    if not (0 <= row < grid[0] and 0 <= column < grid[1]):
        raise ValueError(f"Position {tuple(position)} is outside {layer}'s {grid[0]} x {grid[1]} "
                         f"grid of activations (for a {height} x {width} image).")
    half = (size - 1) / 2
    centre = (row * jump + (jump - 1) / 2, column * jump + (jump - 1) / 2)
    top, left = (max(0, math.ceil(value - half)) for value in centre)
    bottom = min(height - 1, math.floor(centre[0] + half))
    right = min(width - 1, math.floor(centre[1] + half))
    return top, left, bottom, right


def check_layer_names(backbone: str, names: Sequence[str]) -> list[str]:
    """Validates layer names, suggesting the closest valid name on a typo.

    Raises:
        ValueError: If a name is not a layer of the backbone; the message lists
            the valid names.
    """
    valid = layer_names(backbone)
    if isinstance(names, str):
        raise ValueError(f"Layer names must be a list such as [{names!r}], not a string.")
    for name in names:
        if name not in valid:
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Unknown layer {name!r} for {backbone}.{hint} "
                             f"Valid names: {', '.join(valid)}.")
    return list(names)


@dataclasses.dataclass(frozen=True)
class Reduction:
    """A transform that can be computed strip by strip (see `FeatureExtractor`).

    The result for a layer is `finish(sum over strips of partial(rows, index))`,
    where `partial(features, rows)` gets the activations of some rows and the
    `slice` of the layer's rows they are, and returns a nest of tensors that
    add up over strips (sums over positions, e.g. of F F^T for a Gram matrix).
    """

    partial: Callable[[tf.Tensor, slice], Any]
    finish: Callable[[Any], Any]

    def __call__(self, features: tf.Tensor) -> Any:
        return self.finish(self.partial(features, slice(None)))


class FeatureExtractor:
    """Returns named VGG activations of an image.

    The network is built only up to the deepest requested layer. VGG
    preprocessing happens here and nowhere else: callers pass RGB in [0, 1].

    Example:
        >>> backbone_weights = load_weights("vgg16", weights=None)
        >>> extractor = FeatureExtractor(backbone_weights, ["block1_conv1", "block3_conv1"])
        >>> {k: v.shape for k, v in extractor(image).items()}

    Args:
        backbone_weights: The network's `BackboneWeights` (`nst.load_weights`).
        layers: Layer names whose activations to return.
        pooling: `"max"` (as VGG was trained) or `"average"` (Gatys et al.
            found it gives slightly smoother results).
        recompute: Save memory by recomputing activations during the backward
            pass (gradient checkpointing): wrap each VGG block in
            `tf.recompute_grad`, so that a gradient through the network keeps
            only the blocks' outputs and the requested activations and computes
            the rest again during the backward pass. Same values and gradients,
            less memory for large images, about one more forward pass of time.
            A block whose input has more than `strip_rows` rows is then also
            cut into horizontal strips (with a margin of one row per
            convolution, so every kept row is exact), each recomputed alone:
            with `Reduction` transforms, a full-resolution block1 activation
            never exists as a whole.
        strip_rows: See `recompute`; default `STRIP_ROWS`.
        precision: The dtype the convolutions compute in: `"float32"`
            (exact), `"bfloat16"` (faster on CPUs with native bfloat16, see
            docs/benchmarks.md) or `"float16"` (GPUs).
            Whatever it is, the activations returned (and so Gram matrices and
            losses) are float32. `"auto"` is resolved by
            `nst_teach.config.resolve_precision`.
    """

    def __init__(self, backbone_weights: BackboneWeights, layers: Sequence[str],
                 pooling: str = "max",
                 recompute: bool = False, strip_rows: int | None = None,
                 precision: str = "float32"):
        if pooling not in ("max", "average"):
            raise ValueError(f"pooling must be 'max' or 'average', got {pooling!r}.")
        precision = resolve_precision(precision)  # ValueError for an unknown name
        self.precision = precision
        self.recompute = bool(recompute)
        self.strip_rows = int(STRIP_ROWS if strip_rows is None else strip_rows)
        self.backbone = backbone_weights.backbone
        self.layers = check_layer_names(backbone_weights.backbone, layers)
        if not self.layers:
            raise ValueError("FeatureExtractor needs at least one layer name.")
        self.pooling = pooling
        self.source = backbone_weights.source
        all_names = layer_names(backbone_weights.backbone)
        deepest = max(all_names.index(name) for name in self.layers)
        self.network = all_names[: deepest + 1]  # the layers actually computed
        missing = [name for name in self.network
                   if "conv" in name and name not in backbone_weights.convolutions]
        if missing:
            raise ValueError(f"The weights ({backbone_weights.source}) do not hold {missing[0]}; "
                             f"load them with up_to={self.network[-1]!r} or deeper.")
        self.kernels = {name: (tf.constant(kernel, precision), tf.constant(bias, precision))
                        for name, (kernel, bias) in backbone_weights.convolutions.items()
                        if name in self.network}

    def __call__(self, image: tf.Tensor,
                 transforms: Mapping[str, Callable] | None = None) -> dict[str, Any]:
        """Runs the network.

        Args:
            image: float32 `(batch, H, W, 3)`, RGB in [0, 1].
            transforms: Optional layer name to a function applied to that
                layer's activations as soon as they are computed (e.g. a Gram
                matrix, or a whole loss term); the output then holds its result
                (a tensor or a tuple of tensors) instead of the activations.
                The large activations are then not kept after their block, and
                with `recompute` not even for the gradient (with a `Reduction`,
                a stripped block's layer never exists as a whole).

        Returns:
            Layer name to float32 activations `(batch, H_l, W_l, C_l)`, or to
            the transform's result.
        """
        x = tf.cast(preprocess_for_vgg(image), self.precision)
        outputs = {}
        transforms = transforms or {}
        for block in self._blocks():
            if self.recompute and (x.shape[1] or 0) > self.strip_rows:
                x, requested = self._run_block_in_strips(block, x, transforms)
                outputs.update(requested)
                continue
            structure = []  # the nesting of the block's outputs, filled when it runs

            def run_block(x, block=block, structure=structure):
                requested = self._run_block(block, x, transforms)
                structure[:] = [requested]
                return tf.nest.flatten(requested)

            if self.recompute:
                run_block = tf.recompute_grad(run_block)
            flat = run_block(x)
            x, requested = tf.nest.pack_sequence_as(structure[0], flat)
            outputs.update(requested)
        return outputs

    def _blocks(self) -> list[list[str]]:
        """The computed layers, grouped by block (`block3_conv1` ... `block3_pool`)."""
        blocks = {}
        for name in self.network:
            blocks.setdefault(name.split("_")[0], []).append(name)
        return list(blocks.values())

    def _run_block(self, names: list[str], x: tf.Tensor,
                   transforms: Mapping[str, Callable]) -> tuple[tf.Tensor, dict]:
        """Runs some consecutive layers; returns the last output and the requested ones."""
        requested = {}
        for name in names:
            x = self._layer(name, x)
            if name in self.layers:
                features = tf.cast(x, tf.float32)
                requested[name] = transforms[name](features) if name in transforms else features
        return x, requested

    def _layer(self, name: str, x: tf.Tensor) -> tf.Tensor:
        return apply_layer(name, x, self.kernels, self.pooling)

    def _run_block_in_strips(self, names: list[str], x: tf.Tensor,
                             transforms: Mapping[str, Callable]) -> tuple[tf.Tensor, dict]:
        """Runs a block strip by strip (each under `tf.recompute_grad`) and joins the results.

        A strip of rows [start, end) (start even, for the 2x2 pooling) is computed
        from the rows [start - m, end + m), m = the block's convolutions: each
        convolution spoils one row at a cut edge, so the kept rows are exact, and at
        the image's edges "SAME" zero padding is the image's own.
        """
        height = x.shape[1]
        margin = sum("_conv" in name for name in names)
        step = 2 * math.ceil(self.strip_rows / 2)
        pieces, parts = [], {}
        for start in range(0, height, step):
            end = min(start + step, height)
            low, high = max(0, start - margin), min(height, end + margin)
            structure = []

            def run_strip(piece, start=start, end=end, low=low, structure=structure):
                outputs = self._run_strip(names, piece, start, end, low, transforms)
                structure[:] = [outputs]
                return tf.nest.flatten(outputs)

            flat = tf.recompute_grad(run_strip)(x[:, low:high])
            piece, requested = tf.nest.pack_sequence_as(structure[0], flat)
            pieces.append(piece)
            for name, value in requested.items():
                parts.setdefault(name, []).append(value)
        requested = {}
        for name, values in parts.items():
            transform = transforms.get(name)
            if isinstance(transform, Reduction):
                total = tf.nest.map_structure(lambda *strips: tf.add_n(strips), *values)
                requested[name] = transform.finish(total)
            else:
                joined = tf.concat(values, axis=1)
                requested[name] = joined if transform is None else transform(joined)
        return tf.concat(pieces, axis=1), requested

    def _run_strip(self, names: list[str], x: tf.Tensor, start: int, end: int, low: int,
                   transforms: Mapping[str, Callable]) -> tuple[tf.Tensor, dict]:
        """One strip of a block: `x` holds the input's rows from `low`; keeps [start, end)."""
        requested = {}
        for name in names:
            if name.endswith("_pool"):  # crop the margins first: the strip's rows only
                x = self._layer(name, x[:, start - low:end - low])
                start, end, low = start // 2, start // 2 + x.shape[1], start // 2
            else:
                x = self._layer(name, x)
            if name in self.layers:
                kept = tf.cast(x[:, start - low:end - low], tf.float32)
                transform = transforms.get(name)
                requested[name] = (transform.partial(kept, slice(start, end))
                                   if isinstance(transform, Reduction) else kept)
        return x[:, start - low:end - low], requested

    def __repr__(self) -> str:
        return (f"FeatureExtractor({self.backbone}, weights={self.source!r}, "
                f"layers={self.layers}, pooling={self.pooling!r}, "
                f"precision={self.precision!r})")


def minimum_image_side(backbone: str, layers: Sequence[str]) -> int:
    """The smallest height or width an image needs so every layer has >= 1 activation.

    Each 2x2 "valid" pooling before the deepest layer halves the size
    (rounding down), so `2 ** poolings` pixels are needed: 16 for block5_conv1.
    """
    check_layer_names(backbone, layers)
    names = layer_names(backbone)
    deepest = max(names.index(name) for name in layers)
    return 2 ** sum(name.endswith("_pool") for name in names[: deepest + 1])


def layer_masks(mask: tf.Tensor, backbone: str, layers: Sequence[str]) -> dict[str, tf.Tensor]:
    """Brings a mask drawn on the image to the resolution of each layer.

    The mask goes through the same 2x2, stride-2, "valid" poolings as the image
    (average pooling whatever the network's pooling), so it has exactly the
    layer's height and width, and each value is the fraction of the layer
    cell's pixels that the mask covers (a hard edge becomes a soft one, 0 and 1
    far from it). Convolutions keep the size and do not change the mask.
    Gatys et al. (2017) compare this simple propagation with eroded masks.

    Args:
        mask: float32 `(1, H, W, 1)` in [0, 1], the image's height and width.
        backbone: `"vgg16"` or `"vgg19"`.
        layers: Layer names.

    Returns:
        Layer name to float32 `(1, H_l, W_l, 1)` in [0, 1].
    """
    check_layer_names(backbone, layers)
    mask = tf.cast(tf.convert_to_tensor(mask), tf.float32)
    masks = {}
    for name in layer_names(backbone):
        if name.endswith("_pool"):
            mask = tf.nn.avg_pool2d(mask, ksize=2, strides=2, padding="VALID")
        if name in layers:
            masks[name] = mask
        if len(masks) == len(set(layers)):
            break
    return masks
