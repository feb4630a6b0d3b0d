"""Losses: each term against a write-out, the whole objective against the
TensorFlow core style-transfer tutorial, and the gradient against finite
differences."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import nst_teach as nst
from nst_teach.losses import (
    StyleTransferLoss,
    content_loss,
    layer_weights,
    style_loss,
    total_variation_loss,
)

STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
CONTENT_LAYERS = ["block5_conv2"]


# --- the individual terms -------------------------------------------------------------

def test_total_variation_matches_tf_image(rng):
    images = tf.constant(rng.uniform(0, 1, size=(3, 9, 7, 3)), tf.float32)
    expected = tf.reduce_sum(tf.image.total_variation(images))  # one value per image
    np.testing.assert_allclose(total_variation_loss(images).numpy(), expected.numpy(), rtol=1e-5)


def test_total_variation_numpy_and_flat_image(rng):
    image = rng.uniform(0, 1, size=(1, 5, 6, 3)).astype(np.float32)
    expected = (np.abs(np.diff(image, axis=1)).sum() + np.abs(np.diff(image, axis=2)).sum())
    np.testing.assert_allclose(total_variation_loss(image).numpy(), expected, rtol=1e-5)
    assert total_variation_loss(np.full((1, 5, 6, 3), 0.3, np.float32)).numpy() == 0.0


def test_content_loss_matches_numpy(rng):
    features, target = rng.normal(size=(2, 1, 6, 5, 8)).astype(np.float32)
    expected = np.mean((features.astype(np.float64) - target) ** 2)
    np.testing.assert_allclose(content_loss(features, target).numpy(), expected, rtol=1e-5)
    assert content_loss(features, features).numpy() == 0.0


def test_style_loss_matches_numpy(rng):
    features = rng.uniform(0, 2, size=(1, 6, 5, 8))
    style = rng.uniform(0, 2, size=(1, 4, 9, 8))  # a style layer of another size
    flat, style_flat = features[0].reshape(30, 8), style[0].reshape(36, 8)
    gram, target = flat.T @ flat / 30, style_flat.T @ style_flat / 36
    expected = np.mean((gram - target) ** 2)
    actual = style_loss(features.astype(np.float32), target[None].astype(np.float32))
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-5)


# --- layer_weights --------------------------------------------------------------------

def test_layer_weights_list_gives_equal_weights():
    assert layer_weights(["a", "b", "c", "d"]) == {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}
    assert layer_weights(("x",)) == {"x": 1.0}
    assert layer_weights(name for name in ["p", "q"]) == {"p": 0.5, "q": 0.5}


def test_layer_weights_dict_kept_as_given():
    weights = layer_weights({"b": 2, "a": 0.5, "c": 0})
    assert weights == {"b": 2.0, "a": 0.5, "c": 0.0}
    assert list(weights) == ["b", "a", "c"]  # order kept
    assert all(type(value) is float for value in weights.values())


@pytest.mark.parametrize("layers, message", [
    ([], "At least one layer"),
    ({}, "At least one layer"),
    ({"a": 1.0, "b": -0.1}, "must be >= 0"),
    ("block1_conv1", "not a string"),
])
def test_layer_weights_errors(layers, message):
    with pytest.raises(ValueError, match=message):
        layer_weights(layers)


# --- the tutorial's objective, written out independently ------------------------------
# https://www.tensorflow.org/tutorials/generative/style_transfer, with VGG16 (hed
# weights) in place of VGG19 (ImageNet weights, not downloadable here).

def tutorial_gram_matrix(input_tensor):
    result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
    input_shape = tf.shape(input_tensor)
    num_locations = tf.cast(input_shape[1] * input_shape[2], tf.float32)
    return result / num_locations


class TutorialStyleContentModel:
    """The tutorial's `StyleContentModel`, on a Keras functional model."""

    def __init__(self, vgg, style_layers, content_layers):
        outputs = [vgg.get_layer(name).output for name in style_layers + content_layers]
        self.vgg = keras.Model([vgg.input], outputs)
        self.style_layers = style_layers
        self.content_layers = content_layers
        self.num_style_layers = len(style_layers)

    def __call__(self, inputs):
        inputs = inputs * 255.0
        preprocessed_input = keras.applications.vgg19.preprocess_input(inputs)
        outputs = self.vgg(preprocessed_input)
        style_outputs, content_outputs = (outputs[:self.num_style_layers],
                                          outputs[self.num_style_layers:])
        style_outputs = [tutorial_gram_matrix(style_output) for style_output in style_outputs]
        content_dict = dict(zip(self.content_layers, content_outputs))
        style_dict = dict(zip(self.style_layers, style_outputs))
        return {"content": content_dict, "style": style_dict}


