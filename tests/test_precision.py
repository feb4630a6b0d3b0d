"""Mixed precision: the convolutions in bfloat16, Gram matrices and losses in float32."""

import numpy as np
import pytest
import tensorflow as tf

import nst_teach as nst
from nst_teach import config
from nst_teach.features import FeatureExtractor

LAYERS = ["block1_conv1", "block3_conv1", "block5_conv2"]


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    with_bf16 = tmp_path / "with"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx2\n")
    without = tmp_path / "without"
    without.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx2\n")
    assert config.cpu_has_bfloat16(with_bf16) is True
    assert config.cpu_has_bfloat16(without) is False
    assert config.cpu_has_bfloat16(tmp_path / "missing") is False


def test_resolve_precision_resolves_auto_and_the_environment(monkeypatch):
    monkeypatch.delenv(config.PRECISION_VARIABLE, raising=False)
    assert config.resolve_precision("float32") == "float32"
    assert config.resolve_precision("bfloat16", gpu=True) == "bfloat16"  # asked for: kept
    assert config.resolve_precision("auto", gpu=True) == "float32"  # GPUs: float32 unless asked
    monkeypatch.setattr(config, "cpu_has_bfloat16", lambda cpuinfo="/proc/cpuinfo": True)
    assert config.resolve_precision("auto", gpu=False) == "bfloat16"
    assert config.resolve_precision("auto", gpu=True) == "float32"
    monkeypatch.setattr(config, "cpu_has_bfloat16", lambda cpuinfo="/proc/cpuinfo": False)
    assert config.resolve_precision("auto", gpu=False) == "float32"
    monkeypatch.setenv(config.PRECISION_VARIABLE, "float32")
    assert config.resolve_precision("auto", gpu=False) == "float32"
    assert config.resolve_precision("bfloat16") == "bfloat16"  # an argument beats the variable
    monkeypatch.setenv(config.PRECISION_VARIABLE, "half")
    with pytest.raises(ValueError, match="NST_TEACH_PRECISION"):
        config.resolve_precision("auto")
    with pytest.raises(ValueError, match="precision must be one of"):
        config.resolve_precision("double")


def test_bfloat16_activations_are_float32_and_close(hed_weights, tiny_image):
    image = tiny_image(64, 64, seed=3)
    exact = FeatureExtractor(hed_weights, LAYERS)(image)
    fast = FeatureExtractor(hed_weights, LAYERS, precision="bfloat16")(image)
    for name in LAYERS:
        assert fast[name].dtype == tf.float32 and fast[name].shape == exact[name].shape
        error = tf.norm(fast[name] - exact[name]) / tf.norm(exact[name])
        assert 0 < float(error) < 0.03, name  # bfloat16 keeps 8 bits of mantissa
    with pytest.raises(ValueError, match="precision must be one of"):
        FeatureExtractor(hed_weights, LAYERS, precision="int8")


def test_bfloat16_gradients_point_the_same_way(hed_weights, tiny_image):
    content, style = tiny_image(48, 48, seed=1), tiny_image(48, 48, seed=2)
    gradients = {}
    for dtype in ("float32", "bfloat16"):
        loss = nst.StyleTransferLoss(hed_weights, content, style, precision=dtype,
                                     content_weight=1e4, style_weight=1.0, tv_weight=1.0)
        image = tf.Variable(tiny_image(48, 48, seed=4))
        with tf.GradientTape() as tape:
            total = loss(image)["total"]
        gradients[dtype] = tape.gradient(total, image).numpy().ravel()
        assert loss.settings()["precision"] == dtype
    exact, fast = gradients["float32"], gradients["bfloat16"]
    cosine = exact @ fast / (np.linalg.norm(exact) * np.linalg.norm(fast))
    assert cosine > 0.99


def test_stylize_reports_and_honours_its_precision(hed_weights, tiny_image):
    content, style = tiny_image(32, 32, seed=1), tiny_image(32, 32, seed=2)
    runs = {}
    for precision in ("float32", "bfloat16"):
        runs[precision] = nst.stylize(content, style, weights=hed_weights, num_steps=3,
                                      precision=precision, progress=False, verbose=False)
        assert runs[precision].settings["precision"] == precision
    exact = nst.compute_losses(runs["bfloat16"].image, content, style, weights=hed_weights,
                               precision="float32")["total"]
    assert exact == pytest.approx(runs["bfloat16"].losses["total"], rel=0.01)
    assert runs["float32"].history[0]["total"] == pytest.approx(
        runs["bfloat16"].history[0]["total"], rel=0.01)
    with pytest.raises(ValueError, match="precision must be one of"):
        nst.stylize(content, style, weights=hed_weights, num_steps=1, precision="fp8",
                    progress=False, verbose=False)
