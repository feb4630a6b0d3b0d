"""The controls of `stylize` (lessons 09 and 10): several styles, masks, style scale, coarse to
fine, pooling, the mean/std style statistic and colour preservation. Loss-level tests
compare with NumPy write-outs; run-level tests use tiny images and a few steps."""

import threading

import numpy as np
import pytest
import tensorflow as tf

import nst_teach as nst
from image_helpers import smooth_random_image
from nst_teach import color, controls
from nst_teach.features import FeatureExtractor
from nst_teach.losses import StyleTransferLoss, blend_weights

LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1"]
CONTENT_LAYERS = ["block3_conv1"]


def quiet(**options):
    return {"progress": False, "verbose": False, **options}


def numpy_gram(features, mask=None):
    """sum_p m_p F_p F_p^T / sum_p m_p over positions p (m = 1 without a mask), float64."""
    flat = np.asarray(features, np.float64)[0].reshape(-1, features.shape[-1])
    weights = np.ones(len(flat)) if mask is None else np.asarray(mask, np.float64).reshape(-1)
    return (flat * weights[:, None]).T @ flat / weights.sum()


def numpy_mean_std(features, mask=None):
    flat = np.asarray(features, np.float64)[0].reshape(-1, features.shape[-1])
    weights = np.ones(len(flat)) if mask is None else np.asarray(mask, np.float64).reshape(-1)
    mean = weights @ flat / weights.sum()
    variance = weights @ (flat - mean) ** 2 / weights.sum()
    return mean, np.sqrt(variance + 1e-5)


@pytest.fixture(scope="module")
def images():
    content = smooth_random_image(32, 48, seed=0)
    return content, smooth_random_image(40, 36, seed=1), smooth_random_image(28, 44, seed=2)


def style_features(weights, image):
    features = FeatureExtractor(weights, LAYERS)(image)
    return {name: features[name].numpy() for name in LAYERS}


def make_loss(weights, content, style, **options):
    return StyleTransferLoss(weights, content, style, content_layers=CONTENT_LAYERS,
                             style_layers=LAYERS, content_weight=1.0, style_weight=1.0,
                             tv_weight=0.0, **options)


# --- several styles -------------------------------------------------------------------

@pytest.mark.parametrize("statistic", ["gram", "mean_std"])
def test_blended_styles_match_the_numpy_write_out(random_weights, images, statistic):
    """Johnson's blend: the target is sum_k w_k A_k; the term mean((G - A)^2)
    (for mean_std: mean((mu - mu_s)^2) + mean((sigma - sigma_s)^2))."""
    content, style_a, style_b = images
    image = smooth_random_image(32, 48, seed=3)
    loss = make_loss(random_weights, content, [style_a, style_b], style_blend_weights=[3, 1],
                     style_statistic=statistic)
    terms = loss(image)
    features = [style_features(random_weights, x) for x in (image, style_a, style_b)]
    for name in LAYERS:
        if statistic == "gram":
            target = 0.75 * numpy_gram(features[1][name]) + 0.25 * numpy_gram(features[2][name])
            expected = np.mean((numpy_gram(features[0][name]) - target) ** 2)
        else:
            (mean, std), (mean_a, std_a), (mean_b, std_b) = (
                numpy_mean_std(f[name]) for f in features)
            expected = (np.mean((mean - 0.75 * mean_a - 0.25 * mean_b) ** 2)
                        + np.mean((std - 0.75 * std_a - 0.25 * std_b) ** 2))
        np.testing.assert_allclose(float(terms[f"style/{name}"]), expected / len(LAYERS),
                                   rtol=2e-4, err_msg=name)


def test_one_style_in_a_list_is_the_single_style(random_weights, images):
    content, style, _ = images
    image = smooth_random_image(32, 48, seed=3)
    single = make_loss(random_weights, content, style)(image)
    listed = make_loss(random_weights, content, [style], style_blend_weights=[5.0])(image)
    for name, value in single.items():
        np.testing.assert_allclose(float(listed[name]), float(value), rtol=1e-6, err_msg=name)