def tutorial_style_content_loss(outputs, style_targets, content_targets, style_weight,
                                content_weight, num_style_layers, num_content_layers):
    style_outputs = outputs["style"]
    content_outputs = outputs["content"]
    style_loss = tf.add_n([tf.reduce_mean((style_outputs[name] - style_targets[name]) ** 2)
                           for name in style_outputs.keys()])
    style_loss *= style_weight / num_style_layers
    content_loss = tf.add_n([tf.reduce_mean((content_outputs[name] - content_targets[name]) ** 2)
                             for name in content_outputs.keys()])
    content_loss *= content_weight / num_content_layers
    return style_loss, content_loss


@pytest.fixture(scope="module")
def tutorial_model(keras_vgg16_hed):
    return TutorialStyleContentModel(keras_vgg16_hed, STYLE_LAYERS, CONTENT_LAYERS)


@pytest.fixture(scope="module")
def tutorial_images():
    from image_helpers import smooth_random_image

    content = smooth_random_image(64, 64, seed=1)
    style = smooth_random_image(48, 56, seed=2)  # the style image may have another size
    image = np.clip(0.6 * content + 0.4 * smooth_random_image(64, 64, seed=3), 0, 1)
    return content, style, image


@pytest.mark.parametrize("style_weight, content_weight, tv_weight", [(1e-2, 1e4, 30), (1, 1e4, 1)])
def test_matches_tutorial_objective(hed_weights, tutorial_model, tutorial_images,
                                    style_weight, content_weight, tv_weight):
    content_image, style_image, image = tutorial_images
    style_targets = tutorial_model(tf.constant(style_image))["style"]
    content_targets = tutorial_model(tf.constant(content_image))["content"]
    outputs = tutorial_model(tf.constant(image))
    tutorial_style, tutorial_content = tutorial_style_content_loss(
        outputs, style_targets, content_targets, style_weight, content_weight,
        len(STYLE_LAYERS), len(CONTENT_LAYERS))
    tutorial_tv = tv_weight * tf.image.total_variation(tf.constant(image))  # shape (1,)
    tutorial_total = tutorial_style + tutorial_content + tutorial_tv

    loss = StyleTransferLoss(hed_weights, content_image, style_image,
                             content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                             style_weight=style_weight, content_weight=content_weight,
                             tv_weight=tv_weight)
    terms = loss(tf.constant(image))

    for name, expected in [("content", tutorial_content), ("style", tutorial_style),
                           ("tv", tutorial_tv[0])]:
        assert float(expected) > 0, name  # every term takes part in the comparison
        np.testing.assert_allclose(float(terms[name]), float(expected), rtol=1e-4, err_msg=name)
    np.testing.assert_allclose(float(terms["total"]), float(tutorial_total[0]), rtol=1e-4)
    np.testing.assert_allclose(float(terms["total"]),
                               float(terms["content"] + terms["style"] + terms["tv"]), rtol=1e-6)
    np.testing.assert_allclose(float(terms["style"]),
                               sum(float(terms[f"style/{name}"]) for name in STYLE_LAYERS), rtol=1e-5)


def test_layer_weight_dicts_against_tutorial_write_out(hed_weights, tutorial_model,
                                                       tutorial_images):
    content_image, style_image, image = tutorial_images
    style_layers = {"block1_conv1": 0.7, "block2_conv1": 2.0, "block3_conv1": 0.0}
    content_layers = {"block5_conv2": 0.5, "block4_conv1": 3.0}
    loss = StyleTransferLoss(hed_weights, content_image, style_image,
                             content_layers=content_layers, style_layers=style_layers,
                             style_weight=1e-2, content_weight=1e4, tv_weight=30)
    terms = loss(tf.constant(image))

    style_targets = tutorial_model(tf.constant(style_image))["style"]
    outputs = tutorial_model(tf.constant(image))
    for name, weight in style_layers.items():
        per_layer = tf.reduce_mean((outputs["style"][name] - style_targets[name]) ** 2)
        np.testing.assert_allclose(float(terms[f"style/{name}"]), 1e-2 * weight * float(per_layer),
                                   rtol=1e-4, err_msg=name)
    assert float(terms["style/block3_conv1"]) == 0.0

    reference = keras.Model(tutorial_model.vgg.input,
                            [tutorial_model.vgg.get_layer(name).output for name in content_layers])

    def content_features(x):
        return reference(keras.applications.vgg19.preprocess_input(tf.constant(x) * 255.0))

    for (name, weight), feature, target in zip(content_layers.items(), content_features(image),
                                               content_features(content_image)):
        per_layer = tf.reduce_mean((feature - target) ** 2)
        np.testing.assert_allclose(float(terms[f"content/{name}"]),
                                   1e4 * weight * float(per_layer), rtol=1e-4, err_msg=name)


