"""nst_teach.core: the lessons' code is the code that runs.

Each layer on top of the core, with its option off (or at its neutral value),
gives the core's numbers: one test each. The plain objective of `stylize` and
`compute_losses` is traced to the four core functions.
"""

import ast
import pathlib
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

import nst_teach as nst
from image_helpers import smooth_random_image
from nst_teach import core
from nst_teach.core import loop
from nst_teach.features import FeatureExtractor

CORE = pathlib.Path(nst.__file__).parent / "core"
CONTENT_LAYERS = list(core.DEFAULT_CONTENT_LAYERS)
STYLE_LAYERS = list(core.DEFAULT_STYLE_LAYERS)


@pytest.fixture(scope="module")
def pair():
    """A 32x48 content and a 40x48 style: the same longer side, so no style resize."""
    return smooth_random_image(32, 48, seed=0), smooth_random_image(40, 48, seed=1)


def core_objective(weights, content, style, **loss_weights):
    """The lessons' objective, from core functions only."""
    content_targets = core.vgg_features(content, weights, CONTENT_LAYERS)
    style_targets = {name: core.gram_matrix(value)
                     for name, value in core.vgg_features(style, weights, STYLE_LAYERS).items()}

    def loss_function(image):
        features = core.vgg_features(image, weights, CONTENT_LAYERS + STYLE_LAYERS)
        return core.style_transfer_loss(image, features, content_targets, style_targets,
                                        **loss_weights)
    return loss_function


def assert_terms_close(actual, expected, rtol=1e-5):
    assert set(actual) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(float(actual[name]), float(value), rtol=rtol, atol=1e-6,
                                   err_msg=name)


# --- the core on its own ----------------------------------------------------------------

