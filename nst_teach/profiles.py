"""Profiles: sensible defaults for where nst_teach runs (Binder, Colab, a laptop, CI).

The same lesson runs on Binder (2 CPU cores at most, stopped at 2 GB of memory),
on Colab (with or without a GPU), on a laptop, and in CI. A profile holds the
defaults that depend on the place: the image size, the number of steps, how
often the Studio redraws its preview. `current_profile()` detects the place
once, announces its choice in one line on stderr, and returns the `Profile`:

=============  =======================================  ==========  =============
name           chosen when                              image size  memory budget
=============  =======================================  ==========  =============
``fast``       ``NST_TEACH_FAST=1`` (CI, quick checks)  64 px       2 GB
``binder``     a ``BINDER_*`` variable is set           256 px      2 GB
``colab-gpu``  on Colab, TensorFlow sees a GPU          512 px      none
``colab``      on Colab without a GPU                   256 px      12 GB
``local-gpu``  elsewhere, TensorFlow sees a GPU         512 px      none
``local``      elsewhere                                256 px      2 GB
=============  =======================================  ==========  =============

Binder's profile is the lean one: VGG16 (13 convolutions instead of VGG19's
16), 100 Adam steps instead of 200, and a preview every 2 s. (nst_teach also
returns freed memory to the system at once everywhere, see
`nst_teach.config.return_freed_memory`.) The memory budget is what
`nst_teach.estimate.warn_if_too_large` compares the estimated peak with; the
laptop gets Binder's, so that what runs in class also runs on Binder.

Choose another profile with `use_profile("binder")` (keyword arguments change
single values: ``use_profile("local", image_size=384)``) or the environment
variable ``NST_TEACH_PROFILE=binder``. `use_profile` wins over the variable,
which wins over the detection.

Binder is recognised by the variables BinderHub sets in every session it
launches (``BINDER_REPO_URL``, ``BINDER_REF_URL``, ``BINDER_LAUNCH_HOST``,
``BINDER_REQUEST``, ``BINDER_PERSISTENT_REQUEST``, and Kubernetes'
``BINDER_SERVICE_HOST``); Colab by its ``google.colab`` module or its
``COLAB_RELEASE_TAG`` / ``COLAB_GPU`` variables.

This module keeps one piece of state for the whole process, on purpose: the
profile chosen with `use_profile` and the last profile announced (so that the
announcement is printed once, not in every lesson cell).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from typing import Any

from nst_teach import config

PROFILE_VARIABLE = "NST_TEACH_PROFILE"
BINDER_VARIABLES = ("BINDER_REPO_URL", "BINDER_REF_URL", "BINDER_LAUNCH_HOST", "BINDER_REQUEST",
                    "BINDER_PERSISTENT_REQUEST", "BINDER_SERVICE_HOST")
COLAB_VARIABLES = ("COLAB_RELEASE_TAG", "COLAB_GPU")
BINDER_MEMORY_MB = 2048  # mybinder.org stops a session above 2 GB
COLAB_MEMORY_MB = 12 * 1024  # Colab's free runtimes have about 12.7 GB
OPTIMIZERS = ("lbfgs", "adam", "sgd")
BACKBONES = ("vgg16", "vgg19")


@dataclasses.dataclass(frozen=True)
class Profile:
    """Defaults for one place where nst_teach runs.

    Attributes:
        name: ``"fast"``, ``"binder"``, ``"colab-gpu"``, ``"colab"``,
            ``"local-gpu"`` or ``"local"``.
        description: One sentence on the place and the choices.
        image_size: Default longer side of the images, in pixels (lessons'
            ``SIZE``, the CLI's ``--size``, the Studio's first size).
        max_image_size: The largest longer side that runs comfortably here.
        optimizer: Default optimizer (``"lbfgs"``, ``"adam"`` or ``"sgd"``).
        num_steps: Steps for `optimizer`; None means `nst.stylize`'s default
            (see `steps_for` for the other optimizers).
        backbone: ``"vgg16"``, ``"vgg19"``, or None for what the weights imply.
        preview_seconds: Shortest time between two previews in the Studio.
        memory_budget_mb: Peak memory (MB = 2**20 bytes) above which
            `nst_teach.estimate.warn_if_too_large` warns; None never warns.
        reason: Why this profile was chosen (detection, variable or call).
    """

    name: str
    description: str
    image_size: int
    max_image_size: int
    optimizer: str = "adam"  # nst_teach.settings.DEFAULT_OPTIMIZER
    num_steps: int | None = None
    backbone: str | None = None
    preview_seconds: float = 0.5
    memory_budget_mb: float | None = BINDER_MEMORY_MB
    reason: str = ""

    def steps_for(self, optimizer: str) -> int | None:
        """The number of steps for `optimizer`, scaled like the profile's own.

        Args:
            optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.

        Returns:
            None when the profile keeps `nst.stylize`'s defaults; else
            ``num_steps`` for the profile's optimizer, and for another one its
            default steps times the same fraction (Binder's 100 of Adam's 200
            become 50 of L-BFGS' 100).
        """
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {optimizer!r}: use one of {OPTIMIZERS}.")
        if self.num_steps is None or optimizer == self.optimizer:
            return self.num_steps
        from nst_teach.settings import OPTIMIZER_DEFAULTS

        fraction = self.num_steps / OPTIMIZER_DEFAULTS[self.optimizer]["num_steps"]
        return max(1, round(fraction * OPTIMIZER_DEFAULTS[optimizer]["num_steps"]))

    def summary(self) -> str:
        """One line: the name, the reason and the main values."""
        steps = "default steps" if self.num_steps is None else f"{self.num_steps} steps"
        budget = ("no memory budget" if self.memory_budget_mb is None
                  else f"memory budget {self.memory_budget_mb / 1024:g} GB")
        return (f"profile '{self.name}' ({self.reason}): {self.image_size} px images "
                f"(up to {self.max_image_size}), {self.optimizer} with {steps}, "
                f"backbone {self.backbone or 'from the weights'}, {budget}")


PROFILES: dict[str, Profile] = {profile.name: profile for profile in (
    Profile("fast", "Fast mode (NST_TEACH_FAST=1): tiny images and few steps, for CI and "
            "quick checks.", image_size=64, max_image_size=128, num_steps=10,
            preview_seconds=0.2),
    Profile("binder", "mybinder.org: 2 CPU cores at most and 2 GB of memory; lean settings "
            "(VGG16, half the Adam steps, fewer previews).", image_size=256,
            max_image_size=384, num_steps=100, backbone="vgg16", preview_seconds=2.0),
    Profile("colab-gpu", "Google Colab with a GPU: larger images.", image_size=512,
            max_image_size=1024, memory_budget_mb=None),
    Profile("colab", "Google Colab without a GPU (Runtime > Change runtime type adds one).",
            image_size=256, max_image_size=512, memory_budget_mb=COLAB_MEMORY_MB),
    Profile("local-gpu", "Your own machine, with a GPU.", image_size=512, max_image_size=1024,
            memory_budget_mb=None),
    Profile("local", "Your own machine on its CPU; the memory budget is Binder's, so that "
            "what runs here runs there too.", image_size=256, max_image_size=512),
)}

_STATE: dict[str, Any] = {"chosen": None, "announced": None}  # see the module docstring


def is_binder(environ: Mapping[str, str] | None = None) -> bool:
    """Tells whether this process runs in a BinderHub session (such as mybinder.org)."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name) for name in BINDER_VARIABLES)


def is_colab(environ: Mapping[str, str] | None = None,
             modules: Mapping[str, Any] | None = None) -> bool:
    """Tells whether this process runs on Google Colab."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    return "google.colab" in modules or any(name in environ for name in COLAB_VARIABLES)


def has_gpu() -> bool:
    """Tells whether TensorFlow sees a GPU (imports TensorFlow)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def detect_profile_name(environ: Mapping[str, str] | None = None,
                        modules: Mapping[str, Any] | None = None,
                        gpu: bool | None = None) -> tuple[str, str]:
    """Finds which profile suits this place, ignoring ``NST_TEACH_PROFILE``.

    Args:
        environ: The environment variables (default: `os.environ`).
        modules: The imported modules (default: `sys.modules`).
        gpu: Whether a GPU is there; None asks TensorFlow (only when it matters).

    Returns:
        ``(name, reason)``, e.g. ``("binder", "detected: BINDER_REPO_URL is set")``.
        Fast mode comes first, then Colab, Binder, and the local machine.
    """
    environ = os.environ if environ is None else environ
    if environ.get(config.FAST_MODE_VARIABLE, "").strip().lower() in config.TRUTHY_VALUES:
        return "fast", f"{config.FAST_MODE_VARIABLE} is on"
    if is_colab(environ, modules):
        gpu = has_gpu() if gpu is None else gpu
        return ("colab-gpu", "detected: Colab with a GPU") if gpu else (
            "colab", "detected: Colab, no GPU")
    if is_binder(environ):
        found = next(name for name in BINDER_VARIABLES if environ.get(name))
        return "binder", f"detected: {found} is set"
    gpu = has_gpu() if gpu is None else gpu
    return ("local-gpu", "detected: a GPU, not Binder or Colab") if gpu else (
        "local", "detected: not Binder or Colab, no GPU")


def make_profile(name: str, reason: str = "", **overrides: Any) -> Profile:
    """Returns the named profile with some values changed.

    Args:
        name: One of `PROFILES`' names.
        reason: Stored in the profile's ``reason``.
        **overrides: New values of `Profile` fields, such as ``image_size=384``.

    Returns:
        A new `Profile`; the registered ones are left unchanged.

    Raises:
        ValueError: For an unknown name, an unknown field or a bad value; the
            message lists what is allowed.
    """
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}: use one of {', '.join(PROFILES)} "
                         f"(for example nst.use_profile('binder') or {PROFILE_VARIABLE}=binder).")
    fields = [field.name for field in dataclasses.fields(Profile) if field.name != "name"]
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ValueError(f"Profiles have no setting {', '.join(unknown)}: change one of "
                         f"{', '.join(fields)}.")
    profile = dataclasses.replace(PROFILES[name], reason=reason, **overrides)
    _check_profile(profile)
    return profile


