"""L-BFGS written out in TensorFlow, with the image kept in a box [0, 1].

L-BFGS (Nocedal 1980; Nocedal & Wright, *Numerical Optimization*, ch. 7)
approximates Newton's method. It remembers the last few steps `s = x_new - x`
and gradient changes `y = g_new - g`, and turns the gradient into a search
direction with the *two-loop recursion*, at the cost of a few dot products.
A backtracking line search then picks a step length that lowers the loss
enough (the Armijo condition).

Bounds are handled by projection, the simplest documented scheme:

* a pixel at 0 whose gradient pushes it below 0, or at 1 pushed above 1, is
  *held*: its gradient and its direction are set to zero for this step;
* every trial point is clipped to [0, 1], and the curvature pair uses the step
  actually taken, `s = clip(x + t d) - x`.

Curvature pairs with `s . y <= 0` (which would break the approximation) are
skipped. If the direction is not a descent direction, the memory is cleared
and the step falls back to steepest descent.

A *preconditioner* can be given: an operator `P` that maps a gradient to a
better-scaled one (for images, one that favours smooth, low-frequency changes).
It replaces the scalar initial Hessian `gamma * I` of the two-loop recursion
by `gamma * P`, which is the same as optimizing a reparameterised image.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

Evaluate = Callable[[], tuple[dict, tf.Tensor]]


def dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Inner product of two tensors of the same shape, as a float32 scalar."""
    return tf.reduce_sum(a * b)


class LBFGS:
    """Limited-memory BFGS on a `tf.Variable` constrained to [lower, upper].

    Use `step` once per iteration. The loss and gradient come from `evaluate`,
    a function that computes them at the variable's current value.

    Args:
        memory: How many `(s, y)` pairs to remember (5 to 50 is usual).
        lower: Lower bound of every entry (0 for images).
        upper: Upper bound of every entry (1 for images).
        max_line_search: Backtracking trials before giving up on a step.
        armijo: Sufficient-decrease constant `c1` of the Armijo condition.
        preconditioner: Optional function `P(gradient) -> gradient` (symmetric,
            positive definite); `None` means the identity.
    """

    def __init__(self, memory: int = 10, lower: float = 0.0, upper: float = 1.0,
                 max_line_search: int = 10, armijo: float = 1e-4,
                 preconditioner: Callable[[tf.Tensor], tf.Tensor] | None = None):
        if memory < 1:
            raise ValueError(f"memory must be >= 1, got {memory}.")
        self.memory = memory
        self.lower, self.upper = lower, upper
        self.max_line_search = max_line_search
        self.armijo = armijo
        self.preconditioner = preconditioner or (lambda gradient: gradient)
        self.pairs: list[tuple[tf.Tensor, tf.Tensor, tf.Tensor]] = []  # (s, y, 1 / s.y)
        self.num_evaluations = 0

    def free_mask(self, x: tf.Tensor, gradient: tf.Tensor) -> tf.Tensor:
        """1.0 where an entry may move, 0.0 where a bound holds it."""
        held_low = (x <= self.lower) & (gradient > 0)
        held_high = (x >= self.upper) & (gradient < 0)
        return tf.cast(~(held_low | held_high), gradient.dtype)

    def direction(self, gradient: tf.Tensor) -> tf.Tensor:
        """The two-loop recursion: approximately `-inverse(Hessian) @ gradient`."""
        q = gradient
        alphas = []
        for s, y, rho in reversed(self.pairs):
            alpha = rho * dot(s, q)
            q = q - alpha * y
            alphas.append(alpha)
        if self.pairs:
            s, y, _ = self.pairs[-1]
            gamma = dot(s, y) / dot(y, y)
        else:  # first step: a step of length 1 in the (preconditioned) gradient direction
            gamma = 1.0 / tf.norm(self.preconditioner(gradient))
        r = gamma * self.preconditioner(q)
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas)):
            beta = rho * dot(y, r)
            r = r + (alpha - beta) * s
        return -r

    def step(self, variable: tf.Variable, evaluate: Evaluate,
             losses: dict, gradient: tf.Tensor) -> tuple[dict, tf.Tensor]:
        """Takes one L-BFGS iteration.

        Args:
            variable: The image, float32 `(1, H, W, 3)`, updated in place.
            evaluate: Returns `(losses, gradient)` at the variable's value;
                `losses["total"]` is the scalar being minimized.
            losses: The losses at the variable's current value.
            gradient: The gradient at the variable's current value.

        Returns:
            `(losses, gradient)` at the new value. If no step lowers the loss,
            the variable is left unchanged and the inputs are returned.
        """
        x = tf.identity(variable)
        free = self.free_mask(x, gradient)
        direction = self.direction(gradient * free) * free
        slope = dot(gradient, direction)
        if slope >= 0:  # not a descent direction: forget the curvature and start over
            self.pairs.clear()
            direction = self.direction(gradient * free) * free
            slope = dot(gradient, direction)
        step_length = 1.0
        for _ in range(self.max_line_search):
            variable.assign(tf.clip_by_value(x + step_length * direction, self.lower, self.upper))
            new_losses, new_gradient = evaluate()
            self.num_evaluations += 1
            decrease = dot(gradient, variable - x)  # the projected step's predicted change
            if new_losses["total"] <= losses["total"] + self.armijo * decrease:
                self._remember(variable - x, new_gradient - gradient)
                return new_losses, new_gradient
            step_length *= 0.5 if tf.math.is_finite(new_losses["total"]) else 0.1
        variable.assign(x)
        self.pairs.clear()
        return losses, gradient

    def _remember(self, s: tf.Tensor, y: tf.Tensor) -> None:
        curvature = dot(s, y)
        if curvature > 1e-10 * dot(y, y):
            self.pairs.append((s, y, 1.0 / curvature))
            if len(self.pairs) > self.memory:
                self.pairs.pop(0)
