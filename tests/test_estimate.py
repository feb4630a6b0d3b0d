"""The cost estimator: measured points reproduced, interpolation, monotonicity, the 2 GB warning.

The honest comparison with a fresh measurement is in benchmarks/measure_costs.py
(`--check SIZE`), not here: timings do not belong in tests.
"""

import itertools
import warnings

import pytest

import nst_teach as nst
from nst_teach import estimate, profiles
from nst_teach.config import resolve_precision
from nst_teach.settings import OPTIMIZER_DEFAULTS

TABLE = estimate.load_cost_table()
PRECISIONS = ("float32", "bfloat16")
SERIES = [(backbone, optimizer, precision) for backbone in estimate.BACKBONES
          for optimizer in ("lbfgs", "adam") for precision in PRECISIONS]

# A made-up table whose values lie on known straight lines, to test the arithmetic.
LINEAR = {"machine": {"cpu": "test CPU", "cores": 1}, "date": "2026-01-01", "measurements": [
    {"backbone": "vgg16", "optimizer": "lbfgs", "precision": "float32", "height": h, "width": h, "pixels": h * h,
     "seconds_per_step": 0.1 + 1e-6 * h * h, "setup_seconds": 1.0 + 1e-5 * h * h,
     "peak_memory_mb": 600.0 + 0.01 * h * h} for h in (100, 200, 400)]}


def test_table_says_where_and_when_it_was_measured():
    assert TABLE["machine"]["cores"] >= 1 and TABLE["machine"]["cpu"]
    assert TABLE["date"] and "measure_costs.py" in TABLE["command"]
    for backbone, optimizer, precision in SERIES:
        assert len(estimate.cost_series(backbone, optimizer, precision=precision)) >= 3, (
            backbone, optimizer, precision)


@pytest.mark.parametrize("record", TABLE["measurements"],
                         ids=lambda r: f"{r['backbone']}-{r['optimizer']}-{r['precision']}-"
                                       f"{r['height']}")
def test_reproduces_every_measured_point(record):
    result = nst.estimate_cost((record["height"], record["width"]), backbone=record["backbone"],
                               optimizer=record["optimizer"], num_steps=7,
                               precision=record["precision"])
    assert result.seconds_per_step == pytest.approx(record["seconds_per_step"])
    assert result.setup_seconds == pytest.approx(record["setup_seconds"])
    assert result.peak_memory_mb == pytest.approx(record["peak_memory_mb"])
    assert result.total_seconds == pytest.approx(record["setup_seconds"]
                                                 + 7 * record["seconds_per_step"])


@pytest.mark.parametrize("backbone, optimizer, precision", SERIES)
def test_monotone_in_image_size(backbone, optimizer, precision):
    estimates = [nst.estimate_cost(side, backbone, optimizer, precision=precision)
                 for side in range(16, 1537, 16)]
    for smaller, larger in itertools.pairwise(estimates):
        assert larger.seconds_per_step >= smaller.seconds_per_step
        assert larger.peak_memory_mb >= smaller.peak_memory_mb
        assert larger.total_seconds >= smaller.total_seconds


def test_interpolates_on_straight_lines_between_points():
    middle = nst.estimate_cost((150, 300), num_steps=10, table=LINEAR,
                               precision="float32")  # 45000 px
    assert middle.seconds_per_step == pytest.approx(0.1 + 0.045)
    assert middle.peak_memory_mb == pytest.approx(600.0 + 450.0)
    beyond = nst.estimate_cost(800, table=LINEAR, precision="float32")  # past the largest: the last segment extended
    assert beyond.peak_memory_mb == pytest.approx(600.0 + 0.01 * 800 * 800)
    assert estimate.interpolate(0.0, [10.0, 20.0], [5.0, 100.0]) == 0.0  # never below 0


def test_fitted_lines_recover_a_linear_table():
    model = estimate.fit_cost_model("vgg16", "lbfgs", table=LINEAR, precision="float32")
    assert model["seconds_per_step"] == pytest.approx((0.1, 1e-6))
    assert model["peak_memory_mb"] == pytest.approx((600.0, 0.01))
    assert model["setup_seconds"] == pytest.approx((1.0, 1e-5))


def test_measured_cost_grows_with_the_pixels():
    for backbone, optimizer, precision in SERIES:
        model = estimate.fit_cost_model(backbone, optimizer, precision=precision)
        assert model["seconds_per_step"][1] > 0 and model["peak_memory_mb"][1] > 0
        assert model["peak_memory_mb"][0] > 300  # TensorFlow's own share, before any image


def test_defaults_square_images_steps_and_sgd():
    square = nst.estimate_cost(256)
    assert (square.height, square.width, square.pixels) == (256, 256, 65536)
    assert square.num_steps == OPTIMIZER_DEFAULTS["lbfgs"]["num_steps"]
    assert nst.estimate_cost(256, optimizer="adam").num_steps == OPTIMIZER_DEFAULTS["adam"][
        "num_steps"]
    sgd, adam = nst.estimate_cost(300, optimizer="sgd"), nst.estimate_cost(300, optimizer="adam")
    assert sgd.seconds_per_step == adam.seconds_per_step  # one gradient per step, like Adam
    assert "cores" in square.measured_on and str(square).startswith("256 x 256 px")


