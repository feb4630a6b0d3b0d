"""Profiles: detecting Binder, Colab, fast mode or a local machine; overrides; one announcement."""

import dataclasses

import pytest

import nst_teach as nst
from nst_teach import profiles

REAL_HAS_GPU = profiles.has_gpu  # the fixture below replaces it


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Every test starts with no profile chosen or announced, and no profile variables."""
    monkeypatch.setattr(profiles, "_STATE", {"chosen": None, "announced": None})
    monkeypatch.delenv(profiles.PROFILE_VARIABLE, raising=False)
    monkeypatch.delenv("NST_TEACH_FAST", raising=False)
    for name in profiles.BINDER_VARIABLES + profiles.COLAB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(profiles, "has_gpu", lambda: False)  # this machine has none anyway


@pytest.mark.parametrize("environ, modules, gpu, expected", [
    ({}, {}, False, "local"),
    ({}, {}, True, "local-gpu"),
    ({"NST_TEACH_FAST": "1"}, {"google.colab": object()}, True, "fast"),
    ({"NST_TEACH_FAST": "0"}, {}, False, "local"),
    ({"BINDER_REPO_URL": "https://github.com/nst-teach/nst_teach"}, {}, False, "binder"),
    ({"BINDER_LAUNCH_HOST": "https://mybinder.org/"}, {}, False, "binder"),
    ({"BINDER_SERVICE_HOST": "10.0.0.1"}, {}, False, "binder"),
    ({"BINDER_REPO_URL": ""}, {}, False, "local"),  # set but empty: not Binder
    ({}, {"google.colab": object()}, False, "colab"),
    ({}, {"google.colab": object()}, True, "colab-gpu"),
    ({"COLAB_RELEASE_TAG": "release-colab_20261120"}, {}, True, "colab-gpu"),
])
def test_detection(environ, modules, gpu, expected):
    name, reason = profiles.detect_profile_name(environ, modules, gpu)
    assert name == expected
    assert reason


def test_detection_asks_tensorflow_for_the_gpu_only_when_it_matters(monkeypatch):
    asked = []
    monkeypatch.setattr(profiles, "has_gpu", lambda: asked.append(1) or True)
    assert profiles.detect_profile_name({"BINDER_REQUEST": "v2/gh/x/y/main"}, {})[0] == "binder"
    assert asked == []  # Binder has no GPU: TensorFlow is not asked
    assert profiles.detect_profile_name({}, {})[0] == "local-gpu"
    assert asked == [1]


def test_has_gpu_agrees_with_the_device_stylize_uses():
    assert REAL_HAS_GPU() == nst.device_name().startswith("GPU")


def test_the_documented_defaults():
    assert profiles.PROFILES["binder"].image_size == 256
    assert profiles.PROFILES["colab-gpu"].image_size == 512
    assert profiles.PROFILES["local"].image_size == 256
    assert profiles.PROFILES["fast"].image_size == 64
    assert profiles.PROFILES["binder"].memory_budget_mb == 2048
    binder, local = profiles.PROFILES["binder"], profiles.PROFILES["local"]
    assert binder.optimizer == nst.settings.DEFAULT_OPTIMIZER
    assert binder.num_steps < nst.settings.OPTIMIZER_DEFAULTS[binder.optimizer]["num_steps"]  # lean
    assert binder.preview_seconds > local.preview_seconds
    assert binder.backbone == "vgg16"
    for profile in profiles.PROFILES.values():
        profiles._check_profile(profile)  # every registered profile is valid


def test_current_profile_detects_and_announces_once(monkeypatch, capsys):
    monkeypatch.setenv("BINDER_REPO_URL", "https://github.com/nst-teach/nst_teach")
    first = nst.current_profile()
    second = nst.current_profile()
    assert first == second and first.name == "binder"
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "profile 'binder'" in lines[0] and "BINDER_REPO_URL" in lines[0]
    assert "256 px" in lines[0] and "nst.use_profile" in lines[0]


def test_announce_false_prints_nothing(capsys):
    assert nst.current_profile(announce=False).name == "local"
    assert capsys.readouterr().err == ""


def test_fast_mode_gives_the_fast_profile(monkeypatch):
    monkeypatch.setenv("NST_TEACH_FAST", "1")
    profile = nst.current_profile(announce=False)
    assert profile.name == "fast" and profile.image_size == 64 and profile.num_steps == 10


def test_environment_variable_overrides_detection(monkeypatch):
    monkeypatch.setenv("BINDER_REPO_URL", "https://github.com/nst-teach/nst_teach")
    monkeypatch.setenv(profiles.PROFILE_VARIABLE, "Colab-GPU ")
    profile = nst.current_profile(announce=False)
    assert profile.name == "colab-gpu" and "NST_TEACH_PROFILE" in profile.reason


def test_unknown_name_in_the_variable_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(profiles.PROFILE_VARIABLE, "bindr")
    with pytest.raises(ValueError, match="Unknown profile 'bindr'.*binder"):
        nst.current_profile()


def test_use_profile_overrides_variable_and_detection(monkeypatch, capsys):
    monkeypatch.setenv(profiles.PROFILE_VARIABLE, "binder")
    profile = nst.use_profile("local", image_size=384, max_image_size=768)
    assert (profile.name, profile.image_size, profile.max_image_size) == ("local", 384, 768)
    assert nst.current_profile() == profile
    assert "image_size=384" in profile.reason
    assert capsys.readouterr().err.count("profile 'local'") == 1  # announced once
    assert profiles.PROFILES["local"].image_size == 256  # the registered one is unchanged
    back = nst.use_profile(None)
    assert back.name == "binder"  # the variable again


@pytest.mark.parametrize("name, overrides, message", [
    ("laptop", {}, "Unknown profile 'laptop'"),
    ("local", {"size": 300}, "no setting size"),
    ("local", {"image_size": 0}, "image_size must be a whole number"),
    ("local", {"image_size": 1024}, "max_image_size .* is smaller"),
    ("local", {"optimizer": "rmsprop"}, "optimizer must be one of"),
    ("local", {"num_steps": -1}, "num_steps must be a whole number"),
    ("local", {"backbone": "resnet"}, "backbone must be"),
    ("local", {"preview_seconds": 0}, "preview_seconds must be > 0"),
    ("local", {"memory_budget_mb": -5}, "memory_budget_mb must be > 0"),
])
def test_bad_choices_are_clear_errors(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        nst.use_profile(name, **overrides)
    assert profiles._STATE["chosen"] is None  # nothing changed


def test_use_profile_none_takes_no_settings():
    with pytest.raises(ValueError, match="takes no settings"):
        nst.use_profile(None, image_size=128)


def test_steps_for_scales_the_lean_steps_to_other_optimizers():
    defaults = nst.settings.OPTIMIZER_DEFAULTS
    binder = profiles.PROFILES["binder"]
    fraction = binder.num_steps / defaults["adam"]["num_steps"]
    assert binder.steps_for("adam") == binder.num_steps
    assert binder.steps_for("lbfgs") == round(fraction * defaults["lbfgs"]["num_steps"])
    assert profiles.PROFILES["local"].steps_for("lbfgs") is None  # stylize's default
    with pytest.raises(ValueError, match="Unknown optimizer"):
        binder.steps_for("newton")


def test_profiles_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        profiles.PROFILES["local"].image_size = 1024
