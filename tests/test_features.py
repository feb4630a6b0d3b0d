"""The VGG backbone: layer names, geometry, weights, and activations."""

import hashlib
import re
import shutil
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from nst_teach import backbone_weights
from nst_teach.backbone_weights import load_weights
from nst_teach.core.images import preprocess_for_vgg
from nst_teach.core.vgg import layer_names
from nst_teach.features import (
    FeatureExtractor,
    check_layer_names,
    layer_channels,
    layer_masks,
    minimum_image_side,
    receptive_field,
    receptive_field_box,
)


@pytest.fixture(scope="module")
def keras_vgg19():
    return keras.applications.VGG19(include_top=False, weights=None)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No ImageNet cache (empty KERAS_HOME) and no network, whatever the machine has.
    Returns the list of timeouts `imagenet_reachable` was called with."""
    calls = []

    def unreachable(timeout=3.0):
        calls.append(timeout)
        return False

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(backbone_weights, "imagenet_reachable", unreachable)
    return calls


# --- names and geometry ---------------------------------------------------------------

@pytest.mark.parametrize("backbone, convolutions", [("vgg16", 13), ("vgg19", 16)])
def test_layer_name_counts(backbone, convolutions):
    names = layer_names(backbone)
    assert sum("_conv" in name for name in names) == convolutions
    assert [name for name in names if name.endswith("_pool")] == [
        f"block{block}_pool" for block in range(1, 6)]
    assert len(names) == convolutions + 5 == len(set(names))
    assert names[:3] == ["block1_conv1", "block1_conv2", "block1_pool"]
    assert layer_names(backbone, include_pooling=False) == [n for n in names if "_conv" in n]


def test_layer_names_and_channels_match_keras(keras_vgg16_hed, keras_vgg19):
    for backbone, model in [("vgg16", keras_vgg16_hed), ("vgg19", keras_vgg19)]:
        keras_names = [layer.name for layer in model.layers[1:]]  # [0] is the input
        assert layer_names(backbone) == keras_names
        for name in keras_names:
            assert layer_channels(backbone, name) == model.get_layer(name).output.shape[-1]


def test_layer_channels_values():
    assert layer_channels("vgg16", "block1_conv1") == 64
    assert layer_channels("vgg16", "block2_pool") == 128
    assert layer_channels("vgg16", "block3_conv3") == 256
    assert layer_channels("vgg19", "block3_conv4") == 256
    assert layer_channels("vgg19", "block5_conv4") == 512
    with pytest.raises(ValueError, match="Unknown layer 'block3_conv4' for vgg16"):
        layer_channels("vgg16", "block3_conv4")


def test_unknown_backbone():
    with pytest.raises(ValueError, match="Unknown backbone 'vgg11'"):
        layer_names("vgg11")
    with pytest.raises(ValueError, match="Unknown backbone 'resnet50'"):
        load_weights("resnet50", None)


# Receptive fields by hand. A 3x3 convolution adds 2 * jump to the field's side; a
# 2x2 / stride-2 pooling adds 1 * jump and doubles the jump (start: side 1, jump 1).
#   block1_conv1: 1 + 2 = 3                 block1_conv2: 3 + 2 = 5
#   block1_pool:  5 + 1 = 6, jump 2         block2_conv1: 6 + 2*2 = 10
#   block2_conv2: 10 + 4 = 14               block2_pool: 14 + 2 = 16, jump 4
#   block3_conv1: 16 + 8 = 24, conv2 32, conv3 40; block3_pool: 44, jump 8
#   block4_conv1: 44 + 16 = 60, conv2 76, conv3 92; block4_pool: 100, jump 16
#   block5_conv1: 100 + 32 = 132, conv2 164, conv3 196; block5_pool: 212, jump 32
# (196 and 212 are the published values for VGG16's conv5_3 and pool5.)
# VGG19 has a 4th conv in blocks 3-5: block3_conv4 48, block3_pool 52 (jump 8),
#   block4_conv4 52 + 4*16 = 116, block4_pool 124 (jump 16), block5_conv4 124 + 4*32 = 252.
@pytest.mark.parametrize("backbone, layer, expected", [
    ("vgg16", "block1_conv1", (3, 1)),
    ("vgg16", "block1_conv2", (5, 1)),
    ("vgg16", "block1_pool", (6, 2)),
    ("vgg16", "block2_conv1", (10, 2)),
    ("vgg16", "block2_pool", (16, 4)),
    ("vgg16", "block3_conv1", (24, 4)),
    ("vgg16", "block5_conv1", (132, 16)),
    ("vgg16", "block5_conv3", (196, 16)),
    ("vgg16", "block5_pool", (212, 32)),
    ("vgg19", "block3_conv4", (48, 4)),
    ("vgg19", "block5_conv4", (252, 16)),
])
def test_receptive_field_by_hand(backbone, layer, expected):
    assert receptive_field(backbone, layer) == expected


@pytest.mark.parametrize("layer", ["block1_conv2", "block1_pool", "block2_conv1",
                                   "block2_pool", "block3_conv1"])
def test_receptive_field_measured_by_gradient(random_weights, tiny_image, layer):
    """The input pixels an activation depends on (non-zero gradient) span exactly
    the receptive field; moving one activation along moves them by the jump."""
    extractor = FeatureExtractor(random_weights, [layer], pooling="average")
    image = tf.constant(tiny_image(64, 64, seed=5))
    starts, sizes = [], []
    for offset in (0, 1):
        with tf.GradientTape() as tape:
            tape.watch(image)
            activations = extractor(image)[layer]
            centre = activations.shape[1] // 2
            value = tf.reduce_sum(activations[0, centre, centre + offset, :])
        support = np.argwhere(np.abs(tape.gradient(value, image).numpy()[0]).sum(-1) > 0)
        starts.append(support.min(0))
        sizes.append(support.max(0) - support.min(0) + 1)
    size, jump = receptive_field("vgg16", layer)
    assert sizes[0].tolist() == [size, size]
    assert (starts[1] - starts[0]).tolist() == [0, jump]


@pytest.mark.parametrize("layer, position", [
    ("block1_conv2", (3, 4)), ("block2_conv1", (0, 0)), ("block2_conv2", (10, 20)),
    ("block3_conv1", (5, 7)), ("block3_pool", (2, 3)), ("block4_conv1", (4, 5)),
    ("block4_conv1", (7, 10))])  # corners, the middle and the far edge of a 70 x 90 image
def test_receptive_field_box_is_the_gradient_support(hed_weights, tiny_image, layer, position):
    """The box drawn on the image is exactly where the activation's gradient is not zero."""
    extractor = FeatureExtractor(hed_weights, [layer], pooling="average", precision="float32")
    image = tf.constant(tiny_image(70, 90, seed=4))
    with tf.GradientTape() as tape:
        tape.watch(image)
        value = tf.reduce_sum(extractor(image)[layer][0, position[0], position[1], :])
    support = np.argwhere(np.abs(tape.gradient(value, image).numpy()[0]).sum(-1) > 0)
    top, left = support.min(0)
    bottom, right = support.max(0)
    assert receptive_field_box("vgg16", layer, position, (70, 90)) == (top, left, bottom, right)