def test_terms_add_up(random_weights, tiny_image):
    style_layers = ["block1_conv1", "block1_conv2", "block2_conv1"]
    content_layers = ["block2_conv2", "block1_conv2"]
    loss = StyleTransferLoss(random_weights, tiny_image(24, 24, seed=1), tiny_image(16, 20, seed=2),
                             content_layers=content_layers, style_layers=style_layers,
                             style_weight=3.0, content_weight=2.0, tv_weight=0.5)
    terms = {name: float(value) for name, value in loss(tiny_image(24, 24, seed=3)).items()}
    assert set(terms) == ({"total", "content", "style", "tv"}
                          | {f"style/{name}" for name in style_layers}
                          | {f"content/{name}" for name in content_layers})
    assert all(value > 0 for value in terms.values())
    np.testing.assert_allclose(terms["total"], terms["content"] + terms["style"] + terms["tv"],
                               rtol=1e-6)
    np.testing.assert_allclose(terms["style"], sum(terms[f"style/{n}"] for n in style_layers),
                               rtol=1e-6)
    np.testing.assert_allclose(terms["content"],
                               sum(terms[f"content/{n}"] for n in content_layers), rtol=1e-6)
    np.testing.assert_allclose(terms["tv"], 0.5 * total_variation_loss(tiny_image(24, 24, seed=3)),
                               rtol=1e-6)


def test_targets_give_zero_loss(random_weights, tiny_image):
    content, style = tiny_image(16, 16, seed=1), tiny_image(16, 16, seed=2)
    loss = StyleTransferLoss(random_weights, content, style, content_layers=["block2_conv1"],
                             style_layers=["block1_conv1", "block2_conv1"])
    assert float(loss(content)["content"]) == 0.0
    assert float(loss(content)["style"]) > 0
    assert float(loss(style)["style"]) == 0.0
    assert float(loss(style)["content"]) > 0


# --- gradient -------------------------------------------------------------------------

@pytest.mark.parametrize("content_weight, style_weight, tv_weight", [
    (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 1.0)],
    ids=["content", "style", "tv", "all"])
def test_gradient_matches_finite_differences(random_weights, tiny_image, rng, content_weight,
                                             style_weight, tv_weight):
    """tf.GradientTape's gradient of the total loss against central differences.

    The extractor works in float32, so the differences are float32 too. With steps
    of 1e-3 and 3e-4 (0.26 and 0.08 grey levels), rounding error and kinks (ReLU,
    max pooling, |.| in the total variation) stay under ~2% of the largest
    gradient entry on a rough image, where pooled neighbours are not near-ties
    (measured over 40 random-weight seeds; the tolerance is 4%). A wrong gradient
    is far off: e.g. a ReLU whose gradient is let through unchanged gives errors
    of ~25% per pixel here and 30-50% along the gradient (tolerance 1%).
    Each term is checked alone (weights of the others 0) so that a small term's
    wrong gradient cannot hide behind a large one.
    """
    loss = StyleTransferLoss(random_weights, tiny_image(16, 16, seed=1), tiny_image(16, 16, seed=2),
                             content_layers=["block2_conv1"],
                             style_layers=["block1_conv1", "block2_conv1"],
                             content_weight=content_weight, style_weight=style_weight,
                             tv_weight=tv_weight)
    image = rng.uniform(0.1, 0.9, size=(1, 16, 16, 3))  # float64, away from the [0, 1] edges

    def total(x):
        return float(loss(tf.constant(x, tf.float32))["total"])

    variable = tf.Variable(image.astype(np.float32))
    with tf.GradientTape() as tape:
        value = loss(variable)["total"]
    gradient = tape.gradient(value, variable).numpy().astype(np.float64)
    scale = np.abs(gradient).max()
    assert scale > 0

    # A few single pixels. Two step sizes: a kink closer than 1e-3 to the image
    # (e.g. two neighbours 5e-4 apart for the total variation) spoils the larger
    # step; rounding error grows at the smaller one. The right gradient matches at
    # one of them at least; a wrong one at neither.
    coordinates = np.random.default_rng(7).integers(0, [16, 16, 3], size=(8, 3))
    for row, column, channel in coordinates:
        errors = []
        for epsilon in (1e-3, 3e-4):
            step = np.zeros_like(image)
            step[0, row, column, channel] = epsilon
            finite = (total(image + step) - total(image - step)) / (2 * epsilon)
            errors.append(abs(finite - gradient[0, row, column, channel]))
        assert min(errors) <= 0.04 * scale, ((row, column, channel), errors, scale)

    # The direction of steepest ascent: the slope there must be |gradient|.
    direction = gradient / np.linalg.norm(gradient)
    epsilon = 1e-2
    slope = (total(image + epsilon * direction) - total(image - epsilon * direction)) / (2 * epsilon)
    np.testing.assert_allclose(slope, np.linalg.norm(gradient), rtol=1e-2)


@pytest.mark.parametrize("backbone", ["vgg16", "vgg19"])
def test_paper_layers_exist_in_both_backbones(backbone):
    from nst_teach.features import check_layer_names

    for name, layers in nst.PAPER_LAYERS.items():
        for kind in ("content_layers", "style_layers"):
            assert list(check_layer_names(backbone, layers[kind])) == list(layers[kind]), name
    assert nst.PAPER_LAYERS["johnson"]["content_layers"] == ("block2_conv2",)  # relu2_2
    assert nst.PAPER_LAYERS["tutorial"]["content_layers"] == nst.DEFAULT_CONTENT_LAYERS
