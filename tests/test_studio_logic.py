"""nst_teach.widgets.studio_logic: the Studio's decisions, without ipywidgets."""

import types

import numpy as np
import pytest

import nst_teach as nst
from nst_teach.callbacks import Run
from nst_teach.widgets import studio_logic

WEIGHTS = {("content w.", "content_weight"): 1e4, ("style w.", "style_weight"): 1.0,
           ("tv w.", "tv_weight"): 1.0}


def test_run_settings_are_stylize_keywords():
    settings = studio_logic.run_settings("lbfgs", 12.0, WEIGHTS, "block4_conv2",
                                         ["block1_conv1", "block2_conv1"])
    assert settings == {"optimizer": "lbfgs", "num_steps": 12, "content_weight": 1e4,
                        "style_weight": 1.0, "tv_weight": 1.0,
                        "content_layers": ["block4_conv2"],
                        "style_layers": ["block1_conv1", "block2_conv1"]}
    nst.settings.split_options(**settings)  # every key is a stylize option


def test_run_settings_refuse_negative_weights_and_no_style_layer():
    with pytest.raises(ValueError, match="style w. is -1"):
        studio_logic.run_settings("adam", 5, {**WEIGHTS, ("style w.", "style_weight"): -1.0},
                                  "block5_conv2", ["block1_conv1"])
    with pytest.raises(ValueError, match="at least one style layer"):
        studio_logic.run_settings("adam", 5, WEIGHTS, "block5_conv2", [])


def test_preset_values_follow_the_preset_and_the_size_range():
    preset = nst.presets.get("classroom")
    values = studio_logic.preset_values("classroom", (64, 512))
    assert values == {"optimizer": preset.optimizer, "num_steps": preset.num_steps,
                      "image_size": preset.image_size, "strength": preset.strength}
    assert studio_logic.preset_values("classroom", (64, 128))["image_size"] == 128
    with pytest.raises(ValueError):
        studio_logic.preset_values("no such preset", (64, 512))


def test_upload_problem_says_why():
    assert studio_logic.upload_problem(True, "a.png", 10) == studio_logic.BUSY
    assert studio_logic.upload_problem(False, "a.png", 10) is None
    assert "a.png" in studio_logic.upload_problem(False, "a.png", 10**9)


def test_start_image_resizes_an_image_and_keeps_a_name(tiny_image):
    image = tiny_image(32, 48)
    assert studio_logic.start_image("noise", (1, 16, 24, 3)) == "noise"
    assert studio_logic.start_image(image, (1, 16, 24, 3)).shape == (1, 16, 24, 3)
    assert studio_logic.start_image(image, image.shape) is image  # Continue: the same image


def test_start_status_names_the_memory_warning():
    status, warning = studio_logic.start_status("CPU", "adam", (2048, 2048), "vgg19", 200, 100.0)
    assert warning is not None and warning in status and status.startswith("Starting · CPU")
    status, warning = studio_logic.start_status("CPU", "adam", (64, 64), "vgg16", 10, 1e9)
    assert warning is None and status == "Starting · CPU · adam ..."


def test_step_and_result_status_lines():
    run = Run(num_steps=10, device="CPU", settings={}, get_image=lambda: None,
              get_best_image=lambda: None)
    run.step = 3
    run.history.append({"step": 3, "total": 12.5})
    assert studio_logic.step_status(run).startswith("step 3 / 10 · ")
    assert "total loss 12.5" in studio_logic.step_status(run)
    result = types.SimpleNamespace(message="Completed 3 steps.", history=[{"time": 2.0}],
                                   device="CPU", best_step=3, losses={"total": 12.5})
    assert studio_logic.result_status(result) == (
        "Completed 3 steps. 2.0 s on CPU; showing the best image (step 3, total loss 12.5).")
    assert studio_logic.image_note("style", "swirls", np.zeros((1, 4, 6, 3))) == \
        "style: swirls, 4 × 6 px."


# ----- the controls of lessons 09 and 10, the filmstrip, compare and Continue -----

def test_control_settings_are_stylize_keywords():
    settings = studio_logic.control_settings("adam", 0.03, "average", 0.5, "colour matching")
    assert settings == {"learning_rate": 0.03, "pooling": "average", "style_scale": 0.5,
                        "preserve_colors": "color_matching"}
    nst.settings.split_options(**settings)
    assert studio_logic.control_settings("lbfgs", 0.0, "max", 1.0, "off")["learning_rate"] is None
    with pytest.raises(ValueError, match="learning rate must be > 0; it is -1"):
        studio_logic.control_settings("sgd", -1, "max", 1.0, "off")


@pytest.mark.parametrize("preset", list(studio_logic.MASK_PRESETS))
def test_mask_pairs_are_complementary_at_any_size(preset):
    for size in [(32, 48), (17, 9)]:
        first, second = studio_logic.mask_pair(preset, size)
        assert first.shape == second.shape == (1, *size, 1) and first.dtype == np.float32
        np.testing.assert_array_equal(first + second, 1.0)
        assert 0 < first.mean() < 1  # both styles get a region


def test_mask_pair_regions_and_unknown_preset():
    first, _ = studio_logic.mask_pair("left | right", (4, 8))
    np.testing.assert_array_equal(first[0, :, :, 0], [[1] * 4 + [0] * 4] * 4)
    centre, _ = studio_logic.mask_pair("ellipse | outside", (21, 21))
    assert centre[0, 10, 10, 0] == 1 and centre[0, 0, 0, 0] == 0
    with pytest.raises(ValueError, match="Unknown mask preset 'diagonal'"):
        studio_logic.mask_pair("diagonal", (8, 8))


def test_mask_picture_dims_the_second_region_only():
    content = np.full((1, 4, 8, 3), 0.8, np.float32)
    first, _ = studio_logic.mask_pair("left | right", (4, 8))
    picture = studio_logic.mask_picture(content, first)
    np.testing.assert_allclose(picture[0, :, :4], 0.8)
    np.testing.assert_allclose(picture[0, :, 4:], 0.8 * nst.masks.DIMMING)


@pytest.mark.parametrize("num_steps, frames, expected", [
    (200, 5, [0, 50, 100, 150, 200]), (5, 6, [0, 1, 2, 3, 4, 5]), (3, 6, [0, 1, 2, 3]),
    (100, 6, [0, 20, 40, 60, 80, 100])])
def test_filmstrip_steps(num_steps, frames, expected):
    assert studio_logic.filmstrip_steps(num_steps, frames) == expected


def test_settings_lines_bold_what_differs_and_escape():
    lines = studio_logic.settings_lines({"optimizer": "adam", "style": "<x>", "tv": 1.0},
                                        {"optimizer": "adam", "style": "<x>", "tv": 0.0})
    assert lines == ["optimizer: adam", "style: &lt;x&gt;", "<b>tv: 1.0</b>"]
    assert studio_logic.settings_lines({"tv": 1.0}) == ["tv: 1.0"]


def test_continue_plan_resumes_only_when_nothing_that_matters_changed():
    state = nst.OptimizerState("adam", solver=None, image=np.zeros((1, 2, 2, 3)), steps=7)
    last = {"optimizer": "adam", "num_steps": 5, "pooling": "max", "start": "content"}
    resume, note = studio_logic.continue_plan(last, {**last, "num_steps": 50, "start": "noise"},
                                              state)
    assert resume and "resumes adam from its last step (7 steps so far)" in note
    resume, note = studio_logic.continue_plan(last, {**last, "pooling": "average"}, state)
    assert not resume and "pooling changed since the last run" in note
    resume, note = studio_logic.continue_plan(last, last, None)
    assert not resume and "afresh" in note
