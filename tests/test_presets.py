"""nst_teach.presets: named settings and the one-knob strength."""

import math

import pytest

import nst_teach as nst
from nst_teach import presets
from nst_teach.settings import OPTIMIZER_DEFAULTS


def test_presets_are_listed_fastest_first_and_found_by_name():
    assert presets.names() == ["preview", "classroom", "quality"]
    listed = presets.list_presets()
    assert [preset.name for preset in listed] == presets.names()
    costs = [preset.image_size ** 2 * preset.num_steps for preset in listed]
    assert costs == sorted(costs) and len(set(costs)) == len(costs)
    for preset in listed:
        assert presets.get(preset.name) is preset
        assert preset.optimizer in OPTIMIZER_DEFAULTS
        assert preset.description and preset.num_steps > 0 and preset.strength > 0


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ValueError, match="preview, classroom, quality"):
        presets.get("best")


@pytest.mark.parametrize("source", ["hed", "imagenet"])
def test_strength_multiplies_only_the_style_weight(source):
    defaults = nst.default_loss_weights(source)
    assert presets.strength_to_weights(1.0, source) == defaults
    stronger = presets.strength_to_weights(10.0, source)
    assert stronger["style_weight"] == pytest.approx(10.0 * defaults["style_weight"])
    assert stronger["content_weight"] == defaults["content_weight"]
    assert stronger["tv_weight"] == defaults["tv_weight"]
    assert presets.weights_to_strength(stronger["style_weight"], source) == pytest.approx(10.0)


def test_strength_takes_loaded_weights(hed_weights):
    assert presets.strength_to_weights(0.5, hed_weights) == presets.strength_to_weights(0.5, "hed")


@pytest.mark.parametrize("strength", [0, -1.0, math.inf, math.nan, "strong", None])
def test_bad_strength_says_what_works(strength):
    with pytest.raises(ValueError, match="finite number > 0"):
        presets.strength_to_weights(strength, "hed")
    with pytest.raises(ValueError, match="finite number > 0"):
        presets.weights_to_strength(strength, "hed")


def test_stylize_options_are_accepted_by_stylize(hed_weights, tiny_image):
    options = presets.get("preview").stylize_options(hed_weights)
    assert set(options) == {"optimizer", "num_steps", "content_weight", "style_weight",
                            "tv_weight"}
    options["num_steps"] = 2  # the options are stylize's keyword arguments; 2 steps suffice
    result = nst.stylize(tiny_image(32, 32, seed=1), tiny_image(32, 32, seed=2),
                         weights=hed_weights, progress=False, verbose=False, **options)
    assert result.status == "completed"
    assert result.settings["optimizer"] == "adam"
    assert result.history[-1]["total"] < result.history[0]["total"]


def test_presets_module_is_exposed_on_the_package():
    assert nst.presets is presets
