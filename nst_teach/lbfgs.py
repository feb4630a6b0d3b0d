"""L-BFGS written out in TensorFlow, with the image kept in a box [0, 1].

L-BFGS (Nocedal 1980; Nocedal & Wright, *Numerical Optimization*, ch. 7)
approximates Newton's method. It remembers the last few steps `s = x_new - x`
and gradient changes `y = g_new - g`, and turns the gradient into a search
direction with the *two-loop recursion*, at the cost of a few dot products.
A backtracking line search then picks a step length that lowers the loss
enough (the Armijo condition), shortening a failed step to the minimizer of a
parabola fitted to the loss along it (Nocedal & Wright, section 3.5).

Bounds are handled by projection, the simplest documented scheme:

* a pixel at 0 whose gradient pushes it below 0, or at 1 pushed above 1, is
  *held*: its gradient and its direction are set to zero for this step;
* every trial point is clipped to [0, 1], and the curvature pair uses the step
  actually taken, `s = clip(x + t d) - x`;
* the two-loop recursion runs in the free pixels only: the remembered pairs are
  masked like the gradient (`s_F`, `y_F`), so curvature measured on pixels a
  bound now holds does not shape the step of the others (a reduced-space
  quasi-Newton step, as in Kim, Sra & Dhillon 2010); a masked pair with
  `s_F . y_F <= 0` is left out of this step.

Curvature pairs with `s . y <= 0` (which would break the approximation) are
skipped. If the direction is not a descent direction, the memory is cleared
and the step falls back to steepest descent.

The two-loop recursion runs as one compiled `tf.function`; the line search is
plain Python, since it calls the (compiled) loss a few times at most.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

Evaluate = Callable[[], tuple[dict, tf.Tensor]]


def dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Inner product of two tensors of the same shape, as a float32 scalar."""
    return tf.reduce_sum(a * b)


def has_positive_curvature(s: tf.Tensor, y: tf.Tensor) -> bool:
    """Whether a pair may enter the recursion: `s . y > 0`, relative to `y . y`."""
    return bool(dot(s, y) > 1e-10 * dot(y, y))


@tf.function(reduce_retracing=True)
def two_loop_recursion(gradient: tf.Tensor, steps: tf.Tensor, changes: tf.Tensor) -> tf.Tensor:
    """Approximates `inverse(Hessian) @ gradient` from the remembered pairs.

    Args:
        gradient: The gradient, any shape `S`.
        steps: The last `k` steps `s`, oldest first, shape `(k, *S)`.
        changes: The matching gradient changes `y`, shape `(k, *S)`.

    Returns:
        `H @ gradient`, shape `S`, where `H` is the L-BFGS inverse-Hessian
        approximation started from `gamma * I`, `gamma = s.y / y.y` (newest pair).
    """
    count = tf.shape(steps)[0]
    rho = 1.0 / tf.reduce_sum(tf.reshape(steps * changes, [count, -1]), axis=1)  # 1 / (s.y)
    alphas = tf.TensorArray(gradient.dtype, size=count)
    q = gradient
    for i in tf.range(count - 1, -1, -1):  # newest to oldest
        alpha = rho[i] * dot(steps[i], q)
        q -= alpha * changes[i]
        alphas = alphas.write(i, alpha)
    r = dot(steps[-1], changes[-1]) / dot(changes[-1], changes[-1]) * q
    for i in tf.range(count):  # oldest to newest
        beta = rho[i] * dot(changes[i], r)
        r += (alphas.read(i) - beta) * steps[i]
    return r


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
    """

    def __init__(self, memory: int = 10, lower: float = 0.0, upper: float = 1.0,
                 max_line_search: int = 10, armijo: float = 1e-4):
        if memory < 1:
            raise ValueError(f"memory must be >= 1, got {memory}.")
        self.memory = memory
        self.lower, self.upper = lower, upper
        self.max_line_search = max_line_search
        self.armijo = armijo
        self.pairs: list[tuple[tf.Tensor, tf.Tensor]] = []  # (s, y), oldest first
        self.num_evaluations = 0

    def free_mask(self, x: tf.Tensor, gradient: tf.Tensor) -> tf.Tensor:
        """1.0 where an entry may move, 0.0 where a bound holds it."""
        held_low = (x <= self.lower) & (gradient > 0)
        held_high = (x >= self.upper) & (gradient < 0)
        return tf.cast(~(held_low | held_high), gradient.dtype)

    def direction(self, gradient: tf.Tensor, free: tf.Tensor | None = None) -> tf.Tensor:
        """The search direction `-H @ gradient` (two-loop recursion).

        Args:
            gradient: The gradient, any shape `S`.
            free: Optional 0/1 mask of shape `S`: the recursion then uses the
                pairs restricted to the free entries (`s * free`, `y * free`),
                skipping a restricted pair whose `s . y` is not positive.

        Returns:
            The direction, shape `S`. With no (usable) pairs, the steepest-descent
            direction scaled to length 1.
        """
        pairs = self.pairs if free is None else [
            (s * free, y * free) for s, y in self.pairs]
        pairs = [(s, y) for s, y in pairs if has_positive_curvature(s, y)]
        if not pairs:
            return -gradient / tf.norm(gradient)
        steps = tf.stack([s for s, _ in pairs])
        changes = tf.stack([y for _, y in pairs])
        return -two_loop_recursion(gradient, steps, changes)

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
        if not tf.reduce_any(gradient * free != 0):  # stationary: nothing can move
            return losses, gradient
        direction = self.direction(gradient * free, free) * free
        if dot(gradient, direction) >= 0:  # not a descent direction: forget the curvature
            self.pairs.clear()
            direction = self.direction(gradient * free, free) * free
        step_length = 1.0
        for _ in range(self.max_line_search):
            variable.assign(tf.clip_by_value(x + step_length * direction, self.lower, self.upper))
            new_losses, new_gradient = evaluate()
            self.num_evaluations += 1
            decrease = dot(gradient, variable - x)  # the projected step's predicted change
            if new_losses["total"] <= losses["total"] + self.armijo * decrease:
                self._remember(variable - x, new_gradient - gradient)
                return new_losses, new_gradient
            step_length *= self.backtrack_factor(losses["total"], new_losses["total"], decrease)
        variable.assign(x)
        self.pairs.clear()
        return losses, gradient

    @staticmethod
    def backtrack_factor(value: tf.Tensor, trial_value: tf.Tensor, decrease: tf.Tensor) -> float:
        """How much to shorten a step that failed the Armijo test, in [0.1, 0.5].

        The minimizer of the parabola through the loss at the start (`value`, slope
        `decrease` along the step) and at the trial point (`trial_value`), as a fraction
        of the step (Nocedal & Wright, section 3.5), kept within [0.1, 0.5] so that a
        poor fit neither stalls nor barely shortens the step; 0.1 for a non-finite loss.
        """
        if not tf.math.is_finite(trial_value):
            return 0.1
        curvature = float(trial_value - value - decrease)  # > 0 when the Armijo test failed
        if curvature <= 0.0:
            return 0.5
        return min(max(-float(decrease) / (2.0 * curvature), 0.1), 0.5)

    def _remember(self, s: tf.Tensor, y: tf.Tensor) -> None:
        if has_positive_curvature(s, y):
            self.pairs.append((s, y))
            if len(self.pairs) > self.memory:
                self.pairs.pop(0)
