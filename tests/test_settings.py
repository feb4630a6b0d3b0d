"""nst_teach.settings: options defined and validated once."""

import dataclasses

import pytest

import nst_teach as nst
from nst_teach.settings import ControlSettings, LossSettings, RunSettings, split_options


@pytest.mark.parametrize("options, message", [
    ({"style_weight": -1}, "style_weight must be a number >= 0"),
    ({"tv_weight": float("nan")}, "tv_weight must be a number >= 0"),
    ({"pooling": "min"}, "pooling must be 'max' or 'average'"),
    ({"style_statistic": "gramm"}, "style_statistic must be"),
    ({"precision": "double"}, "precision must be one of"),
    ({"style_layers": "block1_conv1"}, "must be a list"),
    ({"style_scale": 0}, "style_scale must be a number > 0"),
    ({"preserve_colors": "yes"}, "preserve_colors must be"),
    ({"optimizer": "rmsprop"}, "Unknown optimizer"),
    ({"learning_rate": 0}, "learning_rate must be > 0"),
    ({"optimizer": "sgd", "learning_rate": lambda step: 1e-5}, "schedule needs optimizer='adam'"),
    ({"init": "photo"}, "Unknown init"),
    ({"optimizer": "adam", "optimizer_options": {"memory": 5}}, "do not fit adam"),
    ({"stlye_weight": 1}, "Did you mean 'style_weight'"),
])
def test_bad_options_fail_when_the_settings_are_made(options, message):
    with pytest.raises(ValueError, match=message):
        split_options(**options)


def test_stylize_checks_options_before_loading_weights(monkeypatch):
    def no_weights(*args, **kwargs):
        raise AssertionError("weights were loaded before the options were checked")

    monkeypatch.setattr(nst.optimize, "resolve_weights", no_weights)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        nst.stylize(nst.core.resize_image(nst.sample_image("swirls"), (32, 32)),
                    nst.core.resize_image(nst.sample_image("swirls"), (32, 32)),
                    learning_rate=-1.0, progress=False, verbose=False)


def test_defaults_are_filled_from_the_weights_and_the_optimizer():
    loss = LossSettings(style_weight=2.0)
    options = loss.loss_options(nst.BackboneWeights("vgg16", "hed", {}))
    assert options["style_weight"] == 2.0
    assert options["content_weight"] == nst.default_loss_weights("hed")["content_weight"]
    assert RunSettings("lbfgs").num_steps == nst.settings.OPTIMIZER_DEFAULTS["lbfgs"]["num_steps"]
    assert RunSettings("adam", learning_rate=0.5).resolved_learning_rate == 0.5
    assert RunSettings("lbfgs").resolved_learning_rate is None
    assert ControlSettings(sizes=[64, 128]).sizes == [64, 128]
    assert loss.layers == [*nst.DEFAULT_CONTENT_LAYERS, *nst.DEFAULT_STYLE_LAYERS]


def test_every_stylize_keyword_is_an_option_of_one_settings_class():
    import inspect

    keywords = set(inspect.signature(nst.stylize).parameters) - {
        "content", "style", "backbone", "weights", "callbacks", "progress", "stop_event",
        "verbose"}
    fields = {field.name for cls in nst.settings.SETTINGS_CLASSES
              for field in dataclasses.fields(cls) if field.init}
    assert keywords == fields
