"""How every check reports: exact, close, or how far apart, with a hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf


def compare(name: str, student: Any, reference: Any, rtol: float = 1e-4,
            atol: float = 1e-5, hint: str = "") -> bool:
    """Prints how close a student's result is to the reference; True if close.

    Args:
        name: What is compared, e.g. `"gram_matrix"`.
        student: The student's result (array-like or tensor).
        reference: The expected result.
        rtol: Relative tolerance of "close".
        atol: Absolute tolerance of "close".
        hint: A sentence shown when the result is wrong (never the answer).

    Returns:
        True if the results have the same shape and are close.
    """
    try:
        student_array = np.asarray(student, dtype=np.float64)
    except (TypeError, ValueError):
        print(f"{name}: ✗ returned {type(student).__name__}, not an array or tensor. {hint}")
        return False
    reference_array = np.asarray(reference, dtype=np.float64)
    if student_array.shape != reference_array.shape:
        print(f"{name}: ✗ shape {student_array.shape}, expected {reference_array.shape}. {hint}")
        return False
    exact = bool(np.array_equal(student_array, reference_array))
    close = bool(np.allclose(student_array, reference_array, rtol=rtol, atol=atol))
    difference = float(np.max(np.abs(student_array - reference_array))) if student_array.size else 0.0
    verdict = "✓ exact" if exact else ("✓ close" if close else "✗ wrong")
    print(f"{name}: {verdict} | max difference {difference:.3g}" + ("" if close else f" | {hint}"))
    return close


def compare_shapes(name: str, student: Any, expected: tuple, hint: str = "") -> bool:
    """Prints whether a shape is the expected one; True if it is."""
    try:
        student = tuple(int(size) for size in student)
    except (TypeError, ValueError):
        print(f"{name}: ✗ {student!r} is not a shape such as (56, 56, 256). {hint}")
        return False
    if student == tuple(expected):
        print(f"{name}: ✓ {student}")
        return True
    print(f"{name}: ✗ got {student}, expected a different shape. {hint}")
    return False


def _run(name: str, function: Callable, *arguments) -> Any:
    """Calls the student's function on tensors, printing any exception it raises."""
    try:
        return function(*[tf.constant(argument) if isinstance(argument, np.ndarray)
                          else argument for argument in arguments])
    except Exception as error:  # noqa: BLE001 - shown to the student
        print(f"{name}: ✗ raised {type(error).__name__}: {error}")
        return None


def _test_images(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 1, (1, height, width, 3)).astype(np.float32)
            for height, width in ((8, 8), (13, 7), (32, 24))]


def _run_numpy(name: str, function: Callable, *arguments) -> Any:
    """Calls the student's function on NumPy arrays (copies), printing any exception it raises."""
    try:
        return function(*[np.array(argument) for argument in arguments])
    except Exception as error:  # noqa: BLE001 - shown to the student
        print(f"{name}: ✗ raised {type(error).__name__}: {error}")
        return None