def test_warns_above_the_two_gigabyte_budget_and_not_below():
    for backbone, optimizer, precision in SERIES:
        largest = estimate.largest_size_within(2048, backbone, optimizer, precision=precision)
        assert largest is not None and largest >= 256
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any warning fails the test
            fits = estimate.warn_if_too_large(largest, backbone, optimizer, precision=precision)
        assert fits.warning is None and fits.peak_memory_mb <= 2048
        with pytest.warns(nst.MemoryBudgetWarning, match="more than the budget of 2 GB") as caught:
            too_large = estimate.warn_if_too_large(largest + 16, backbone, optimizer,
                                                   precision=precision)
        assert too_large.peak_memory_mb > 2048
        assert f"at most {largest} px" in str(caught[0].message)
        assert caught[0].filename == __file__  # points at the caller's line


def test_no_budget_never_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = estimate.warn_if_too_large(2048, "vgg19", memory_budget_mb=None)
    assert result.warning is None and result.peak_memory_mb > 2048


def test_binder_profile_fits_binder_memory():
    """Binder's defaults, and the lessons' "auto" weights there (ImageNet VGG19), fit in 2 GB."""
    binder = profiles.PROFILES["binder"]
    for size in (binder.image_size, binder.max_image_size):
        result = nst.estimate_cost(size, binder.backbone, binder.optimizer)
        assert result.warning is None, result.warning
    assert nst.estimate_cost(binder.image_size, "vgg19", "lbfgs").warning is None


@pytest.mark.parametrize("arguments, message", [
    ({"image_size": 8}, "at least 16 px"),
    ({"image_size": "256"}, "whole number of pixels"),
    ({"image_size": 256.0}, "whole number of pixels"),
    ({"image_size": True}, "whole number of pixels"),
    ({"image_size": (256,)}, r"\(height, width\)"),
    ({"image_size": 256, "backbone": "resnet50"}, "Unknown backbone 'resnet50'"),
    ({"image_size": 256, "optimizer": "rmsprop"}, "Unknown optimizer 'rmsprop'"),
    ({"image_size": 256, "num_steps": -1}, "num_steps must be a whole number"),
    ({"image_size": 256, "num_steps": 2.5}, "num_steps must be a whole number"),
    ({"image_size": 256, "memory_budget_mb": 0}, "memory_budget_mb must be > 0"),
])
def test_bad_input_is_a_clear_value_error(arguments, message):
    with pytest.raises(ValueError, match=message):
        nst.estimate_cost(**arguments)


def test_too_few_measurements_is_a_clear_error():
    table = {"measurements": LINEAR["measurements"][:1]}
    with pytest.raises(ValueError, match="at least 2 are needed: run benchmarks/measure_costs"):
        nst.estimate_cost(256, table=table, precision="float32")
    with pytest.raises(ValueError, match="0 measurement.* in bfloat16.*--precision bfloat16"):
        nst.estimate_cost(256, table=LINEAR, precision="bfloat16")


def test_auto_precision_is_what_stylize_uses_on_this_cpu():
    resolved = resolve_precision("auto", gpu=False)
    assert nst.estimate_cost(256) == nst.estimate_cost(256, precision=resolved)
    with pytest.raises(ValueError, match="precision must be one of"):
        nst.estimate_cost(256, precision="double")


def test_each_precision_reads_its_own_measurements():
    """A table with float32 and bfloat16 rows: each precision is estimated from its own rows
    only (a bfloat16 row twice as fast gives an estimate twice as fast), and "auto" follows
    what `resolve_precision` picks for a CPU."""
    halved = [{**record, "precision": "bfloat16",
               "seconds_per_step": record["seconds_per_step"] / 2,
               "peak_memory_mb": record["peak_memory_mb"] - 100}
              for record in LINEAR["measurements"]]
    table = {**LINEAR, "measurements": [*LINEAR["measurements"], *halved]}
    exact = nst.estimate_cost(200, table=table, precision="float32")
    fast = nst.estimate_cost(200, table=table, precision="bfloat16")
    assert fast.seconds_per_step == pytest.approx(exact.seconds_per_step / 2)
    assert fast.peak_memory_mb == pytest.approx(exact.peak_memory_mb - 100)
    auto = nst.estimate_cost(200, table=table)
    expected = fast if resolve_precision("auto", gpu=False) == "bfloat16" else exact
    assert auto.seconds_per_step == pytest.approx(expected.seconds_per_step)


def test_studio_run_warns_when_the_estimate_exceeds_the_profile_budget(hed_weights, tiny_image,
                                                                       monkeypatch):
    from nst_teach import widgets

    monkeypatch.setattr(profiles, "_STATE", {"chosen": None, "announced": None})
    nst.use_profile("local", memory_budget_mb=1)  # 1 MB: any run exceeds it
    studio = widgets.Studio(tiny_image(32, 32), tiny_image(32, 32, seed=1), weights=hed_weights,
                            max_size=32)
    studio.steps.value = 1
    with pytest.warns(nst.MemoryBudgetWarning, match="32 x 32 px with vgg16"):
        studio.run(blocking=True)
    assert studio.error is None and studio.image is not None  # a warning, not a stop
    nst.use_profile("local")  # Binder's budget: 32 px fits, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", nst.MemoryBudgetWarning)
        studio.run(blocking=True)