def _check_profile(profile: Profile) -> None:
    for field in ("image_size", "max_image_size"):
        value = getattr(profile, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 16:
            raise ValueError(f"{field} must be a whole number of pixels >= 16, such as 256, "
                             f"got {value!r}.")
    if profile.max_image_size < profile.image_size:
        raise ValueError(f"max_image_size ({profile.max_image_size}) is smaller than image_size "
                         f"({profile.image_size}): raise max_image_size too.")
    if profile.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {profile.optimizer!r}.")
    if profile.num_steps is not None and (isinstance(profile.num_steps, bool) or not isinstance(
            profile.num_steps, int) or profile.num_steps < 0):
        raise ValueError(f"num_steps must be a whole number >= 0 or None (the optimizer's "
                         f"default), got {profile.num_steps!r}.")
    if profile.backbone not in (None, *BACKBONES):
        raise ValueError(f"backbone must be 'vgg16', 'vgg19' or None, got {profile.backbone!r}.")
    if not profile.preview_seconds > 0:
        raise ValueError(f"preview_seconds must be > 0, such as 0.5, got "
                         f"{profile.preview_seconds!r}.")
    if profile.memory_budget_mb is not None and not profile.memory_budget_mb > 0:
        raise ValueError(f"memory_budget_mb must be > 0 (MB) or None (no budget), got "
                         f"{profile.memory_budget_mb!r}.")


def current_profile(announce: bool = True) -> Profile:
    """Returns the profile in use; announces it once per process on stderr.

    The choice, in order: the last `use_profile` call; the environment
    variable ``NST_TEACH_PROFILE``; the detection (`detect_profile_name`).
    Environment variables are read at each call.

    Args:
        announce: Print the one-line announcement if this profile has not been
            announced yet in this process.

    Returns:
        A `Profile`.

    Raises:
        ValueError: If ``NST_TEACH_PROFILE`` names no profile.
    """
    profile = _STATE["chosen"]
    if profile is None:
        named = os.environ.get(PROFILE_VARIABLE, "").strip().lower()
        if named:
            profile = make_profile(named, reason=f"{PROFILE_VARIABLE}={named}")
        else:
            name, reason = detect_profile_name()
            profile = make_profile(name, reason=reason)
    if announce and _STATE["announced"] != profile:
        _STATE["announced"] = profile
        print(f"nst_teach: {profile.summary()}. Change it with nst.use_profile(...) or "
              f"{PROFILE_VARIABLE}.", file=sys.stderr)
    return profile


def use_profile(name: str | None, **overrides: Any) -> Profile:
    """Chooses the profile for the rest of this process.

    Args:
        name: A profile name (``"binder"``, ``"colab-gpu"``, ``"colab"``,
            ``"local-gpu"``, ``"local"``, ``"fast"``), or None to go back to
            ``NST_TEACH_PROFILE`` and the detection.
        **overrides: New values of single settings, e.g. ``image_size=384``
            (not allowed with None).

    Returns:
        The profile now in use (announced on stderr).

    Raises:
        ValueError: For an unknown name or setting, or a bad value.
    """
    if name is None:
        if overrides:
            raise ValueError("use_profile(None) goes back to the detected profile and takes no "
                             "settings: name a profile, e.g. use_profile('local', image_size=384).")
        _STATE["chosen"] = None
        return current_profile()
    changed = f", {', '.join(f'{key}={value!r}' for key, value in overrides.items())}" \
        if overrides else ""
    _STATE["chosen"] = make_profile(name, reason=f"nst.use_profile({name!r}{changed})",
                                    **overrides)
    return current_profile()
