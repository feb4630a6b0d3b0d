"""L-BFGS: against SciPy's L-BFGS-B, the two-loop recursion against the exact
inverse Hessian, the box [lower, upper], the memory, and the safeguards
(non-descent directions, non-finite trial points).

SciPy is only a reference here; the package does not depend on it.
"""

import numpy as np
import pytest
import tensorflow as tf

from nst_teach.lbfgs import LBFGS, dot

scipy_optimize = pytest.importorskip("scipy.optimize")

SHAPE = (2, 3)  # the variables are small float32 tensors, like a (tiny) image
SIZE = 6

# The stopping tests of SciPy's L-BFGS-B, with tolerances float32 can meet (SciPy's
# defaults, ftol=2.2e-9 and gtol=1e-5, are below float32's resolution); both
# optimizers get the same ones when their evaluations are compared.
FTOL = 1e-7
GTOL = 1e-4


# --- problems -------------------------------------------------------------------------

def ill_conditioned_quadratic(seed, size=SIZE, condition=1e3):
    """f(x) = x.A.x / 2 - b.x with A symmetric positive definite of the given condition."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(size, size)))
    hessian = rotation @ np.diag(np.logspace(0, np.log10(condition), size)) @ rotation.T
    return hessian, rng.normal(size=size)


class Quadratic:
    def __init__(self, seed):
        self.hessian, self.b = ill_conditioned_quadratic(seed)

    def numpy(self, x):
        return 0.5 * x @ self.hessian @ x - self.b @ x, self.hessian @ x - self.b

    def tf(self, variable):
        x = tf.reshape(variable, [-1])
        hessian = tf.constant(self.hessian, variable.dtype)
        return 0.5 * dot(x, tf.linalg.matvec(hessian, x)) - dot(tf.constant(self.b, x.dtype), x)


class Rosenbrock:
    def numpy(self, x):
        return scipy_optimize.rosen(x), scipy_optimize.rosen_der(x)

    def tf(self, variable):
        x = tf.reshape(variable, [-1])
        return tf.reduce_sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def make_evaluate(function, variable, trial_points=None):
    """An `evaluate` for LBFGS.step; records every point it is called at."""
    def evaluate():
        if trial_points is not None:
            trial_points.append(variable.numpy().copy())
        with tf.GradientTape() as tape:
            value = function(variable)
        return {"total": value}, tape.gradient(value, variable)
    return evaluate


def minimize_ours(function, x0, lower, upper, memory=10, max_steps=500):
    """Runs LBFGS.step until SciPy's own stopping tests hold: the projected gradient's
    largest entry <= GTOL, or a relative decrease of f <= FTOL (which also ends the
    loop when a line search fails). Returns x, f, evaluations and all trial points."""
    x0 = np.clip(x0, lower, upper)  # as SciPy does with a starting point outside the box
    variable = tf.Variable(np.reshape(x0, SHAPE), dtype=tf.float32)
    trial_points = []
    evaluate = make_evaluate(function, variable, trial_points)
    optimizer = LBFGS(memory=memory, lower=lower, upper=upper)
    losses, gradient = evaluate()
    for _ in range(max_steps):
        x = variable.numpy()
        projected_gradient = np.clip(x - gradient.numpy(), lower, upper) - x
        if np.max(np.abs(projected_gradient)) <= GTOL:
            break
        before = float(losses["total"])
        losses, gradient = optimizer.step(variable, evaluate, losses, gradient)
        after = float(losses["total"])
        if (before - after) / max(abs(before), abs(after), 1.0) <= FTOL:
            break
    assert len(trial_points) == 1 + optimizer.num_evaluations  # num_evaluations counts them all
    return variable.numpy().ravel(), float(losses["total"]), len(trial_points), trial_points


def minimize_scipy(problem, x0, lower, upper, accurate=False):
    """SciPy in float64: `accurate` for the reference minimizer, else with our tolerances."""
    options = {"ftol": 1e-12, "gtol": 1e-9} if accurate else {"ftol": FTOL, "gtol": GTOL}
    return scipy_optimize.minimize(problem.numpy, np.ravel(x0), jac=True, method="L-BFGS-B",
                                   bounds=[(lower, upper)] * SIZE, options=options)


ROSENBROCK_START = np.array([-1.2, 1.0, -1.2, 1.0, 0.5, -0.5])
CASES = {  # name: (problem, x0, lower, upper)
    "quadratic": (Quadratic(seed=1), np.zeros(SIZE), -np.inf, np.inf),
    "quadratic-box": (Quadratic(seed=1), np.zeros(SIZE), -0.5, 0.5),
    "rosenbrock": (Rosenbrock(), ROSENBROCK_START, -np.inf, np.inf),
    "rosenbrock-box": (Rosenbrock(), ROSENBROCK_START, -2.0, 0.7),
}


# --- against SciPy --------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_same_minimizer_and_minimum_as_scipy(case):
    problem, x0, lower, upper = CASES[case]
    reference = minimize_scipy(problem, x0, lower, upper, accurate=True)
    assert reference.success, reference.message
    if np.isfinite(lower):  # the box is there to matter: the solution lies on its boundary
        assert np.any(np.isclose(reference.x, lower) | np.isclose(reference.x, upper))
    x, value, _, trial_points = minimize_ours(problem.tf, x0, lower, upper)
    np.testing.assert_allclose(x, reference.x, atol=1e-3)  # float32 on an ill-conditioned f
    np.testing.assert_allclose(value, reference.fun, atol=1e-5)
    assert all(np.all((point >= lower) & (point <= upper)) for point in trial_points)


def test_quadratic_minimizer_is_the_linear_solve():
    problem, x0, lower, upper = CASES["quadratic"]
    x, _, _, _ = minimize_ours(problem.tf, x0, lower, upper)
    np.testing.assert_allclose(x, np.linalg.solve(problem.hessian, problem.b), atol=1e-3)


def test_rosenbrock_minimizer_is_all_ones():
    problem, x0, lower, upper = CASES["rosenbrock"]
    x, value, _, _ = minimize_ours(problem.tf, x0, lower, upper)
    np.testing.assert_allclose(x, np.ones(SIZE), atol=1e-3)
    assert value < 1e-6


@pytest.mark.parametrize("case", CASES)
def test_evaluations_comparable_to_scipy(case):
    """At most twice SciPy's evaluations, with or without an active bound (with the
    pairs restricted to the free entries; masking only the direction took 2.3-3x)."""
    problem, x0, lower, upper = CASES[case]
    reference = minimize_scipy(problem, x0, lower, upper)
    _, _, evaluations, _ = minimize_ours(problem.tf, x0, lower, upper)
    assert evaluations <= 2 * reference.nfev, (evaluations, reference.nfev)


# --- the two-loop recursion -----------------------------------------------------------

def conjugate_pairs(hessian, rng):
    """n steps s that are A-conjugate (s_i.A.s_j = 0) for an n x n matrix A, and y = A s:
    what BFGS sees on a quadratic with exact line searches."""
    size = len(hessian)
    steps = []
    for vector in rng.normal(size=(size, size)):
        for s in steps:  # Gram-Schmidt in the A inner product
            vector = vector - (s @ hessian @ vector) / (s @ hessian @ s) * s
        steps.append(vector)
    return [(s, hessian @ s) for s in steps]


def as_tensor(vector):
    return tf.constant(np.reshape(vector, SHAPE), tf.float32)


def test_direction_is_minus_inverse_hessian_times_gradient():
    """With SIZE conjugate pairs the BFGS matrix is exactly inverse(A) (quadratic
    termination), whatever the initial scaling, so the two-loop recursion must return
    -solve(A, g) for any g."""
    rng = np.random.default_rng(7)
    hessian, _ = ill_conditioned_quadratic(seed=3, condition=100.0)
    optimizer = LBFGS(memory=SIZE)
    for s, y in conjugate_pairs(hessian, rng):
        optimizer._remember(as_tensor(s), as_tensor(y))
    assert len(optimizer.pairs) == SIZE
    for gradient in rng.normal(size=(3, SIZE)):
        direction = optimizer.direction(as_tensor(gradient)).numpy().ravel()
        expected = -np.linalg.solve(hessian, gradient)
        np.testing.assert_allclose(direction, expected, atol=1e-4 * np.abs(expected).max())


def test_direction_in_the_free_entries_is_the_newton_step_of_the_free_block():
    """Steps that moved only the free entries F, but whose gradient changes y = A s
    spill onto the held ones: with the mask, the recursion uses (s_F, y_F) and
    returns -solve(A_FF, g_F) on F (quadratic termination in the free block), where
    the unmasked pairs give a different direction."""
    rng = np.random.default_rng(11)
    hessian, _ = ill_conditioned_quadratic(seed=6, condition=100.0)
    free_entries = np.array([0, 2, 3, 5])
    block = hessian[np.ix_(free_entries, free_entries)]
    free = np.zeros(SIZE)
    free[free_entries] = 1.0
    optimizer = LBFGS(memory=SIZE)
    for s_free, _ in conjugate_pairs(block, rng):
        s = np.zeros(SIZE)
        s[free_entries] = s_free
        optimizer._remember(as_tensor(s), as_tensor(hessian @ s))
    gradient = rng.normal(size=SIZE) * free
    direction = optimizer.direction(as_tensor(gradient), as_tensor(free)).numpy().ravel()
    expected = np.zeros(SIZE)
    expected[free_entries] = -np.linalg.solve(block, gradient[free_entries])
    np.testing.assert_allclose(direction * free, expected, atol=1e-4 * np.abs(expected).max())
    unmasked = optimizer.direction(as_tensor(gradient)).numpy().ravel()
    assert np.abs(unmasked * free - expected).max() > 1e-3 * np.abs(expected).max()


def test_direction_after_fewer_pairs_satisfies_every_secant_equation():
    """Fewer conjugate pairs than dimensions: H y_j = s_j for every remembered pair."""
    rng = np.random.default_rng(8)
    hessian, _ = ill_conditioned_quadratic(seed=4, condition=50.0)
    pairs = conjugate_pairs(hessian, rng)[:3]
    optimizer = LBFGS(memory=5)
    for s, y in pairs:
        optimizer._remember(as_tensor(s), as_tensor(y))
    for s, y in pairs:
        np.testing.assert_allclose(optimizer.direction(as_tensor(y)).numpy().ravel(), -s,
                                   atol=1e-4 * np.abs(s).max())


def test_direction_satisfies_the_latest_secant_equation_for_any_pairs():
    """Any pairs with positive curvature: the newest one always holds exactly (this
    catches loops run in the wrong order)."""
    rng = np.random.default_rng(9)
    hessian, _ = ill_conditioned_quadratic(seed=5, condition=20.0)
    optimizer = LBFGS(memory=4)
    for _ in range(4):
        s = rng.normal(size=SIZE)
        optimizer._remember(as_tensor(s), as_tensor(hessian @ s))
    s, y = optimizer.pairs[-1][:2]
    np.testing.assert_allclose(optimizer.direction(y).numpy(), -s.numpy(),
                               atol=1e-4 * np.abs(s.numpy()).max())


def test_first_direction_is_a_unit_step_downhill():
    gradient = tf.constant([[3.0, -4.0]])
    np.testing.assert_allclose(LBFGS().direction(gradient).numpy(), [[-0.6, 0.8]], rtol=1e-6)


@pytest.mark.parametrize("minimizer, expected", [(0.3, 0.3), (0.02, 0.1), (0.45, 0.45)])
def test_backtracking_goes_to_the_minimizer_of_the_fitted_parabola(minimizer, expected):
    """Along phi(t) = (t - a)^2, a full step (t = 1) fails the Armijo test; the parabola
    through phi(0), phi'(0) and phi(1) is phi itself, so the step shrinks to exactly `a`,
    kept within [0.1, 0.5]."""
    value, slope, trial = minimizer ** 2, -2.0 * minimizer, (1.0 - minimizer) ** 2
    factor = LBFGS.backtrack_factor(tf.constant(value), tf.constant(trial), tf.constant(slope))
    assert factor == pytest.approx(expected, rel=1e-5)


def test_backtracking_from_a_non_finite_or_concave_trial():
    assert LBFGS.backtrack_factor(tf.constant(1.0), tf.constant(np.nan), tf.constant(-1.0)) == 0.1
    assert LBFGS.backtrack_factor(tf.constant(1.0), tf.constant(np.inf), tf.constant(-1.0)) == 0.1
    # a trial below the tangent line has no minimizer in between: halve, as plain backtracking
    assert LBFGS.backtrack_factor(tf.constant(1.0), tf.constant(-1.0), tf.constant(-1.0)) == 0.5


def test_pairs_without_positive_curvature_are_skipped():
    optimizer = LBFGS()
    s = as_tensor(np.arange(1.0, SIZE + 1))
    optimizer._remember(s, -s)
    optimizer._remember(s, tf.zeros_like(s))
    assert optimizer.pairs == []


# --- the box --------------------------------------------------------------------------

def test_free_mask_holds_entries_pushed_out_of_the_box():
    optimizer = LBFGS(lower=0.0, upper=1.0)
    x = tf.constant([0.0, 0.0, 1.0, 1.0, 0.5, 0.5, 0.0])
    gradient = tf.constant([1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 0.0])
    # at 0 pushed below | at 0 pushed inside | at 1 pushed above | at 1 pushed inside |
    # inside (both signs) | at 0 with no push
    expected = [0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(optimizer.free_mask(x, gradient).numpy(), expected)


def test_held_entries_stay_put_and_iterates_stay_in_the_box():
    target = tf.constant([[-1.0, 0.5, 2.0], [0.3, 1.5, 0.7]])
    variable = tf.Variable([[0.0, 0.2, 1.0], [0.9, 0.4, 0.1]])  # (0,0) at 0 and (0,2) at 1
    trial_points = []
    evaluate = make_evaluate(lambda v: tf.reduce_sum((v - target) ** 2), variable, trial_points)
    optimizer = LBFGS(lower=0.0, upper=1.0)
    losses, gradient = evaluate()
    for _ in range(15):
        x = variable.numpy()
        if np.all(np.clip(x - gradient.numpy(), 0.0, 1.0) == x):  # converged
            break
        losses, gradient = optimizer.step(variable, evaluate, losses, gradient)
        assert variable.numpy()[0, 0] == 0.0 and variable.numpy()[0, 2] == 1.0
    assert all(np.all((point >= 0.0) & (point <= 1.0)) for point in trial_points)
    np.testing.assert_allclose(variable.numpy(), np.clip(target.numpy(), 0.0, 1.0), atol=1e-5)


def test_everything_held_leaves_the_variable_unchanged():
    """At a corner of the box with the gradient pushing out everywhere, nothing moves."""
    target = tf.constant([[-1.0, 2.0], [-3.0, 5.0]])
    variable = tf.Variable([[0.0, 1.0], [0.0, 1.0]])
    evaluate = make_evaluate(lambda v: tf.reduce_sum((v - target) ** 2), variable)
    losses, gradient = evaluate()
    new_losses, _ = LBFGS().step(variable, evaluate, losses, gradient)
    np.testing.assert_array_equal(variable.numpy(), [[0.0, 1.0], [0.0, 1.0]])
    assert float(new_losses["total"]) == float(losses["total"])


@pytest.mark.parametrize("start", ["corner", "stationary"])
def test_zero_projected_gradient_evaluates_nothing_outside_the_box(start):
    if start == "corner":  # every entry held by a bound
        target, x0 = [[-1.0, 2.0], [-3.0, 5.0]], [[0.0, 1.0], [0.0, 1.0]]
    else:  # already at the minimizer: the gradient is exactly zero
        target, x0 = [[0.25, 0.5], [0.75, 0.125]], [[0.25, 0.5], [0.75, 0.125]]
    variable = tf.Variable(x0)
    trial_points = []
    evaluate = make_evaluate(lambda v: tf.reduce_sum((v - tf.constant(target)) ** 2),
                             variable, trial_points)
    losses, gradient = evaluate()
    LBFGS().step(variable, evaluate, losses, gradient)
    assert all(np.all((point >= 0.0) & (point <= 1.0)) for point in trial_points), trial_points


# --- memory and safeguards ------------------------------------------------------------

def test_memory_keeps_only_the_latest_pairs():
    problem = Quadratic(seed=2)
    variable = tf.Variable(np.zeros(SHAPE), dtype=tf.float32)
    evaluate = make_evaluate(problem.tf, variable)
    optimizer = LBFGS(memory=3, lower=-np.inf, upper=np.inf)
    losses, gradient = evaluate()
    steps = []
    for _ in range(8):  # a convex quadratic: every pair has positive curvature
        x, old_gradient = variable.numpy(), gradient.numpy()
        losses, gradient = optimizer.step(variable, evaluate, losses, gradient)
        steps.append((variable.numpy() - x, gradient.numpy() - old_gradient))
        assert len(optimizer.pairs) == min(len(steps), 3)
    for pair, (step, change) in zip(optimizer.pairs, steps[-3:]):  # oldest first
        np.testing.assert_allclose(pair[0].numpy(), step, rtol=1e-6)
        np.testing.assert_allclose(pair[1].numpy(), change, rtol=1e-6)


class UphillWhenRemembering(LBFGS):
    """Stands for a curvature memory gone bad: with pairs, it proposes +gradient."""

    def direction(self, gradient, free=None):
        return gradient if self.pairs else super().direction(gradient, free)


def test_non_descent_direction_resets_memory_and_steps_downhill():
    target = tf.constant([[0.9, 0.1, 0.6]])
    variable = tf.Variable([[0.2, 0.7, 0.4]])
    evaluate = make_evaluate(lambda v: tf.reduce_sum((v - target) ** 2), variable)
    losses, gradient = evaluate()
    optimizer = UphillWhenRemembering()
    old_step = tf.constant([[1.0, 2.0, -1.0]])
    optimizer._remember(old_step, 2.0 * old_step)
    assert len(optimizer.pairs) == 1
    x0 = variable.numpy()
    new_losses, _ = optimizer.step(variable, evaluate, losses, gradient)
    assert float(new_losses["total"]) < float(losses["total"])
    moved = (variable.numpy() - x0).ravel()
    cosine = moved @ -gradient.numpy().ravel() / np.linalg.norm(moved) / np.linalg.norm(gradient)
    assert cosine > 0.9999  # steepest descent
    assert len(optimizer.pairs) == 1  # only the pair of this step
    np.testing.assert_allclose(optimizer.pairs[0][0].numpy(), variable.numpy() - x0)


def nan_beyond(limit, target):
    """f = |x - target|^2, but NaN wherever an entry exceeds `limit`."""
    def function(variable):
        value = tf.reduce_sum((variable - target) ** 2)
        return tf.where(tf.reduce_any(variable > limit), tf.constant(np.nan, value.dtype), value)
    return function


def test_nan_at_a_trial_point_backtracks():
    # The first trial is a unit step towards the target, to 1/sqrt(3) = 0.58 per entry:
    # NaN there. The step must shrink until the loss is finite and lower.
    variable = tf.Variable([0.0, 0.0, 0.0])
    trial_points = []
    evaluate = make_evaluate(nan_beyond(0.3, tf.constant(2.0)), variable, trial_points)
    losses, gradient = evaluate()
    new_losses, new_gradient = LBFGS(lower=-np.inf, upper=np.inf).step(
        variable, evaluate, losses, gradient)
    assert np.isnan(trial_points[1]).sum() == 0 and np.all(trial_points[1] > 0.3)
    assert len(trial_points) >= 3
    x = variable.numpy()
    assert np.all(x > 0.0) and np.all(x <= 0.3)
    assert np.isfinite(float(new_losses["total"]))
    assert float(new_losses["total"]) < float(losses["total"])
    np.testing.assert_allclose(float(new_losses["total"]), np.sum((x - 2.0) ** 2), rtol=1e-6)
    np.testing.assert_allclose(new_gradient.numpy(), 2 * (x - 2.0), rtol=1e-6)


def test_no_finite_trial_point_restores_the_variable_and_clears_memory():
    variable = tf.Variable([0.0, 0.0, 0.0])
    evaluate = make_evaluate(nan_beyond(0.0, tf.constant(2.0)), variable)  # NaN on any move
    losses, gradient = evaluate()
    optimizer = LBFGS(lower=-np.inf, upper=np.inf, max_line_search=6)
    optimizer._remember(tf.constant([1.0, 0.0, 0.0]), tf.constant([1.0, 0.0, 0.0]))
    new_losses, new_gradient = optimizer.step(variable, evaluate, losses, gradient)
    np.testing.assert_array_equal(variable.numpy(), [0.0, 0.0, 0.0])
    assert new_losses is losses and new_gradient is gradient
    assert optimizer.num_evaluations == 6
    assert optimizer.pairs == []


@pytest.mark.parametrize("memory", [0, -3])
def test_memory_must_be_positive(memory):
    with pytest.raises(ValueError, match=rf"memory must be >= 1, got {memory}"):
        LBFGS(memory=memory)