def test_receptive_field_box_refuses_a_position_outside_the_grid():
    assert receptive_field_box("vgg16", "block3_conv1", (16, 21), (70, 90))[2:] == (69, 89)
    with pytest.raises(ValueError, match=r"Position \(17, 0\) is outside block3_conv1's "
                                         r"17 x 22 grid"):
        receptive_field_box("vgg16", "block3_conv1", (17, 0), (70, 90))


# --- layer name checks ----------------------------------------------------------------

def test_typo_suggests_a_close_name(random_weights):
    with pytest.raises(ValueError, match=r"Unknown layer 'block4_conv9' for vgg16\. "
                                         r"Did you mean 'block4_conv[123]'\?") as error:
        FeatureExtractor(random_weights, ["block1_conv1", "block4_conv9"])
    message = str(error.value)
    assert all(name in message for name in layer_names("vgg16"))  # lists the valid names
    with pytest.raises(ValueError, match="Did you mean 'block1_conv1'"):
        load_weights("vgg16", None, up_to="blok1_conv1")
    with pytest.raises(ValueError, match="Unknown layer 'conv4_2'"):
        check_layer_names("vgg19", ["conv4_2"])


def test_layer_list_errors(random_weights):
    with pytest.raises(ValueError, match=r"must be a list such as \['block1_conv1'\]"):
        FeatureExtractor(random_weights, "block1_conv1")
    with pytest.raises(ValueError, match="at least one layer"):
        FeatureExtractor(random_weights, [])
    with pytest.raises(ValueError, match="pooling must be 'max' or 'average'"):
        FeatureExtractor(random_weights, ["block1_conv1"], pooling="avg")


