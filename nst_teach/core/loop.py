"""Gradient descent on the pixels: SGD and Adam written out, one step, the plain loop (lesson 06).

The image itself is the variable. Each step computes every loss term and the
gradient of the total with `tf.GradientTape`, moves the pixels against the
gradient and clips them to [0, 1]. `nst_teach.stylize` runs this same step with
a run protocol around it (progress bar, Stop, callbacks, the best image kept, a
message when the loss blows up) and adds L-BFGS (`nst_teach.lbfgs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

LossFunction = Callable[[tf.Tensor], Mapping[str, tf.Tensor]]

# The TensorFlow tutorial's Adam: `Adam(**TUTORIAL_ADAM)`.
TUTORIAL_ADAM = {"learning_rate": 0.02, "beta_1": 0.99, "beta_2": 0.999, "epsilon": 0.1}


class SGD:
    """Plain gradient descent with optional momentum: `x -= learning_rate * velocity`.

    `velocity = momentum * velocity + gradient` (Keras' form without Nesterov);
    with `momentum=0` each step is `x -= learning_rate * gradient`.
    """

    def __init__(self, learning_rate: float = 1e-5, momentum: float = 0.0):
        self.learning_rate, self.momentum = learning_rate, momentum
        self.velocity = None

    def apply_gradient(self, image: tf.Variable, gradient: tf.Tensor) -> None:
        """Moves `image` once against `gradient` and clips it to [0, 1]."""
        self.velocity = gradient if self.velocity is None else (
            self.momentum * self.velocity + gradient)
        image.assign(tf.clip_by_value(image - self.learning_rate * self.velocity, 0.0, 1.0))


class Adam:
    """Adam, written out as Keras implements it (the TensorFlow tutorial's optimizer).

    `m` and `v` are running means of the gradient and its square; the step is
    `learning_rate * m_hat / (sqrt(v_hat) + epsilon)` with bias corrections
    (Keras' form: epsilon is added to `sqrt(v)` before the correction).

    The defaults differ from the tutorial's `TUTORIAL_ADAM` in `beta_1` and
    `beta_2` only, a shorter memory of the squared gradient that suits an
    objective whose gradient shrinks fast in the first steps (measured in
    `benchmarks/bench_stylize.py`, figures in `docs/benchmarks.md`).

    `learning_rate` is a number, or a schedule: a function of the step
    number (0 for the first step) that returns the rate, such as a
    `keras.optimizers.schedules.LearningRateSchedule`.
    """

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.02, beta_1: float = 0.9,
                 beta_2: float = 0.9, epsilon: float = 0.1):
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        self.epsilon = epsilon
        self.m = self.v = None
        self.iterations = 0

    def rate(self) -> float:
        """This step's rate: `learning_rate`, or its value at the step if it is a schedule.

        Steps count from 0 for the schedule, as in Keras; before the first step, step 0's.
        """
        if callable(self.learning_rate):
            return float(self.learning_rate(max(self.iterations - 1, 0)))
        return self.learning_rate

    def apply_gradient(self, image: tf.Variable, gradient: tf.Tensor) -> None:
        """Moves `image` once along Adam's step and clips it to [0, 1]."""
        if self.m is None:
            self.m, self.v = tf.zeros_like(gradient), tf.zeros_like(gradient)
        self.iterations += 1
        self.m = self.m + (gradient - self.m) * (1 - self.beta_1)
        self.v = self.v + (tf.square(gradient) - self.v) * (1 - self.beta_2)
        scale = (self.rate() * np.sqrt(1 - self.beta_2 ** self.iterations)
                 / (1 - self.beta_1 ** self.iterations))
        update = scale * self.m / (tf.sqrt(self.v) + self.epsilon)
        image.assign(tf.clip_by_value(image - update, 0.0, 1.0))


def loss_and_gradient(image: tf.Variable, loss_function: LossFunction
                      ) -> tuple[Mapping[str, tf.Tensor], tf.Tensor]:
    """Every loss term at `image`, and the gradient of the total.

    Args:
        image: The image being optimized, float32 `(1, H, W, 3)` in [0, 1].
        loss_function: `image -> {"total": ..., ...}`, e.g. a `style_transfer_loss`.

    Returns:
        `(losses, gradient)`: the terms, and float32 `(1, H, W, 3)`.
    """
    with tf.GradientTape() as tape:
        losses = loss_function(image)
    return losses, tape.gradient(losses["total"], image)


def gradient_step(image: tf.Variable, loss_function: LossFunction, optimizer) -> dict:
    """One step: the losses and gradient at `image`, then the optimizer's move.

    Returns:
        The loss terms (floats) *before* the move.
    """
    losses, gradient = loss_and_gradient(image, loss_function)
    optimizer.apply_gradient(image, gradient)
    return {name: float(value) for name, value in losses.items()}


def run_style_transfer(loss_function: LossFunction, start_image: np.ndarray, optimizer,
                       num_steps: int) -> tuple[np.ndarray, list[dict]]:
    """The plain loop: `num_steps` steps of `optimizer` from `start_image`.

    Args:
        loss_function: `image -> {"total": ..., ...}`.
        start_image: float32 `(1, H, W, 3)` in [0, 1], usually the content image.
        optimizer: An `SGD` or `Adam`.
        num_steps: How many steps, >= 0.

    Returns:
        `(image, history)`: the last image, float32 `(1, H, W, 3)` in [0, 1],
        and `num_steps + 1` dicts of loss terms (the first for `start_image`,
        the last for the image returned).
    """
    image = tf.Variable(tf.convert_to_tensor(start_image, tf.float32))
    evaluate = tf.function(lambda: loss_and_gradient(image, loss_function))
    history = []
    for step in range(num_steps + 1):
        losses, gradient = evaluate()
        history.append({name: float(value) for name, value in losses.items()})
        if step < num_steps:
            optimizer.apply_gradient(image, gradient)
    return image.numpy(), history