def test_core_imports_nothing_else_of_nst_teach_and_fits_in_800_lines():
    lines = 0
    for path in CORE.glob("*.py"):
        source = path.read_text()
        lines += len(source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nst_teach"):
                assert node.module.startswith("nst_teach.core"), (path.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("nst_teach") for alias in node.names)
    assert lines <= 800, f"nst_teach/core has {lines} lines"


def test_the_public_names_are_the_core_functions():
    for name in ("gram_matrix", "content_loss", "style_loss", "total_variation_loss",
                 "check_image", "resize_image", "preprocess_for_vgg", "layer_names",
                 "BackboneWeights", "DEFAULT_CONTENT_LAYERS", "DEFAULT_STYLE_LAYERS"):
        assert getattr(nst, name) is getattr(core, name), name


def test_vgg_features_match_keras_vgg16(hed_weights, keras_vgg16_hed, rng):
    image = rng.uniform(0, 1, (1, 32, 40, 3)).astype(np.float32)
    layers = ["block1_conv2", "block3_pool", "block5_conv3"]
    ours = core.vgg_features(image, hed_weights, layers)
    keras_input = tf.keras.applications.vgg16.preprocess_input(image * 255.0)
    model = tf.keras.Model(keras_vgg16_hed.input,
                           [keras_vgg16_hed.get_layer(name).output for name in layers])
    for name, expected in zip(layers, model(keras_input)):
        np.testing.assert_allclose(ours[name].numpy(), expected.numpy(), rtol=1e-4,
                                   atol=1e-4 * float(tf.reduce_max(expected)))


def test_vgg_features_refuse_unknown_layers_and_missing_weights(random_weights, tiny_image):
    with pytest.raises(ValueError, match="Unknown layer"):
        core.vgg_features(tiny_image(), random_weights, ["block1_conv9"])
    partial = nst.BackboneWeights("vgg16", "test", {"block1_conv1":
                                                    random_weights.convolutions["block1_conv1"]})
    with pytest.raises(ValueError, match="do not hold block1_conv2"):
        core.vgg_features(tiny_image(), partial, ["block1_conv2"])


def test_style_transfer_loss_is_the_tutorials_formula(hed_weights, pair):
    """TF tutorial: style_weight / N * sum mean((G - A)^2) + content_weight / N * ... + tv."""
    content, style = pair
    image = smooth_random_image(32, 48, seed=5)
    terms = core_objective(hed_weights, content, style)(image)
    features = core.vgg_features(image, hed_weights, CONTENT_LAYERS + STYLE_LAYERS)
    targets = core.vgg_features(style, hed_weights, STYLE_LAYERS)
    style_expected = 1e-2 / len(STYLE_LAYERS) * sum(
        np.mean(np.square(np.einsum("bijc,bijd->bcd", features[n], features[n]) / np.prod(
            features[n].shape[1:3]) - np.einsum("bijc,bijd->bcd", targets[n], targets[n])
            / np.prod(targets[n].shape[1:3]))) for n in STYLE_LAYERS)
    content_target = core.vgg_features(content, hed_weights, CONTENT_LAYERS)[CONTENT_LAYERS[0]]
    content_expected = 1e4 * np.mean(np.square(features[CONTENT_LAYERS[0]] - content_target))
    tv_expected = 30 * float(tf.reduce_sum(tf.image.total_variation(tf.constant(image))))
    np.testing.assert_allclose(float(terms["style"]), style_expected, rtol=1e-4)
    np.testing.assert_allclose(float(terms["content"]), content_expected, rtol=1e-4)
    np.testing.assert_allclose(float(terms["tv"]), tv_expected, rtol=1e-5)
    np.testing.assert_allclose(float(terms["total"]),
                               float(terms["content"] + terms["style"] + terms["tv"]), rtol=1e-6)


def test_the_plain_loop_lowers_the_loss(hed_weights, pair):
    content, style = pair
    objective = core_objective(hed_weights, content, style, style_weight=1.0, tv_weight=1.0)
    for optimizer in (loop.Adam(), loop.SGD(learning_rate=1e-7)):
        image, history = loop.run_style_transfer(objective, content, optimizer, num_steps=5)
        assert len(history) == 6 and image.shape == content.shape
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert history[-1]["total"] < history[0]["total"], type(optimizer).__name__


@pytest.mark.parametrize("rate", ["number", "schedule"])
def test_adam_is_keras_adam(rng, rate):
    """core.loop.Adam takes Keras' Adam steps, with a fixed rate and with a schedule."""
    import keras

    learning_rate = 0.02 if rate == "number" else keras.optimizers.schedules.CosineDecay(
        0.05, 4, alpha=0.2)
    options = {"beta_1": 0.9, "beta_2": 0.99, "epsilon": 0.1}
    ours = loop.Adam(learning_rate=learning_rate, **options)
    theirs = keras.optimizers.Adam(learning_rate=learning_rate, **options)
    image_a = tf.Variable(tf.fill((1, 4, 4, 3), 0.5))
    image_b = tf.Variable(tf.fill((1, 4, 4, 3), 0.5))
    for _ in range(6):  # past the schedule's end: its floor
        gradient = tf.constant(rng.normal(size=(1, 4, 4, 3)), tf.float32)
        ours.apply_gradient(image_a, gradient)
        theirs.apply_gradients([(gradient, image_b)])
        assert 0.0 < image_b.numpy().min() and image_b.numpy().max() < 1.0  # nothing clipped
        np.testing.assert_allclose(image_a.numpy(), image_b.numpy(), rtol=1e-5, atol=1e-6)
    assert ours.rate() == pytest.approx(0.02 if rate == "number" else 0.01)


# --- the plain objective runs through the core --------------------------------------------

def count_core_calls(function):
    """Calls `function()` with the four core functions wrapped; returns the call counts."""
    from nst_teach import losses

    assert losses.style_loss is core.style_loss and losses.content_loss is core.content_loss
    assert losses.total_variation_loss is core.total_variation_loss
    spies = {name: mock.patch.object(losses, name, wraps=getattr(core, name))
             for name in ("content_loss", "style_loss", "total_variation_loss")}
    spies["gram_matrix"] = mock.patch("nst_teach.core.losses.gram_matrix",
                                      wraps=core.gram_matrix)
    tf.config.run_functions_eagerly(True)  # autograph would run converted copies
    try:
        with spies["content_loss"] as content_spy, spies["style_loss"] as style_spy, \
                spies["total_variation_loss"] as tv_spy, spies["gram_matrix"] as gram_spy:
            function()
    finally:
        tf.config.run_functions_eagerly(False)
    return {"content_loss": content_spy.call_count, "style_loss": style_spy.call_count,
            "total_variation_loss": tv_spy.call_count, "gram_matrix": gram_spy.call_count}


def test_stylize_and_compute_losses_evaluate_the_core_functions(hed_weights, pair):
    content, style = pair
    evaluations = 3  # stylize with 2 Adam steps evaluates the loss 3 times
    calls = count_core_calls(lambda: nst.stylize(content, style, weights=hed_weights,
                                                 optimizer="adam", num_steps=2, progress=False,
                                                 verbose=False, precision="float32"))
    assert calls == {"content_loss": evaluations * len(CONTENT_LAYERS),
                     "style_loss": evaluations * len(STYLE_LAYERS),
                     "total_variation_loss": evaluations,
                     "gram_matrix": evaluations * len(STYLE_LAYERS)}
    calls = count_core_calls(lambda: nst.compute_losses(content, content, style,
                                                        weights=hed_weights))
    assert calls == {"content_loss": 1, "style_loss": 5, "total_variation_loss": 1,
                     "gram_matrix": 5}


def test_stylize_reproduces_the_plain_loop(hed_weights, pair):
    """stylize(optimizer="adam") in float32 is core.loop.run_style_transfer with its Adam."""
    content, style = pair
    loss_weights = nst.default_loss_weights(hed_weights)
    _, history = loop.run_style_transfer(core_objective(hed_weights, content, style,
                                                        **loss_weights),
                                         content, loop.Adam(), num_steps=4)
    result = nst.stylize(content, style, weights=hed_weights, optimizer="adam", num_steps=4,
                         precision="float32", progress=False, verbose=False)
    for ours, theirs in zip(result.history, history, strict=True):
        assert_terms_close({name: ours[name] for name in theirs}, theirs)


# --- each layer with its option off gives the core's numbers ------------------------------

@pytest.mark.parametrize("options", [
    {},
    {"style_masks": [np.ones((1, 32, 48, 1), np.float32)]},  # a mask of ones: the whole image
    {"style_blend_weights": [1.0]},
    {"style_scale": 1.0, "sizes": None, "preserve_colors": None},
    {"recompute": True},
    {"precision": "float32"},
], ids=["plain", "mask-of-ones", "one-style-blend", "scale-1-one-stage", "recompute",
        "float32"])
def test_each_layer_with_its_option_off_reproduces_the_core(hed_weights, pair, options):
    content, style = pair
    image = smooth_random_image(32, 48, seed=6)
    expected = core_objective(hed_weights, content, style,
                              **nst.default_loss_weights(hed_weights))(image)
    options = {"precision": "float32", **options}
    assert_terms_close(nst.compute_losses(image, content, style, weights=hed_weights, **options),
                       expected)


def test_one_stage_at_the_content_size_is_the_core(hed_weights, pair):
    """Coarse to fine with one stage whose size is the content's: no resize, the core's loss."""
    content, style = pair
    image = smooth_random_image(32, 48, seed=6)
    expected = core_objective(hed_weights, content, style,
                              **nst.default_loss_weights(hed_weights))(image)
    assert_terms_close(nst.compute_losses(image, content, style, weights=hed_weights,
                                          sizes=[48], precision="float32"), expected)


def test_colour_matching_a_style_to_its_own_colours_is_the_core(hed_weights, pair):
    """preserve_colors="color_matching" recolours the style to the content's colours; with
    the content as the style, that recolouring changes nothing and the loss is the core's."""
    content, _ = pair
    image = smooth_random_image(32, 48, seed=6)
    expected = core_objective(hed_weights, content, content,
                              **nst.default_loss_weights(hed_weights))(image)
    assert_terms_close(nst.compute_losses(image, content, content, weights=hed_weights,
                                          preserve_colors="color_matching",
                                          precision="float32"), expected, rtol=1e-4)


def test_two_copies_of_one_style_blend_to_the_core_target(hed_weights, pair):
    content, style = pair
    image = smooth_random_image(32, 48, seed=6)
    expected = core_objective(hed_weights, content, style,
                              **nst.default_loss_weights(hed_weights))(image)
    assert_terms_close(nst.compute_losses(image, content, [style, style], weights=hed_weights,
                                          style_blend_weights=[0.3, 0.7], precision="float32"),
                       expected)


def test_strips_reproduce_the_core(hed_weights, pair):
    content, style = pair
    image = smooth_random_image(32, 48, seed=6)
    expected = core_objective(hed_weights, content, style)(image)
    loss = nst.StyleTransferLoss(hed_weights, content, style, recompute=True)
    loss.extractor.strip_rows = 8  # 32 rows: four strips per block1 and block2
    assert_terms_close(loss(tf.constant(image)), expected)


def test_feature_extractor_reproduces_core_vgg(hed_weights, rng):
    image = rng.uniform(0, 1, (1, 40, 24, 3)).astype(np.float32)
    layers = ["block1_conv1", "block2_pool", "block4_conv3"]
    expected = core.vgg_features(image, hed_weights, layers)
    for options in ({}, {"recompute": True, "strip_rows": 8}, {"precision": "float32"}):
        features = FeatureExtractor(hed_weights, layers, **options)(image)
        for name in layers:
            np.testing.assert_allclose(features[name].numpy(), expected[name].numpy(),
                                       rtol=1e-5, atol=1e-5, err_msg=f"{options} {name}")


def test_lbfgs_reports_the_core_loss_of_its_image(hed_weights, pair):
    content, style = pair
    objective = core_objective(hed_weights, content, style,
                               **nst.default_loss_weights(hed_weights))
    result = nst.stylize(content, style, weights=hed_weights, optimizer="lbfgs", num_steps=3,
                         precision="float32", progress=False, verbose=False)
    assert result.history[-1]["total"] < result.history[0]["total"]
    expected = objective(tf.constant(result.image))
    assert_terms_close({name: result.losses[name] for name in expected}, expected, rtol=1e-4)


def test_adam_schedule_rate_before_the_first_step_is_step_zeros():
    seen = []
    adam = core.loop.Adam(learning_rate=lambda step: seen.append(step) or 0.5 / (step + 1))
    assert adam.rate() == pytest.approx(0.5) and seen == [0]  # never a step -1
