"""stylize(resume=...): a run continued with its optimizer's state is the run that never stopped.

Ten steps in one go and five steps then five more from `result.optimizer_state`
must give the same image for each optimizer (Adam's moments and step count,
L-BFGS's memory and SGD's velocity are kept), while restarting from the image
alone (`init=result.image`) gives another one. Runs use the offline hed
weights, float32, on 32 x 40 px images.
"""

import numpy as np
import pytest

import nst_teach as nst

OPTIONS = {"progress": False, "verbose": False, "precision": "float32"}
LEARNING_RATES = {"adam": None, "lbfgs": None, "sgd": 3e-7}  # see test_optimize.py


@pytest.fixture
def content(tiny_image):
    return tiny_image(32, 40, seed=0)


@pytest.fixture
def style(tiny_image):
    return tiny_image(44, 36, seed=1)


def run(content, style, weights, **options):
    return nst.stylize(content, style, weights=weights, **{**OPTIONS, **options})


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", "sgd"])
def test_resumed_run_equals_the_uninterrupted_one(content, style, hed_weights, optimizer):
    rate = {"learning_rate": LEARNING_RATES[optimizer]}
    whole = run(content, style, hed_weights, optimizer=optimizer, num_steps=10, **rate)
    first = run(content, style, hed_weights, optimizer=optimizer, num_steps=5, **rate)
    assert isinstance(first.optimizer_state, nst.OptimizerState)
    assert first.optimizer_state.steps == 5 and first.optimizer_state.optimizer == optimizer
    second = run(content, style, hed_weights, optimizer=optimizer, num_steps=5,
                 resume=first.optimizer_state, **rate)
    assert second.settings["init"] == "resume"
    assert second.optimizer_state.steps == 10
    np.testing.assert_allclose(second.optimizer_state.image, whole.optimizer_state.image,
                               atol=2e-4)
    np.testing.assert_allclose(second.history[-1]["total"], whole.history[-1]["total"],
                               rtol=1e-3)
    if optimizer != "sgd":  # SGD without momentum has no state: a restart is the same run
        restarted = run(content, style, hed_weights, optimizer=optimizer, num_steps=5,
                        init=first.optimizer_state.image, **rate)
        assert np.abs(restarted.optimizer_state.image - whole.optimizer_state.image).max() > 1e-3


def test_adam_state_keeps_its_moments_and_step_count(content, style, hed_weights):
    first = run(content, style, hed_weights, optimizer="adam", num_steps=4)
    solver = first.optimizer_state.solver
    assert solver.iterations == 4 and solver.m.shape == content.shape
    run(content, style, hed_weights, optimizer="adam", num_steps=3,
        resume=first.optimizer_state)
    assert solver.iterations == 7  # the same object went on


def test_a_learning_rate_given_on_resume_replaces_the_state_one(content, style, hed_weights):
    first = run(content, style, hed_weights, optimizer="adam", num_steps=2)
    second = run(content, style, hed_weights, optimizer="adam", num_steps=1,
                 learning_rate=0.005, resume=first.optimizer_state)
    assert first.optimizer_state.solver.learning_rate == 0.005
    assert second.settings["learning_rate"] == 0.005


def test_no_state_for_a_coarse_to_fine_run_or_one_without_steps(content, style, hed_weights):
    assert run(content, style, hed_weights, num_steps=0).optimizer_state is None
    state = run(content, style, hed_weights, num_steps=2).optimizer_state
    stopped_at_once = run(content, style, hed_weights, num_steps=0, resume=state)
    assert stopped_at_once.optimizer_state is state  # a resume that took no step keeps it
    staged = run(content, style, hed_weights, num_steps=1, sizes=[24, 40])
    assert staged.optimizer_state is None


@pytest.mark.parametrize("change, message", [
    ({"optimizer": "lbfgs"}, r"state of 'adam', but optimizer is 'lbfgs'"),
    ({"init": "noise"}, r"Give init or resume, not both"),
    ({"optimizer_options": {"beta_1": 0.5}}, r"optimizer_options cannot change"),
    ({"sizes": [24, 40]}, r"one-size run: leave sizes=None"),
    ({"content_size": 36}, r"resume's image is 32 x 40 px but the content is 29 x 36"),
])
def test_a_resume_that_does_not_fit_is_refused(content, style, hed_weights, change, message):
    state = run(content, style, hed_weights, optimizer="adam", num_steps=1).optimizer_state
    options = {"optimizer": "adam", **change}
    if options.pop("content_size", None):
        content = nst.resize_to_max_size(content, 36)
    with pytest.raises(ValueError, match=message):
        run(content, style, hed_weights, num_steps=1, resume=state, **options)


def test_resume_must_be_an_optimizer_state(content, style, hed_weights):
    first = run(content, style, hed_weights, num_steps=1)
    with pytest.raises(ValueError, match="resume must be an earlier result's optimizer_state"):
        run(content, style, hed_weights, num_steps=1, resume=first)
