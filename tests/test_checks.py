"""The exercise checks' report, and the checks that take numbers, not functions.

Right and wrong answers of the function checks: test_checks_wrong_answers.py.
"""

import numpy as np
import pytest

import nst_teach as nst
from nst_teach import checks


def test_compare_reports_exact_close_and_wrong(capsys):
    reference = np.array([1.0, 2.0, 3.0])
    assert checks.compare("same", reference.copy(), reference)
    assert checks.compare("close", reference + 1e-7, reference)
    assert not checks.compare("far", reference + 0.5, reference, hint="look again")
    assert not checks.compare("shape", reference[:2], reference)
    lines = capsys.readouterr().out.splitlines()
    assert "✓ exact" in lines[0] and "✓ close" in lines[1]
    assert "✗ wrong" in lines[2] and "max difference 0.5" in lines[2] and "look again" in lines[2]
    assert "shape (2,)" in lines[3]


def test_feature_shapes(capsys):
    right = {"block1_conv1": (224, 224, 64), "block3_pool": (28, 28, 256),
             "block5_conv1": (14, 14, 512)}
    assert checks.check_feature_shapes(right, backbone="vgg16")
    assert not checks.check_feature_shapes({"block3_pool": (56, 56, 256)}, backbone="vgg16")
    assert not checks.check_feature_shapes({"block3_pool": None}, backbone="vgg16")
    output = capsys.readouterr().out
    assert output.count("✗") == 2


def test_check_style_weight_has_a_window(hed_weights, tiny_image, capsys):
    content, style = tiny_image(32, 32, seed=1), tiny_image(32, 32, seed=2)
    arguments = (content, style, hed_weights)
    assert checks.check_style_weight(None, *arguments) is False
    assert "not a number" in capsys.readouterr().out
    assert checks.check_style_weight(-1.0, *arguments) is False
    tiny = checks.check_style_weight(1e-6, *arguments, num_steps=5)
    assert tiny is False and "larger style weight" in capsys.readouterr().out
    huge = checks.check_style_weight(1e6, *arguments, num_steps=5)
    assert huge is False and "smaller style weight" in capsys.readouterr().out
    assert checks.check_style_weight(1e6, *arguments, low=0.0, high=1.0, num_steps=5)
    assert "✓ the style term fell by" in capsys.readouterr().out


def test_style_loss_reduction_reads_the_best_step():
    result = nst.StyleTransferResult(
        image=np.zeros((1, 2, 2, 3), np.float32), status="completed", message="", device="CPU",
        settings={}, best_step=1,
        history=[{"style": 10.0}, {"style": 2.5}, {"style": 4.0}])
    assert checks.style_loss_reduction(result) == pytest.approx(0.75)