# --- preprocessing and the extractor --------------------------------------------------

def test_preprocess_matches_keras(rng):
    images = rng.uniform(0, 1, size=(2, 5, 4, 3)).astype(np.float32)
    ours = preprocess_for_vgg(images)
    assert ours.dtype == tf.float32
    for preprocess in (keras.applications.vgg19.preprocess_input,
                       keras.applications.vgg16.preprocess_input):
        np.testing.assert_allclose(ours.numpy(), preprocess(images * 255.0), rtol=1e-6, atol=1e-4)
    # Spelled out: BGR order, ImageNet means subtracted.
    np.testing.assert_allclose(ours.numpy()[..., 0], images[..., 2] * 255 - 103.939, atol=1e-4)
    np.testing.assert_allclose(ours.numpy()[..., 2], images[..., 0] * 255 - 123.68, atol=1e-4)


@pytest.mark.parametrize("height, width", [(64, 48), (45, 38)])
def test_activation_shapes(tiny_image, height, width):
    weights = load_weights("vgg16", None)
    names = layer_names("vgg16")
    activations = FeatureExtractor(weights, names)(tiny_image(height, width))
    assert list(activations) == names
    h, w = height, width
    for name in names:
        if name.endswith("_pool"):
            h, w = h // 2, w // 2  # 2x2 pooling, stride 2, "valid": halves, rounding down
        assert activations[name].shape == (1, h, w, layer_channels("vgg16", name)), name
        assert activations[name].dtype == tf.float32
    expected_last = {(64, 48): (2, 1), (45, 38): (1, 1)}[(height, width)]
    assert activations["block5_pool"].shape[1:3] == expected_last


def test_extractor_computes_only_up_to_the_deepest_layer(random_weights, tiny_image):
    # Requested out of order: the deepest one decides.
    extractor = FeatureExtractor(random_weights, ["block2_conv1", "block1_conv1"])
    assert extractor.network == ["block1_conv1", "block1_conv2", "block1_pool", "block2_conv1"]
    assert set(extractor.kernels) == {"block1_conv1", "block1_conv2", "block2_conv1"}
    assert set(extractor(tiny_image(16, 16))) == {"block1_conv1", "block2_conv1"}
    # Weights that stop at the deepest layer suffice ...
    shallow = load_weights("vgg16", None, up_to="block2_conv1")
    assert set(shallow.convolutions) == {"block1_conv1", "block1_conv2", "block2_conv1"}
    FeatureExtractor(shallow, ["block2_conv1"])
    # ... and one layer deeper is missing.
    with pytest.raises(ValueError, match="do not hold block2_conv2"):
        FeatureExtractor(shallow, ["block2_conv2"])


def test_extractor_matches_keras_vgg16(hed_weights, keras_vgg16_hed, tiny_image):
    layers = ["block1_conv2", "block2_pool", "block3_conv3", "block4_conv1", "block5_conv3"]
    image = tiny_image(64, 48, seed=4)
    ours = FeatureExtractor(hed_weights, layers)(image)
    reference = keras.Model(keras_vgg16_hed.input,
                            [keras_vgg16_hed.get_layer(name).output for name in layers])
    expected = reference(keras.applications.vgg19.preprocess_input(image * 255.0))
    for name, value in zip(layers, expected):
        value = np.asarray(value)
        assert np.abs(value).max() > 0, name
        np.testing.assert_allclose(ours[name].numpy(), value, rtol=1e-4,
                                   atol=1e-3 * np.abs(value).max(), err_msg=name)


