"""Presets: named trade-offs between speed and quality, and the one-knob strength.

A preset fixes what decides how long a style transfer takes and how it looks:
the image size, the optimizer, the number of steps and the stylization
strength. Lesson 08 and the Studio's Preset menu use them:

=============  ==========  =========  =====  ==================================
name           image size  optimizer  steps  meant for
=============  ==========  =========  =====  ==================================
``preview``    128 px      adam       40     a first look: seconds on a CPU
``classroom``  256 px      adam       100    a class on laptops or Binder
``quality``    512 px      lbfgs      300    a result to keep: a GPU, or patience
=============  ==========  =========  =====  ==================================

Measured on 2 CPU cores with the hed weights (lesson 07): a step costs about
0.06 s at 128 px, 0.23 s at 256 px and about four times that at 512 px.
A preset is machine-independent; `nst_teach.profiles` picks defaults for the
machine instead.

The strength is the Studio's knob: it multiplies the default style weight of
the backbone weights (`nst.default_loss_weights`) and leaves the content and
total-variation weights alone, so `strength=1` is `stylize`'s default,
`strength=10` ten times more style. Only the ratio of the style weight to the
content weight decides the result (up to the optimizer's step sizes), so one
knob is enough.
"""

from __future__ import annotations

import dataclasses
import math

from nst_teach.features import BackboneWeights
from nst_teach.settings import default_loss_weights


@dataclasses.dataclass(frozen=True)
class Preset:
    """One named set of settings.

    Attributes:
        name: ``"preview"``, ``"classroom"`` or ``"quality"``.
        description: One sentence: what it is for and how long it takes.
        image_size: Longer side of the images, in pixels.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.
        num_steps: Optimizer steps.
        strength: Multiplies the default style weight (see `strength_to_weights`).
    """

    name: str
    description: str
    image_size: int
    optimizer: str
    num_steps: int
    strength: float = 1.0

    def stylize_options(self, weights: BackboneWeights | str) -> dict:
        """The keyword arguments of `nst.stylize` for this preset.

        The image size is not among them: resize the images first, e.g.
        `nst.sample_image(name, max_size=preset.image_size)`.

        Args:
            weights: The backbone weights (or their source, e.g. ``"hed"``):
                the loss weights depend on them.

        Returns:
            `optimizer`, `num_steps`, `content_weight`, `style_weight`, `tv_weight`.
        """
        return {"optimizer": self.optimizer, "num_steps": self.num_steps,
                **strength_to_weights(self.strength, weights)}


PRESETS = (
    Preset("preview", "128 px, 40 Adam steps: a first look in a few seconds on a CPU.",
           image_size=128, optimizer="adam", num_steps=40),
    Preset("classroom", "256 px, 100 Adam steps: about 15 to 30 s on a laptop CPU or Binder.",
           image_size=256, optimizer="adam", num_steps=100),
    Preset("quality", "512 px, 300 L-BFGS steps: about a minute on a GPU, several on a CPU.",
           image_size=512, optimizer="lbfgs", num_steps=300),
)


def list_presets() -> list[Preset]:
    """Returns every preset, fastest first."""
    return list(PRESETS)


def names() -> list[str]:
    """Returns the presets' names, fastest first."""
    return [preset.name for preset in PRESETS]


def get(name: str) -> Preset:
    """Returns the preset called `name`.

    Raises:
        ValueError: If there is no such preset (the message lists them).
    """
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise ValueError(f"Unknown preset {name!r}: use one of {', '.join(names())} "
                     "(nst.presets.names() lists them).")


def _check_strength(strength: float) -> float:
    try:
        value = float(strength)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"strength must be a finite number > 0, got {strength!r}; 1 gives "
                         "stylize's default style weight, 10 ten times more style.")
    return value


def strength_to_weights(strength: float, weights: BackboneWeights | str) -> dict[str, float]:
    """Turns the one-knob stylization strength into the three loss weights.

    `style_weight = strength * default style weight`; the content and
    total-variation weights keep their defaults (`nst.default_loss_weights`).

    Args:
        strength: A finite number > 0; 1 is `stylize`'s default.
        weights: A `BackboneWeights` or its source (``"imagenet"``, ``"hed"``...).

    Returns:
        `{"content_weight": ..., "style_weight": ..., "tv_weight": ...}` (floats).

    Raises:
        ValueError: If `strength` is not a finite number > 0.
    """
    loss_weights = default_loss_weights(weights)
    loss_weights["style_weight"] = _check_strength(strength) * loss_weights["style_weight"]
    return {name: float(value) for name, value in loss_weights.items()}


def weights_to_strength(style_weight: float, weights: BackboneWeights | str) -> float:
    """The inverse of `strength_to_weights`: the strength of a style weight.

    Args:
        style_weight: A finite number > 0.
        weights: A `BackboneWeights` or its source.

    Raises:
        ValueError: If `style_weight` is not a finite number > 0.
    """
    try:
        value = float(style_weight)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"style_weight must be a finite number > 0, got {style_weight!r}.")
    return value / default_loss_weights(weights)["style_weight"]

