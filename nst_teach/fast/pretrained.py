"""The feed-forward networks nst_teach ships, one per style, trained on the offline photos.

`benchmarks/train_shipped.py` trained them here (``train-fast`` on the training
split of the offline photos; command and log in ``docs/training/``), and
`benchmarks/bench_pretrained.py` scores them on the held-out photos against
`nst.stylize`. A network is shipped only for a style whose image it was trained
on: a painting that could not be downloaded where they were trained has none.

Each network is two files: ``<style>.weights.h5`` (the weights only) and
``<style>.json`` (its ``architecture`` and how it was trained). Weights load in
any Keras 3 version, where a whole-model ``.keras`` file saved by a newer Keras
may not (Colab's Keras is often older than the one that trained them).
"""

from __future__ import annotations

import json
import pathlib

import keras

from nst_teach.transformer import build_transformer

NETWORKS = pathlib.Path(__file__).resolve().parent.parent / "data" / "networks"
WEIGHTS_SUFFIX = ".weights.h5"


def pretrained_styles() -> list[str]:
    """Names of the styles with a shipped network, such as ``["mosaic", "starry_night", ...]``."""
    return sorted(path.name.removesuffix(WEIGHTS_SUFFIX) for path in NETWORKS.glob("*" + WEIGHTS_SUFFIX))


def pretrained_path(style: str) -> pathlib.Path:
    """The shipped network's weights file; ValueError naming the shipped styles otherwise."""
    if style not in pretrained_styles():
        raise ValueError(f"No shipped network for {style!r}; nst_teach ships "
                         f"{pretrained_styles()}. Train one with nst.fast.train({style!r}) or "
                         "stylize with any style in one pass with nst.adain.stylize.")
    return NETWORKS / f"{style}{WEIGHTS_SUFFIX}"


def pretrained_info(style: str) -> dict:
    """The shipped network's ``architecture`` and training: ``command``, ``steps``, ``seconds``."""
    pretrained_path(style)
    return json.loads((NETWORKS / f"{style}.json").read_text())


def pretrained(style: str) -> keras.Model:
    """Builds the shipped network for `style` and loads its weights.

    Apply it with `nst.fast.apply_network`: float32 `(1, H, W, 3)` in [0, 1] in and out.
    """
    model = build_transformer(**pretrained_info(style)["architecture"])
    model.load_weights(pretrained_path(style))
    return model


def pretrained_for_sample(sample: str) -> tuple[keras.Model, str]:
    """The shipped network for the picture `nst.sample_image(sample)` gives here.

    A painting that cannot be downloaded falls back to a generated style
    (`samples.sample_image`); the network returned is then the fallback's, so that
    network and style image always match.

    Returns:
        The network and the name of the style it was trained on.
    """
    from nst_teach import samples

    info = samples.sample_info(sample)
    name = info.name if samples.is_available_offline(info) or info.fallback is None \
        else info.fallback
    return pretrained(name), name