def test_average_pooling(random_weights, tiny_image):
    layers = ["block1_conv2", "block1_pool", "block2_conv1"]
    image = tiny_image(17, 14, seed=6)  # odd height: the last row is dropped
    by_max = FeatureExtractor(random_weights, layers, pooling="max")(image)
    by_average = FeatureExtractor(random_weights, layers, pooling="average")(image)
    conv = by_max["block1_conv2"].numpy()
    np.testing.assert_array_equal(conv, by_average["block1_conv2"].numpy())
    windows = conv[:, :16, :14].reshape(1, 8, 2, 7, 2, 64)
    np.testing.assert_allclose(by_max["block1_pool"].numpy(), windows.max(axis=(2, 4)))
    np.testing.assert_allclose(by_average["block1_pool"].numpy(), windows.mean(axis=(2, 4)),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(by_average["block1_pool"].numpy(),
                               tf.nn.avg_pool2d(conv, 2, 2, "VALID").numpy(), rtol=1e-6)
    assert not np.allclose(by_max["block1_pool"].numpy(), by_average["block1_pool"].numpy())
    assert not np.allclose(by_max["block2_conv1"].numpy(), by_average["block2_conv1"].numpy())


# --- weights --------------------------------------------------------------------------

def test_random_weights_are_seeded():
    first = load_weights("vgg16", None, seed=3, up_to="block2_conv1")
    again = load_weights("vgg16", None, seed=3, up_to="block2_conv1")
    other = load_weights("vgg16", None, seed=4, up_to="block2_conv1")
    assert first.source == "random (seed 3)"
    for name, (kernel, bias) in first.convolutions.items():
        np.testing.assert_array_equal(kernel, again.convolutions[name][0])
        assert not np.allclose(kernel, other.convolutions[name][0])
        np.testing.assert_array_equal(bias, 0.0)


def test_random_weights_are_glorot_uniform(random_weights):
    assert random_weights.backbone == "vgg16"
    assert list(random_weights.convolutions) == ["block1_conv1", "block1_conv2", "block2_conv1",
                                                 "block2_conv2", "block3_conv1"]
    in_channels = 3
    for name, (kernel, bias) in random_weights.convolutions.items():
        out_channels = layer_channels("vgg16", name)
        assert kernel.shape == (3, 3, in_channels, out_channels) and kernel.dtype == np.float32
        assert bias.shape == (out_channels,) and bias.dtype == np.float32
        limit = np.sqrt(6 / (9 * in_channels + 9 * out_channels))
        assert 0.95 * limit < np.abs(kernel).max() <= limit
        np.testing.assert_allclose(kernel.std(), limit / np.sqrt(3), rtol=0.05)
        in_channels = out_channels


def test_random_weights_default_to_vgg19():
    weights = load_weights(weights=None, up_to="block3_conv4")
    assert weights.backbone == "vgg19"
    assert list(weights.convolutions)[-1] == "block3_conv4"


def test_hed_weights(hed_weights):
    assert (hed_weights.backbone, hed_weights.source) == ("vgg16", "hed")
    assert list(hed_weights.convolutions) == layer_names("vgg16", include_pooling=False)
    in_channels = 3
    for name, (kernel, bias) in hed_weights.convolutions.items():
        out_channels = layer_channels("vgg16", name)
        assert kernel.shape == (3, 3, in_channels, out_channels) and kernel.dtype == np.float32
        assert bias.shape == (out_channels,)
        in_channels = out_channels
    partial = load_weights(None, "hed", up_to="block1_pool")  # backbone None -> vgg16
    assert list(partial.convolutions) == ["block1_conv1", "block1_conv2"]


def test_hed_with_vgg19_raises():
    with pytest.raises(ValueError, match="hed weights exist only for vgg16, not 'vgg19'"):
        load_weights("vgg19", "hed")


def test_unknown_weights_name():
    with pytest.raises(ValueError, match="Unknown weights 'imagenet21k'"):
        load_weights("vgg16", "imagenet21k")


def test_imagenet_offline_raises_quickly(offline, tmp_path):
    assert backbone_weights.imagenet_cache_path("vgg16") == (
        tmp_path / "keras_home" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="not cached") as error:
        load_weights("vgg16", "imagenet")
    assert time.perf_counter() - start < 10
    message = str(error.value)
    for alternative in ("weights='hed'", "weights=None", ".h5"):
        assert alternative in message
    assert offline  # the network check was asked, not skipped


def test_auto_offline_picks_hed_and_says_so(offline, capsys):
    weights = load_weights("vgg16", "auto", up_to="block1_conv2", timeout=0.25)
    assert (weights.backbone, weights.source) == ("vgg16", "hed")
    assert list(weights.convolutions) == ["block1_conv1", "block1_conv2"]
    assert offline == [0.25]  # the timeout reaches the check
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "hed" in lines[0]

    assert load_weights(None, "auto", up_to="block1_conv1").backbone == "vgg16"
    capsys.readouterr()
    load_weights("vgg16", "auto", up_to="block1_conv1", verbose=False)
    assert capsys.readouterr().err == ""


def cache_stand_in(monkeypatch, backbone: str, content: bytes = b"stand-in") -> None:
    """Writes a stand-in ImageNet file into the Keras cache and makes its MD5 the expected one
    (the real file cannot be downloaded here)."""
    cache = backbone_weights.imagenet_cache_path(backbone)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(content)
    monkeypatch.setitem(backbone_weights.IMAGENET_MD5, backbone, hashlib.md5(content).hexdigest())


def test_auto_picks_cached_imagenet(offline, monkeypatch, capsys, random_weights):
    # An intact cached file counts even offline; Keras' loading itself is replaced by a stub.
    cache_stand_in(monkeypatch, "vgg19")
    loaded = []

    def from_keras_model(backbone, weights, source, up_to):
        loaded.append((backbone, weights, up_to))
        return random_weights

    monkeypatch.setattr(backbone_weights, "_from_keras_model", from_keras_model)
    assert load_weights(None, "auto", up_to="block1_conv1") is random_weights
    assert loaded == [("vgg19", "imagenet", "block1_conv1")]
    assert "ImageNet" in capsys.readouterr().err


def test_a_damaged_imagenet_cache_offline_falls_back_to_hed_in_one_line(offline, monkeypatch,
                                                                          capsys):
    cache_stand_in(monkeypatch, "vgg19", b"the whole file")
    backbone_weights.imagenet_cache_path("vgg19").write_bytes(b"the whole")  # cut short
    assert backbone_weights.imagenet_cache_state("vgg19") == "damaged"
    weights = load_weights(None, "auto", up_to="block1_conv1")
    assert weights.source == "hed"
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "is damaged and cannot be downloaded again" in lines[0]
    with pytest.raises(RuntimeError, match=r"are damaged \(not keras.applications' checksum"):
        load_weights("vgg19", "imagenet")


def test_a_damaged_imagenet_cache_online_goes_to_keras(offline, monkeypatch, random_weights):
    # Reachable: keras.applications sees the wrong checksum and downloads the file again.
    cache_stand_in(monkeypatch, "vgg16", b"good")
    backbone_weights.imagenet_cache_path("vgg16").write_bytes(b"bad")
    monkeypatch.setattr(backbone_weights, "imagenet_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(backbone_weights, "_from_keras_model",
                        lambda backbone, weights, source, up_to: random_weights)
    assert load_weights("vgg16", "auto", verbose=False) is random_weights
    assert load_weights("vgg16", "imagenet") is random_weights


@pytest.mark.parametrize("profile, expected", [("binder", "vgg16"), ("local", "vgg19")])
def test_auto_uses_the_profile_backbone(offline, monkeypatch, capsys, random_weights,
                                        profile, expected):
    # Binder's profile says VGG16: "auto" with a cached ImageNet file must load that network.
    from nst_teach import profiles
    monkeypatch.setitem(profiles._STATE, "chosen", None)
    monkeypatch.setenv("NST_TEACH_PROFILE", profile)
    for backbone in ("vgg16", "vgg19"):
        cache_stand_in(monkeypatch, backbone)
    loaded = []

    def from_keras_model(backbone, weights, source, up_to):
        loaded.append(backbone)
        return random_weights

    monkeypatch.setattr(backbone_weights, "_from_keras_model", from_keras_model)
    load_weights(None, "auto", up_to="block1_conv1")
    assert loaded == [expected]
    assert f"ImageNet {expected.upper()}" in capsys.readouterr().err
    load_weights("vgg19", "auto", up_to="block1_conv1")  # an explicit backbone wins
    assert loaded == [expected, "vgg19"]


def test_hed_format_file(hed_weights, tmp_path):
    path = backbone_weights.hed_weights_path()
    for given in (path, str(path)):
        weights = load_weights("vgg16", given, up_to="block2_conv2")
        assert list(weights.convolutions) == ["block1_conv1", "block1_conv2",
                                              "block2_conv1", "block2_conv2"]
        for name, (kernel, bias) in weights.convolutions.items():
            np.testing.assert_array_equal(kernel, hed_weights.convolutions[name][0])
            np.testing.assert_array_equal(bias, hed_weights.convolutions[name][1])
    # Recognised by its content, whatever the file is called.
    copy = shutil.copy(path, tmp_path / "my_edges.h5")
    weights = load_weights(None, copy, up_to="block1_conv1")
    np.testing.assert_array_equal(weights.convolutions["block1_conv1"][0],
                                  hed_weights.convolutions["block1_conv1"][0])


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'nothing.h5'} does not exist")):
        load_weights("vgg16", tmp_path / "nothing.h5")
    broken = tmp_path / "broken.weights.h5"
    broken.write_text("this is not HDF5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        load_weights("vgg16", broken)
    with pytest.raises(ValueError, match="Unknown weights"):
        load_weights("vgg16", str(tmp_path / "weights.pt"))


def test_keras_weights_file(tmp_path):
    model = keras.applications.VGG16(include_top=False, weights=None)
    path = tmp_path / "vgg16.weights.h5"
    model.save_weights(path)
    weights = load_weights("vgg16", path)
    assert weights.source == str(path)
    assert list(weights.convolutions) == layer_names("vgg16", include_pooling=False)
    for name, (kernel, bias) in weights.convolutions.items():
        expected_kernel, expected_bias = model.get_layer(name).get_weights()
        np.testing.assert_array_equal(kernel, expected_kernel)
        np.testing.assert_array_equal(bias, expected_bias)


def test_auto_loads_the_file_named_by_the_environment(tmp_path, monkeypatch, capsys):
    """NST_TEACH_WEIGHTS_FILE: "auto" loads a Keras-layout file (ImageNet's shapes) as it
    would load ImageNet's, through keras.applications, whatever the network and cache."""
    model = keras.applications.VGG19(include_top=False, weights=None)  # random, ImageNet layout
    path = tmp_path / "stand_in_vgg19.weights.h5"
    model.save_weights(path)
    monkeypatch.setenv("NST_TEACH_WEIGHTS_FILE", str(path))
    monkeypatch.setattr(backbone_weights, "imagenet_reachable",
                        lambda timeout=3.0: pytest.fail("the network was asked"))
    weights = load_weights(None, "auto", up_to="block3_conv4")
    assert (weights.backbone, weights.source) == ("vgg19", str(path))
    assert "NST_TEACH_WEIGHTS_FILE" in capsys.readouterr().err
    kernel, bias = weights.convolutions["block3_conv4"]
    np.testing.assert_array_equal(kernel, model.get_layer("block3_conv4").get_weights()[0])
    assert load_weights("vgg16", "hed", up_to="block1_conv1").source == "hed"  # only "auto"


# --- masks at each layer, recomputation, minimum size (lesson 09) -----------------------


def test_layer_masks_have_each_layers_size_and_average_the_cells(random_weights, rng):
    mask = rng.uniform(0, 1, size=(1, 37, 22, 1)).astype(np.float32)  # odd sizes: "valid" crops
    layers = ["block1_conv1", "block2_conv2", "block3_conv1"]
    masks = layer_masks(mask, "vgg16", layers)
    activations = FeatureExtractor(random_weights, layers)(np.zeros((1, 37, 22, 3), np.float32))
    for name in layers:
        assert masks[name].shape[1:3] == activations[name].shape[1:3], name
    np.testing.assert_array_equal(masks["block1_conv1"].numpy(), mask)
    # Two 2x2 poolings: each block3 value is the mean of a 4x4 cell of the mask.
    cells = mask[0, :36, :20, 0].reshape(9, 4, 5, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(masks["block3_conv1"].numpy()[0, :, :, 0], cells, rtol=1e-5)


def test_recompute_gives_the_same_values_and_gradients(random_weights, tiny_image):
    layers = ["block1_conv1", "block2_conv2", "block3_conv1"]
    image = tf.Variable(tiny_image(24, 32, seed=4))
    results = []
    for recompute in (False, True):
        extractor = FeatureExtractor(random_weights, layers, pooling="max", recompute=recompute)

        @tf.function
        def evaluate(extractor=extractor):
            with tf.GradientTape() as tape:
                outputs = extractor(image)
                total = tf.add_n([tf.reduce_sum(tf.square(value)) for value in outputs.values()])
            return outputs, tape.gradient(total, image)

        results.append(evaluate())
    (plain, plain_gradient), (checkpointed, checkpointed_gradient) = results
    for name in layers:
        np.testing.assert_allclose(checkpointed[name].numpy(), plain[name].numpy(), rtol=1e-6)
    assert np.abs(plain_gradient.numpy()).max() > 0
    np.testing.assert_allclose(checkpointed_gradient.numpy(), plain_gradient.numpy(), rtol=1e-5,
                               atol=1e-6 * np.abs(plain_gradient.numpy()).max())


def test_minimum_image_side():
    assert minimum_image_side("vgg16", ["block1_conv1", "block1_conv2"]) == 1
    assert minimum_image_side("vgg16", ["block2_conv1"]) == 2
    assert minimum_image_side("vgg19", ["block1_conv1", "block5_conv1"]) == 16
    assert minimum_image_side("vgg16", ["block5_pool"]) == 32


@pytest.mark.parametrize("recompute", [False, True])
def test_transforms_reduce_layers_inside_the_network(random_weights, tiny_image, recompute):
    """A transform's result replaces the layer's activations (an empty tuple drops them),
    with the same values and gradient as applying it afterwards."""
    layers = ["block1_conv1", "block2_conv1", "block3_conv1"]
    extractor = FeatureExtractor(random_weights, layers, recompute=recompute)
    image = tf.Variable(tiny_image(24, 32, seed=5))

    def squares(features):
        return tf.reduce_sum(tf.square(features)), tf.reduce_mean(features)

    with tf.GradientTape(persistent=True) as tape:
        plain = extractor(image)
        reduced = extractor(image, {"block1_conv1": squares, "block2_conv1": lambda f: ()})
        expected_total = squares(plain["block1_conv1"])[0]
        total = reduced["block1_conv1"][0]
    assert reduced["block2_conv1"] == ()
    np.testing.assert_allclose(reduced["block3_conv1"].numpy(), plain["block3_conv1"].numpy())
    for value, expected in zip(reduced["block1_conv1"], squares(plain["block1_conv1"])):
        np.testing.assert_allclose(value.numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(total, image).numpy(),
                               tape.gradient(expected_total, image).numpy(), rtol=1e-5,
                               atol=1e-7 * float(expected_total))
