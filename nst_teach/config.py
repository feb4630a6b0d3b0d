"""Settings read from environment variables: the fast mode and the cache folder.

This is the single place where ``nst_teach`` reads its environment variables:

* ``NST_TEACH_FAST``: set it to ``1``, ``true``, ``yes`` or ``on`` (any case) to
  run lessons and tests in fast mode (small images, few steps).
* ``NST_TEACH_CACHE``: folder for downloaded and generated files. Defaults to
  ``~/.cache/nst_teach``.
* ``NST_TEACH_MALLOC``: set it to ``0`` to leave the C allocator as it is (see
  ``return_freed_memory``).
* ``NST_TEACH_PRECISION``: ``float32``, ``bfloat16`` or ``float16`` forces the
  dtype the VGG convolutions run in (see ``resolve_precision``); unset means auto.
* ``NST_TEACH_WEIGHTS_FILE``: an ``.h5`` file of VGG weights in Keras' layout that
  ``weights="auto"`` loads instead of choosing (through ``keras.applications``, as
  the ImageNet file is): a classroom's own copy, or a stand-in of ImageNet's
  shapes for a rehearsal (``benchmarks/rehearse_binder.py``).
* ``TF_CPP_MIN_LOG_LEVEL``: TensorFlow's own; set to 2 on import when unset
  (see ``quiet_tensorflow_logs``), left alone when you set it.

On import, nst_teach changes only these two things, both switchable:
``TF_CPP_MIN_LOG_LEVEL`` as above, and glibc's mmap threshold
(``return_freed_memory``, off with ``NST_TEACH_MALLOC=0``).

These are read each time a function is called, so changing ``os.environ`` (for
example in a test) takes effect at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import pathlib
import sys

REPOSITORY = "nst-teach/nst_teach"  # on GitHub: the lessons' Colab and Binder buttons point here
FAST_MODE_VARIABLE = "NST_TEACH_FAST"
CACHE_VARIABLE = "NST_TEACH_CACHE"
MALLOC_VARIABLE = "NST_TEACH_MALLOC"
PRECISION_VARIABLE = "NST_TEACH_PRECISION"
WEIGHTS_FILE_VARIABLE = "NST_TEACH_WEIGHTS_FILE"
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
CPU_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bfloat16
TENSORFLOW_LOG_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
TRUTHY_VALUES = frozenset({"1", "true", "yes", "on"})
GLIBC_M_MMAP_THRESHOLD = -3  # mallopt parameter number, from glibc's malloc.h


def fast_mode() -> bool:
    """Tells whether the fast mode is on.

    Returns:
        True when the environment variable ``NST_TEACH_FAST`` holds ``1``,
        ``true``, ``yes`` or ``on`` (case-insensitive, surrounding spaces
        ignored); False when it is unset or holds anything else.
    """
    value = os.environ.get(FAST_MODE_VARIABLE, "")
    return value.strip().lower() in TRUTHY_VALUES


def cache_dir(subdir: str | None = None) -> pathlib.Path:
    """Returns the cache folder, creating it if needed.

    Args:
        subdir: Optional name of a subfolder inside the cache folder, such as
            ``"samples"``. It is created too.

    Returns:
        The absolute path of ``$NST_TEACH_CACHE`` (or ``~/.cache/nst_teach``
        when that variable is unset or empty), joined with ``subdir``.
    """
    configured = os.environ.get(CACHE_VARIABLE, "").strip()
    if configured:
        folder = pathlib.Path(configured).expanduser()
    else:
        folder = pathlib.Path.home() / ".cache" / "nst_teach"
    if subdir:
        folder = folder / subdir
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


def cpu_has_bfloat16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    """Tells whether the CPU computes in bfloat16 natively (AVX512-BF16 or AMX).

    On such CPUs oneDNN runs bfloat16 convolutions about twice as fast as
    float32 ones; on others it emulates them, more slowly.

    Args:
        cpuinfo: The file listing the CPU's flags (Linux); elsewhere False.
    """
    try:
        text = pathlib.Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return any(flag in flags for flag in CPU_BFLOAT16_FLAGS)


def resolve_precision(precision: str = "auto", gpu: bool | None = None) -> str:
    """The dtype the VGG convolutions run in ("mixed precision").

    Activations are cast back to float32 before Gram matrices and losses, so
    only the convolutions' arithmetic changes: bfloat16 rounds each
    activation to 8 bits of mantissa, and is faster only on CPUs with native
    bfloat16 (how much, and how far the losses move: docs/benchmarks.md,
    written by benchmarks/bench_stylize.py).

    Args:
        precision: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
            ``"auto"`` reads ``NST_TEACH_PRECISION`` if set, else picks
            bfloat16 on a CPU with native bfloat16 and float32 everywhere else
            (GPUs included: float16 there is untested, ask for it explicitly).
        gpu: Whether TensorFlow computes on a GPU; None asks TensorFlow.

    Returns:
        ``"float32"``, ``"bfloat16"`` or ``"float16"``.

    Raises:
        ValueError: If `precision` (or ``NST_TEACH_PRECISION``) is not one of the above.
    """
    if precision == "auto":
        precision = os.environ.get(PRECISION_VARIABLE, "").strip().lower() or "auto"
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r} "
                         f"(check the argument or the {PRECISION_VARIABLE} variable).")
    if precision != "auto":
        return precision
    if gpu is None:
        tensorflow = importlib.import_module("tensorflow")
        gpu = bool(tensorflow.config.list_logical_devices("GPU"))
    return "bfloat16" if not gpu and cpu_has_bfloat16() else "float32"


def return_freed_memory(threshold_bytes: int = 128 * 1024) -> bool:
    """Asks glibc to give large freed blocks back to the system at once.

    By default glibc raises its mmap threshold after large blocks are freed, so
    later large blocks (TensorFlow's activations, about 1 to 13 MB each at
    256 px) come from a heap that never shrinks. A fixed threshold keeps them
    in their own mappings, returned on free, which lowers the peak memory of
    `stylize` (it matters on Binder's 2 GB; docs/faq.md). Set
    ``NST_TEACH_MALLOC=0`` to skip it.

    Returns:
        True if the setting was applied (Linux with glibc), else False.
    """
    if os.environ.get(MALLOC_VARIABLE, "1").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(GLIBC_M_MMAP_THRESHOLD, threshold_bytes))
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False


def quiet_tensorflow_logs() -> bool:
    """Sets TensorFlow's own log threshold to warnings-and-errors off, unless you chose one.

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` (TensorFlow's setting: hide its C++ INFO and
    WARNING lines, such as "failed call to cuInit" and the CPU-instructions
    notice) when the variable is unset and TensorFlow is not imported yet; a
    value you set is left alone. Nothing else is changed: no stream or file
    descriptor is redirected, so real errors still show.

    Two lines remain: TensorFlow 2.20 and later log "oneDNN custom operations
    are on" and "Could not find cuda drivers" while their shared libraries load,
    before any setting is read. In Jupyter they come from C code writing to the
    process's stderr, which ipykernel copies into the notebook unless its own
    setting ``c.IPKernelApp.capture_fd_output = False`` is in
    ``ipython_kernel_config.py``; `binder/postBuild` writes that setting, so
    on Binder the lines go to the server's log (Colab's kernel never shows them).

    Returns:
        True if the variable was set here.
    """
    if "tensorflow" in sys.modules or TENSORFLOW_LOG_VARIABLE in os.environ:
        return False
    os.environ[TENSORFLOW_LOG_VARIABLE] = "2"
    return True