def test_blend_weights_are_normalised_and_checked():
    assert blend_weights(2) == [0.5, 0.5]
    assert blend_weights(3, [1, 0, 3]) == [0.25, 0.0, 0.75]
    for weights, message in [([1.0], "1 values for 2 style images"),
                             ([1.0, -0.5], "must be finite numbers >= 0"),
                             ([1.0, float("nan")], "must be finite numbers >= 0"),
                             ([0, 0], "sum to 0")]:
        with pytest.raises(ValueError, match=message):
            blend_weights(2, weights)


# --- masks (guided Gram matrices) -----------------------------------------------------

def test_masked_styles_match_the_numpy_write_out(random_weights, images):
    """Two styles on complementary halves: each layer's term is
    sum_k w_k mean((G[region k] - A_k)^2), the Gram of the image's positions in region k
    against style k's whole-image Gram (Gatys et al. 2017). The split is on a column
    that the 2x2 poolings keep sharp (24 = 8 * 3), so the layer masks stay binary."""
    content, style_a, style_b = images
    left = np.zeros((1, 32, 48, 1), np.float32)
    left[:, :, :24] = 1.0
    image = smooth_random_image(32, 48, seed=3)
    loss = make_loss(random_weights, content, [style_a, style_b], style_blend_weights=[1, 3],
                     style_masks=[left, 1.0 - left])
    terms = loss(image)
    features = [style_features(random_weights, x) for x in (image, style_a, style_b)]
    for name in LAYERS:
        width = features[0][name].shape[2]
        region = features[0][name][:, :, : width // 2]
        other = features[0][name][:, :, width // 2:]
        expected = (0.25 * np.mean((numpy_gram(region) - numpy_gram(features[1][name])) ** 2)
                    + 0.75 * np.mean((numpy_gram(other) - numpy_gram(features[2][name])) ** 2))
        np.testing.assert_allclose(float(terms[f"style/{name}"]), expected / len(LAYERS),
                                   rtol=2e-4, err_msg=name)


def test_mask_of_ones_or_none_is_the_unmasked_loss(random_weights, images):
    content, style, _ = images
    image = smooth_random_image(32, 48, seed=3)
    plain = make_loss(random_weights, content, style)(image)
    for masks in ([None], [np.ones((1, 32, 48, 1), np.float32)]):
        masked = make_loss(random_weights, content, style, style_masks=masks)(image)
        np.testing.assert_allclose(float(masked["style"]), float(plain["style"]), rtol=1e-5)


def test_where_every_mask_is_zero_only_content_acts(random_weights, images):
    """With block1_conv1 alone (a 3x3 field), pixels 2 or more columns away from the
    masked region get no gradient from the style term at all; pixels inside do."""
    content, style, _ = images
    left = np.zeros((1, 32, 48, 1), np.float32)
    left[:, :, :20] = 1.0
    loss = StyleTransferLoss(random_weights, content, style, content_layers=["block1_conv1"],
                             style_layers=["block1_conv1"], content_weight=0.0,
                             style_weight=1.0, tv_weight=0.0, style_masks=[left])
    image = tf.Variable(smooth_random_image(32, 48, seed=3))
    with tf.GradientTape() as tape:
        total = loss(image)["total"]
    gradient = np.abs(tape.gradient(total, image).numpy())
    assert gradient[:, :, :19].max() > 0
    assert gradient[:, :, 22:].max() == 0.0


@pytest.mark.parametrize("shape", [(32, 48), (1, 32, 48), (32, 48, 1), (1, 32, 48, 1)])
def test_mask_shapes_accepted(shape):
    values = np.random.default_rng(0).uniform(0, 1, (32, 48)).astype(np.float32)
    checked = controls.check_masks([values.reshape(shape)], 1, (32, 48))
    assert checked[0].shape == (1, 32, 48, 1) and checked[0].dtype == np.float32
    np.testing.assert_array_equal(checked[0][0, :, :, 0], values)
    assert controls.check_masks([None, values.reshape(shape)], 2, (32, 48))[0] is None


def test_mask_of_another_size_is_resized():
    half = np.zeros((16, 24), np.float32)
    half[:, :12] = 1.0
    resized = controls.check_masks([half], 1, (32, 48))[0]
    assert resized.shape == (1, 32, 48, 1)
    assert resized[0, :, :22, 0].min() == 1.0 and resized[0, :, 26:, 0].max() == 0.0


@pytest.mark.parametrize("masks, message", [
    ([np.ones((32, 48))] * 2, r"2 entries for 1 style images"),
    ([np.ones((2, 32, 48, 1))], r"has shape \(2, 32, 48, 1\); expected \(1, H, W, 1\)"),
    ([np.ones((32, 48, 3))], r"expected \(1, H, W, 1\)"),
    ([np.full((32, 48), 255, np.uint8)], r"dtype uint8.*divide 0..255 values by 255"),
    ([np.full((32, 48), 1.5)], r"values from 1.5 to 1.5; expected \[0, 1\]"),
    ([np.zeros((32, 48))], r"0 everywhere"),
    ([np.ones((32, 32))], r"32x32 .* but the content image is 32x48"),
])
def test_bad_masks_raise_helpful_errors(masks, message):
    with pytest.raises(ValueError, match=message):
        controls.check_masks(masks, 1, (32, 48))


# --- style scale ----------------------------------------------------------------------

def test_style_scale_resizes_the_style_relative_to_the_output(hed_weights, images):
    content, style, _ = images  # content 32x48, style 40x36
    assert controls.scale_style(style, content.shape, 1.0).shape == (1, 48, 43, 3)
    assert controls.scale_style(style, (32, 48), 0.5).shape == (1, 24, 22, 3)
    assert controls.scale_style(content, content.shape, 1.0) is content
    image = smooth_random_image(32, 48, seed=3)
    options = {"weights": hed_weights, "content_layers": CONTENT_LAYERS, "style_layers": LAYERS}
    styles = {}
    for scale, shape in [(1.0, (48, 43)), (2.0, (96, 86))]:
        styles[scale] = nst.compute_losses(image, content, style, style_scale=scale, **options)
        resized = nst.resize_image(style, shape)  # already at the target: not resized again
        expected = nst.compute_losses(image, content, resized, style_scale=scale, **options)
        for name, value in expected.items():
            np.testing.assert_allclose(styles[scale][name], value, rtol=1e-5, err_msg=name)
    assert not np.isclose(styles[1.0]["style"], styles[2.0]["style"], rtol=1e-2)
    for bad in (0, -1.0, float("nan"), "2", True):
        with pytest.raises(ValueError, match="style_scale must be a number > 0"):
            controls.check_style_scale(bad)


def test_too_small_for_the_deepest_layer(random_weights):
    with pytest.raises(ValueError, match=r"style image 0 is 3x5 px, too small for block3_conv1, "
                                         r"which needs at least 4 px per side"):
        make_loss(random_weights, smooth_random_image(16, 16), smooth_random_image(3, 5))


# --- runs: masks, statistic, pooling ---------------------------------------------------
# These runs take a few steps on tiny images: L-BFGS, which lowers the loss from its
# first step (Adam, the default, moves every pixel by about its learning rate first).

def stripes(size=64):
    """A red and blue diagonal-stripe painting: strong texture, colours far from the content."""
    y, x = np.mgrid[0:size, 0:size]
    on = (np.sin(x / 2.0 + y / 3.0) > 0).astype(np.float32)
    return np.stack([0.9 * on + 0.1, np.full_like(on, 0.1), 0.6 * (1 - on) + 0.1], -1)[None]


def test_a_masked_style_paints_only_its_region(hed_weights):
    flat = np.full((1, 48, 48, 3), 0.5, np.float32)
    left = np.zeros((1, 48, 48, 1), np.float32)
    left[:, :, :24] = 1.0
    for mask, painted, kept in [(left, slice(0, 20), slice(28, 48)),
                                (1.0 - left, slice(28, 48), slice(0, 20))]:
        result = nst.stylize(flat, stripes(), weights=hed_weights, num_steps=8,
                             optimizer="lbfgs", style_masks=[mask], **quiet())
        change = np.abs(result.image - flat).mean(axis=(0, 1, 3))  # per column
        assert change[painted].mean() > 3 * change[kept].mean()
        assert result.settings["style_masks"] is True


@pytest.mark.parametrize("statistic", ["mean_std", "gram"])
def test_statistic_and_pooling_runs_lower_the_style_loss(hed_weights, images, statistic):
    content, style, other = images
    pooling = "average" if statistic == "mean_std" else "max"
    result = nst.stylize(content, [style, other], weights=hed_weights, num_steps=5,
                         optimizer="lbfgs", style_statistic=statistic, pooling=pooling, **quiet())
    assert result.status == "completed"
    assert result.losses["total"] < result.history[0]["total"]
    assert result.losses["style"] < 0.9 * result.history[0]["style"]
    assert set(result.history[0]) == ({"step", "time", "size", "total", "content", "style", "tv",
                                       "content/block5_conv2"}
                                      | {f"style/{name}" for name in nst.DEFAULT_STYLE_LAYERS})
    settings = result.settings
    assert (settings["style_statistic"], settings["pooling"]) == (statistic, pooling)
    assert settings["num_styles"] == 2 and settings["style_blend_weights"] == [0.5, 0.5]
    again = nst.compute_losses(result.image, content, [style, other], weights=hed_weights,
                               style_statistic=statistic, pooling=pooling)
    np.testing.assert_allclose(again["total"], result.losses["total"], rtol=1e-4)


def test_average_pooling_changes_the_objective(hed_weights, images):
    content, style, _ = images
    image = smooth_random_image(32, 48, seed=3)
    by_pooling = {pooling: nst.compute_losses(image, content, style, weights=hed_weights,
                                              pooling=pooling)
                  for pooling in ("max", "average")}
    assert by_pooling["max"]["style/block1_conv1"] == by_pooling["average"]["style/block1_conv1"]
    assert not np.isclose(by_pooling["max"]["style/block3_conv1"],
                          by_pooling["average"]["style/block3_conv1"], rtol=1e-3)


def test_recompute_gives_the_same_run(hed_weights, images):
    content, style, _ = images
    # float32: the core's precision (with bfloat16 the two orders of summation round apart).
    runs = [nst.stylize(content, style, weights=hed_weights, optimizer="adam", num_steps=3,
                        recompute=recompute, precision="float32", **quiet())
            for recompute in (False, True)]
    np.testing.assert_allclose(totals(runs[1]), totals(runs[0]), rtol=1e-5)
    np.testing.assert_allclose(runs[1].image, runs[0].image, atol=1e-4)
    assert runs[1].settings["recompute"] is True


# --- coarse to fine -------------------------------------------------------------------

def totals(result):
    return np.array([record["total"] for record in result.history])


def test_coarse_to_fine_stages(hed_weights, images):
    content, style, _ = images  # 32x48: stages 16x24 (longer side 24) and 32x48
    result = nst.stylize(content, style, weights=hed_weights, sizes=(24, 48), num_steps=[4, 3],
                         **quiet())
    assert result.status == "completed" and result.image.shape == (1, 32, 48, 3)
    history = result.history
    assert [record["step"] for record in history] == list(range(9))
    assert [record["size"] for record in history] == [(16, 24)] * 5 + [(32, 48)] * 4
    assert result.settings["sizes"] == [24, 48] and result.settings["num_steps"] == [4, 3]
    for stage in (totals(result)[:5], totals(result)[5:]):  # L-BFGS: each stage goes down
        assert np.all(np.diff(stage) <= 0) and stage[-1] < stage[0]
    assert 5 <= result.best_step <= 8
    # Step 5 is the first stage's best image, upsampled, against the content at 32x48.
    coarse = nst.stylize(content, style, weights=hed_weights, sizes=(24,), num_steps=4,
                         **quiet())
    upsampled = nst.resize_image(coarse.image, (32, 48))
    expected = nst.compute_losses(upsampled, content, style, weights=hed_weights)
    np.testing.assert_allclose(history[5]["total"], expected["total"], rtol=1e-4)
    final = nst.compute_losses(result.image, content, style, weights=hed_weights,
                               sizes=(24, 48))
    np.testing.assert_allclose(final["total"], result.losses["total"], rtol=1e-4)


class StopAt(nst.Callback):
    def __init__(self, step, interrupt=False):
        super().__init__()
        self.step, self.interrupt = step, interrupt
        self.events, self.images = [], {}

    def on_start(self, run):
        self.events.append(("start", run.num_steps))
        self.images[0] = run.image()

    def on_step(self, run):
        self.events.append(("step", run.step))
        self.images[run.step] = run.image()
        if run.step == self.step:
            if self.interrupt:
                raise KeyboardInterrupt
            run.request_stop()

    def on_end(self, run):
        self.events.append(("end", run.status))


def test_a_stop_in_the_first_stage_ends_the_whole_run(hed_weights, images):
    content, style, _ = images
    recorder = StopAt(2)
    result = nst.stylize(content, style, weights=hed_weights, sizes=(24, 48), num_steps=4,
                         optimizer="sgd", learning_rate=1e-5, callbacks=recorder, **quiet())
    assert result.status == "stopped" and result.message == "Stopped at step 2."
    assert recorder.events[0] == ("start", 9) and recorder.events[-1] == ("end", "stopped")
    assert {record["size"] for record in result.history} == {(16, 24)}
    assert result.image.shape == (1, 16, 24, 3)  # the current stage's best image
    assert result.best_step == int(np.argmin(totals(result)))
    np.testing.assert_array_equal(result.image, recorder.images[result.best_step])


def test_an_interrupt_in_the_second_stage_keeps_its_best_image(hed_weights, images):
    content, style, _ = images
    recorder = StopAt(7, interrupt=True)
    result = nst.stylize(content, style, weights=hed_weights, sizes=(24, 48), num_steps=4,
                         optimizer="adam", callbacks=recorder, progress=True, verbose=False)
    assert result.status == "interrupted" and "Interrupted at step 7" in result.message
    assert [event for event in recorder.events if event[0] == "step"] == [
        ("step", step) for step in range(1, 8)]
    assert recorder.events[-1] == ("end", "interrupted")
    assert result.image.shape == (1, 32, 48, 3) and 5 <= result.best_step <= 7
    best_in_stage = 5 + int(np.argmin(totals(result)[5:]))
    assert result.best_step == best_in_stage
    np.testing.assert_array_equal(result.image, recorder.images[best_in_stage])


@pytest.mark.parametrize("options, message", [
    ({"sizes": (48, 24)}, r"sizes must increase from coarse to fine"),
    ({"sizes": (24, 0)}, r"sizes must be the longer side of each stage"),
    ({"sizes": (24, 48), "num_steps": [1, 2, 3]}, r"num_steps has 3 values for 2 stages"),
    ({"sizes": (24, 48), "num_steps": [1, -2]}, r"num_steps must be a whole number >= 0"),
    ({"style_statistic": "gramm"}, r"style_statistic must be 'gram' or 'mean_std'"),
    ({"preserve_colors": "yes"}, r"preserve_colors must be None, 'luminance' or"),
    ({"preserve_colors": "color_matching", "color_matching_method": "lab"},
     r"color_matching_method must be 'mean_covariance' or 'histogram'"),
    ({"style_blend_weights": [1, 2]}, r"2 values for 1 style images"),
    ({"style_masks": [None, None]}, r"2 entries for 1 style images"),
])
def test_bad_control_options_raise_helpful_errors(hed_weights, images, options, message):
    content, style, _ = images
    with pytest.raises(ValueError, match=message):
        nst.stylize(content, style, weights=hed_weights, **quiet(**options))


# --- colour preservation --------------------------------------------------------------

def test_colour_preservation_keeps_the_contents_colours(hed_weights):
    """The measure: nst_teach.color.color_histogram_distance (mean over R, G, B of the
    earth mover's distance between normalised 32-bin histograms) from the output to the
    content. A greenish photo stylized with a red and blue painting drifts to red and
    blue; with either kind of colour preservation it stays at least 3 times closer."""
    greenish = (0.3 + 0.4 * smooth_random_image(48, 48, seed=0)
                * np.array([0.2, 1.0, 0.6], np.float32)).astype(np.float32)
    distances = {}
    for mode in (None, "luminance", "color_matching"):
        result = nst.stylize(greenish, stripes(), weights=hed_weights, num_steps=8,
                             optimizer="lbfgs", preserve_colors=mode, **quiet())
        assert result.status == "completed" and result.image.shape == greenish.shape
        assert result.losses["total"] < result.history[0]["total"]
        distances[mode] = color.color_histogram_distance(result.image, greenish)
    assert distances["luminance"] < distances[None] / 3
    assert distances["color_matching"] < distances[None] / 3


def test_luminance_mode_optimizes_the_luminance(hed_weights, images):
    content, style, _ = images
    result = nst.stylize(content, style, weights=hed_weights, num_steps=2,
                         preserve_colors="luminance", **quiet())
    # The result has the content's colour channels (I, Q) and its own luminance.
    np.testing.assert_allclose(color.rgb_to_yiq(result.image)[..., 1:],
                               color.rgb_to_yiq(content)[..., 1:], atol=0.02)
    again = nst.compute_losses(result.image, content, style, weights=hed_weights,
                               preserve_colors="luminance")
    np.testing.assert_allclose(again["total"], result.losses["total"], rtol=0.05)
    assert result.settings["preserve_colors"] == "luminance"


def test_colour_matching_recolours_the_style_first(hed_weights, images):
    content, style, _ = images
    matched = color.match_colors(style, content, method="histogram")
    image = smooth_random_image(32, 48, seed=3)
    options = {"weights": hed_weights, "content_layers": CONTENT_LAYERS, "style_layers": LAYERS}
    by_option = nst.compute_losses(image, content, style, preserve_colors="color_matching",
                                   color_matching_method="histogram", **options)
    by_hand = nst.compute_losses(image, content, matched, **options)
    for name, value in by_hand.items():
        np.testing.assert_allclose(by_option[name], value, rtol=1e-5, err_msg=name)


def test_stop_event_between_stages_skips_the_rest(hed_weights, images):
    content, style, _ = images
    stop_event = threading.Event()
    stop_event.set()
    result = nst.stylize(content, style, weights=hed_weights, sizes=(24, 48), num_steps=3,
                         stop_event=stop_event, **quiet())
    assert result.status == "stopped" and len(result.history) == 1
    np.testing.assert_array_equal(result.image, nst.resize_image(content, (16, 24)))


@pytest.mark.parametrize("statistic", ["gram", "mean_std"])
def test_strips_give_the_same_loss_and_gradient(random_weights, images, statistic):
    """recompute=True computes large blocks strip by strip (here strips of 8 rows, with
    masks and two styles): the same terms and gradient as the whole-image computation."""
    content, style_a, style_b = images
    left = np.zeros((1, 32, 48, 1), np.float32)
    left[:, 5:27, :30] = 1.0  # not aligned with the strips
    results = []
    for recompute in (False, True):
        loss = make_loss(random_weights, content, [style_a, style_b], style_statistic=statistic,
                         style_masks=[left, None], recompute=recompute)
        loss.extractor.strip_rows = 8
        image = tf.Variable(smooth_random_image(32, 48, seed=3))
        with tf.GradientTape() as tape:
            terms = loss(image)
        results.append((terms, tape.gradient(terms["total"], image).numpy()))
    (plain, plain_gradient), (strips, strips_gradient) = results
    for name, value in plain.items():
        np.testing.assert_allclose(float(strips[name]), float(value), rtol=1e-4, err_msg=name)
    np.testing.assert_allclose(strips_gradient, plain_gradient, rtol=1e-3,
                               atol=1e-4 * np.abs(plain_gradient).max())


def test_moment_sums_add_up_over_strips_to_the_numpy_statistics(rng):
    """The strip-wise memory saving rests on this: sums over strips of rows are the layer's."""
    from nst_teach.statistics import moment_sums, statistics_from_sums

    features = rng.uniform(0, 3, size=(1, 6, 7, 5)).astype(np.float32)
    mask = rng.uniform(0, 1, size=(1, 6, 7, 1)).astype(np.float32)
    for region in (None, mask):
        sums = tf.add_n([moment_sums(features[:, rows], None if region is None else
                                     region[:, rows]) for rows in (slice(0, 2), slice(2, 6))])
        (gram,) = statistics_from_sums(sums, "gram")
        np.testing.assert_allclose(gram.numpy()[0], numpy_gram(features, region), rtol=1e-5)
        mean, std = statistics_from_sums(sums, "mean_std")
        weights = np.ones((1, 6, 7, 1)) if region is None else region.astype(np.float64)
        expected_mean = (features * weights).sum(axis=(1, 2)) / weights.sum()
        variance = (np.square(features - expected_mean[:, None, None]) * weights).sum(
            axis=(1, 2)) / weights.sum()
        np.testing.assert_allclose(mean.numpy(), expected_mean, rtol=1e-5)
        np.testing.assert_allclose(std.numpy(), np.sqrt(variance + 1e-5), rtol=1e-4)
