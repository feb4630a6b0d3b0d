"""The options of a style transfer, defined and validated once, where they are defined.

`nst.stylize(content, style, style_weight=..., ...)` keeps its keywords for
lessons and scripts; inside, they become three small frozen dataclasses, each
checking its values when it is made:

* `LossSettings`: what the objective is (layers, loss weights, pooling, the
  style statistic, precision, recomputation);
* `ControlSettings`: the controls of lessons 09 and 10 (several styles, masks, style
  scale, coarse to fine, colours);
* `RunSettings`: how it is minimized (optimizer, steps, learning rate, start,
  seed).

`split_options(**keywords)` turns `stylize`'s keywords into the three (and
refuses a keyword that is none of them), for `compute_losses` and the CLI.
The defaults that depend on the backbone weights (`default_loss_weights`) and
on the optimizer (`OPTIMIZER_DEFAULTS`) live here too.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nst_teach import controls
from nst_teach.config import PRECISIONS
from nst_teach.core.loop import SGD, Adam
from nst_teach.core.losses import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS
from nst_teach.core.vgg import BackboneWeights
from nst_teach.lbfgs import LBFGS
from nst_teach.losses import layer_weights
from nst_teach.result import OptimizerState
from nst_teach.statistics import STYLE_STATISTICS

POOLINGS = ("max", "average")
OPTIMIZERS = {"lbfgs": LBFGS, "adam": Adam, "sgd": SGD}

# Loss weights that give a clearly stylized picture, per weights source.
# ImageNet: the TensorFlow tutorial's. hed: its activations are scaled
# differently, and the tutorial's weights only blur the image.
LOSS_WEIGHTS = {
    "imagenet": {"content_weight": 1e4, "style_weight": 1e-2, "tv_weight": 30.0},
    "hed": {"content_weight": 1e4, "style_weight": 1.0, "tv_weight": 1.0},
}
# Learning rate and number of steps. Plain SGD's good rate depends on the image
# size (Gram matrices are averaged over H * W, so gradients per pixel grow as
# the image shrinks): 1e-5 suits 256 px; at 32 px it diverges (lesson 06).
OPTIMIZER_DEFAULTS = {
    "lbfgs": {"learning_rate": 1.0, "num_steps": 100},
    "adam": {"learning_rate": 0.02, "num_steps": 200},
    "sgd": {"learning_rate": 1e-5, "num_steps": 500},
}
# The fastest to the tutorial's loss in benchmarks/bench_stylize.py (figures in
# docs/benchmarks.md).
DEFAULT_OPTIMIZER = "adam"


def default_loss_weights(weights: BackboneWeights | str) -> dict[str, float]:
    """The loss weights `stylize` uses by default for these backbone weights.

    Args:
        weights: A `BackboneWeights`, or its source (`"imagenet"`, `"hed"`, ...).

    Returns:
        `{"content_weight": ..., "style_weight": ..., "tv_weight": ...}`: the
        TensorFlow tutorial's for ImageNet (and for random or file weights),
        `LOSS_WEIGHTS["hed"]` for hed.
    """
    source = weights.source if isinstance(weights, BackboneWeights) else weights
    return dict(LOSS_WEIGHTS.get(source, LOSS_WEIGHTS["imagenet"]))


def check_optimizer(name: str, learning_rate: float | Callable | None = None,
                    options: Mapping[str, Any] | None = None) -> float | Callable | None:
    """Checks an optimizer's name, learning rate and options, without building it.

    Returns:
        The learning rate Adam or SGD will use (the default when None; for
        Adam it may be a schedule, a function of the step), or None for
        L-BFGS (its line search sets the step).

    Raises:
        ValueError: For an unknown name, a rate <= 0, a schedule for another
            optimizer than Adam, or options the optimizer does not take.
    """
    if name not in OPTIMIZER_DEFAULTS:
        raise ValueError(f"Unknown optimizer {name!r}: use 'lbfgs', 'adam' or 'sgd'.")
    rate = OPTIMIZER_DEFAULTS[name]["learning_rate"] if learning_rate is None else learning_rate
    if callable(rate) and name != "adam":
        raise ValueError(f"A learning-rate schedule needs optimizer='adam'; {name} takes "
                         "a number.")
    if not callable(rate) and not rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {rate}.")
    options = dict(options or {})
    try:
        inspect.signature(OPTIMIZERS[name]).bind(
            **(options if name == "lbfgs" else {"learning_rate": rate, **options}))
    except TypeError as error:
        raise ValueError(f"optimizer_options {sorted(options)} do not fit {name} ({error}); "
                         f"see help(nst_teach.settings.OPTIMIZERS[{name!r}]).") from None
    return None if name == "lbfgs" else rate if callable(rate) else float(rate)


def make_optimizer(name: str, learning_rate: float | Callable | None = None, **options):
    """Creates `"lbfgs"`, `"adam"` or `"sgd"` (see `optimize.take_step`).

    Args:
        name: The optimizer's name.
        learning_rate: Step size (L-BFGS ignores it: its line search sets it).
        **options: Passed on, e.g. `memory=20` for L-BFGS, `beta_1` for Adam.
    """
    rate = check_optimizer(name, learning_rate, options)
    if rate is None:
        return OPTIMIZERS[name](**options)
    return OPTIMIZERS[name](learning_rate=rate, **options)


def _check_loss_weight(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0):
        raise ValueError(f"{name} must be a number >= 0 (or None for the default of the "
                         f"weights), got {value!r}.")
    return float(value)


@dataclasses.dataclass(frozen=True)
class LossSettings:
    """What the objective is (the loss options of `nst.stylize`).

    `None` loss weights mean "the default for the backbone weights"
    (`default_loss_weights`), filled in by `loss_options`.

    Attributes:
        content_layers: Layer names, or name to weight.
        style_layers: Layer names (equal weights), or name to weight.
        content_weight: Weight of the content term (default per weights).
        style_weight: Weight of the style term (default per weights).
        tv_weight: Weight of the total-variation term (default per weights).
        pooling: `"max"` (VGG's own) or `"average"` (recommended by Gatys et al. 2016 for
            smoother results).
        style_statistic: `"gram"` (Gram matrices) or `"mean_std"` (per-channel mean and
            standard deviation, AdaIN's statistics).
        recompute: Recompute activations during the backward pass instead of keeping them
            (gradient checkpointing), large blocks in strips of rows (see
            `FeatureExtractor`): the same objective with much less memory for large images,
            for some more time; figures in docs/benchmarks.md
            (benchmarks/bench_coarse_to_fine.py).
        precision: The dtype VGG's convolutions compute in: `"auto"` (bfloat16 on a CPU with
            native bfloat16 instructions, float32 elsewhere), `"float32"`, `"bfloat16"` or
            `"float16"`; Gram matrices and losses are float32 whatever it is. bfloat16 is
            faster on CPUs with native bfloat16 and moves the loss a little
            (docs/benchmarks.md). See `nst_teach.config.resolve_precision`.

    Raises:
        ValueError: On construction, for an unknown layer list shape, a
            negative or non-finite weight, an unknown pooling, statistic or
            precision.
    """

    content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS
    style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS
    content_weight: float | None = None
    style_weight: float | None = None
    tv_weight: float | None = None
    pooling: str = "max"
    style_statistic: str = "gram"
    recompute: bool = False
    precision: str = "auto"

    def __post_init__(self):
        layer_weights(self.content_layers)
        layer_weights(self.style_layers)
        for name in ("content_weight", "style_weight", "tv_weight"):
            object.__setattr__(self, name, _check_loss_weight(getattr(self, name), name))
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be 'max' or 'average', got {self.pooling!r}.")
        if self.style_statistic not in STYLE_STATISTICS:
            raise ValueError(f"style_statistic must be 'gram' or 'mean_std', "
                             f"got {self.style_statistic!r}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.precision!r}.")

    @property
    def layers(self) -> list[str]:
        """Every layer the objective reads, content layers first."""
        return list(dict.fromkeys([*self.content_layers, *self.style_layers]))

    def loss_options(self, weights: BackboneWeights) -> dict:
        """The keywords of `StyleTransferLoss`, with the default loss weights filled in."""
        defaults = default_loss_weights(weights)
        return {"content_layers": self.content_layers, "style_layers": self.style_layers,
                **{term: defaults[term] if getattr(self, term) is None else getattr(self, term)
                   for term in defaults},
                "pooling": self.pooling, "style_statistic": self.style_statistic,
                "recompute": self.recompute, "precision": self.precision}


@dataclasses.dataclass(frozen=True, eq=False)
class ControlSettings:
    """The controls of lessons 09 and 10 (options of `nst.stylize`).

    Attributes:
        style_blend_weights: With several styles, one weight >= 0 per style, normalised to
            sum to 1 (default equal). Without masks, the target statistics are the blend of
            the styles' (Johnson's neural-style); with masks, they weigh the regions' terms.
        style_masks: `None`, or one entry per style: a mask float32 `(1, H, W, 1)` in [0, 1]
            at the content's size (`(H, W)` and other sizes of the same aspect are accepted,
            see `nst_teach.controls.check_masks`) or `None` (the whole image). Each style is
            matched only where its mask is on (guided Gram matrices, Gatys et al. 2017);
            where every mask is 0, only the content and TV terms act.
        style_scale: The style's longer side relative to the output's: 1 (the default)
            resizes every style to the output's longer side, 2 to twice it (larger strokes),
            0.5 to half (smaller strokes).
        sizes: Coarse to fine: the longer side of each stage, e.g. `(256, 512, 1024)`. Each
            stage starts from the previous stage's best image, upsampled (Lanczos,
            `resize_image`); content, masks and scaled styles are rebuilt at each size, the
            weights reused. The upsampling counts as one step in the history. `None`: one
            stage at the content image's size.
        preserve_colors: `None`, `"luminance"` (optimize the luminance only, then put the
            content's colours back) or `"color_matching"` (recolour the styles to the
            content's colours first), Gatys et al. 2017. See
            `nst_teach.controls.prepare_colors`.
        color_matching_method: `"mean_covariance"` or `"histogram"`, for
            `preserve_colors="color_matching"`.

    Raises:
        ValueError: On construction, for a bad style scale, sizes or colour
            option (masks and blend weights are checked against the styles by
            `controls.prepare_inputs`).
    """

    style_blend_weights: Sequence[float] | None = None
    style_masks: Sequence[Any] | None = None
    style_scale: float = 1.0
    sizes: Sequence[int] | None = None
    preserve_colors: str | None = None
    color_matching_method: str = "mean_covariance"

    def __post_init__(self):
        object.__setattr__(self, "style_scale", controls.check_style_scale(self.style_scale))
        object.__setattr__(self, "sizes", controls.check_sizes(self.sizes))
        controls.check_color_options(self.preserve_colors, self.color_matching_method)


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """How the objective is minimized (options of `nst.stylize`).

    Attributes:
        optimizer: `"adam"` (default: fastest to a good picture), `"lbfgs"` (fewest steps to
            a very low loss, each step dearer) or `"sgd"`.
        num_steps: Optimizer steps (default per optimizer); with `sizes`, per stage: one
            number for every stage or a list with one per stage.
        learning_rate: Step size for Adam and SGD (default per optimizer); for Adam
            also a schedule, a function of the step (0-based) such as
            `keras.optimizers.schedules.CosineDecay(0.05, 200, alpha=0.2)`.
        optimizer_options: Extra options for the optimizer (e.g. `memory`).
        init: `"content"`, `"style"`, `"noise"` (seeded) or an image to start from (to
            continue an earlier run; with `sizes`, resized to the first stage).
        seed: Seed for the noise init and for random weights.
        resume: An earlier run's `result.optimizer_state`: start from its last image
            with its optimizer as it was (Adam's moments and step count, L-BFGS's
            memory), as if that run had gone on. Same optimizer, one size (no
            `sizes`), `init` left at its default; a `learning_rate` given here
            replaces the state's.
        resolved_learning_rate: Set when made: the rate Adam or SGD uses (the
            default when `learning_rate` is None); None for L-BFGS.

    Raises:
        ValueError: On construction, for an unknown optimizer, a learning
            rate <= 0, options the optimizer does not take, a bad init, or a
            `resume` that does not fit.
    """

    optimizer: str = DEFAULT_OPTIMIZER
    num_steps: int | Sequence[int] | None = None
    learning_rate: float | Callable | None = None
    optimizer_options: Mapping[str, Any] | None = None
    init: Any = "content"
    seed: int = 0
    resume: OptimizerState | None = None

    resolved_learning_rate: float | Callable | None = dataclasses.field(init=False, default=None)

    def __post_init__(self):
        object.__setattr__(self, "resolved_learning_rate", check_optimizer(
            self.optimizer, self.learning_rate, self.optimizer_options))
        if self.num_steps is None:
            object.__setattr__(self, "num_steps", OPTIMIZER_DEFAULTS[self.optimizer]["num_steps"])
        if isinstance(self.init, str) and self.init not in ("content", "style", "noise"):
            raise ValueError(f"Unknown init {self.init!r}: use 'content', 'style', 'noise' "
                             "or an image.")
        if self.resume is not None:
            self._check_resume()

    def _check_resume(self) -> None:
        state = self.resume
        if not isinstance(state, OptimizerState):
            raise ValueError(f"resume must be an earlier result's optimizer_state, got "
                             f"{type(state).__name__}.")
        if state.optimizer != self.optimizer:
            raise ValueError(f"resume holds the state of {state.optimizer!r}, but optimizer is "
                             f"{self.optimizer!r}: continue with optimizer={state.optimizer!r}, "
                             "or start afresh with init=result.image.")
        if self.optimizer_options:
            raise ValueError("optimizer_options cannot change when resuming: the optimizer "
                             "keeps its own; start afresh with init=result.image instead.")
        if not (isinstance(self.init, str) and self.init == "content"):
            raise ValueError("Give init or resume, not both: resume starts from the state's "
                             "last image.")
        if self.resolved_learning_rate is not None and self.learning_rate is None:
            object.__setattr__(self, "resolved_learning_rate", state.solver.learning_rate)

    def new_optimizer(self):
        """A fresh optimizer (each coarse-to-fine stage starts with one), or the resumed one."""
        if self.resume is not None:
            if self.learning_rate is not None:
                self.resume.solver.learning_rate = self.resolved_learning_rate
            return self.resume.solver
        return make_optimizer(self.optimizer, self.learning_rate,
                              **dict(self.optimizer_options or {}))


SETTINGS_CLASSES = (LossSettings, ControlSettings, RunSettings)


def split_options(**options: Any) -> tuple[LossSettings, ControlSettings, RunSettings]:
    """Sorts `stylize`'s option keywords into the three settings (validating them).

    Raises:
        ValueError: For a keyword that is no option, with the closest name.
    """
    fields = {cls: {field.name for field in dataclasses.fields(cls) if field.init}
              for cls in SETTINGS_CLASSES}
    known = set().union(*fields.values())
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Unknown option {name!r}.{hint}")
    return tuple(cls(**{name: value for name, value in options.items() if name in fields[cls]})
                 for cls in SETTINGS_CLASSES)
