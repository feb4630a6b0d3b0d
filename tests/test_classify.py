"""nst_teach.classify: VGG naming what is in a photo, with a stand-in classifier (the real
one's 548 MB of weights are not downloaded in tests)."""

import json

import numpy as np
import pytest
import tensorflow as tf

from nst_teach import classify


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    return tmp_path / "models"


def write_class_index(folder):
    index = {str(number): [f"n{number:08d}", f"class_{number}"] for number in range(1000)}
    (folder / classify.CLASS_INDEX_FILE).write_text(json.dumps(index))


class MeanColourClassifier(tf.keras.Model):
    """Scores classes from the preprocessed image's mean: records what it was given."""

    def call(self, batch, training=False):
        self.seen = batch
        scores = tf.linspace(0.0, 1.0, 1000)[None] * tf.reduce_mean(batch)
        return tf.nn.softmax(scores)


def test_available_only_when_weights_and_names_are_cached(keras_home):
    assert not classify.classifier_available("vgg19")
    (keras_home / classify.CLASSIFIER_FILES["vgg19"]).write_bytes(b"weights")
    assert not classify.classifier_available("vgg19")  # the class names are still missing
    write_class_index(keras_home)
    assert classify.classifier_available("vgg19") and not classify.classifier_available("vgg16")
    with pytest.raises(ValueError, match="vgg16"):
        classify.classifier_available("resnet")


def test_top_classes_are_sorted_named_and_preprocessed_like_keras(keras_home):
    write_class_index(keras_home)
    model = MeanColourClassifier()
    image = np.full((1, 30, 50, 3), 0.9, np.float32)  # bright: the mean is positive after BGR
    top = classify.top_classes(image, num_classes=5, model=model)
    assert [name for name, _ in top] == [f"class {number}" for number in range(999, 994, -1)]
    probabilities = [probability for _, probability in top]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < probabilities[-1] <= 1
    assert model.seen.shape == (1, 224, 224, 3)
    expected = tf.keras.applications.vgg19.preprocess_input(np.full((1, 224, 224, 3), 229.5))
    np.testing.assert_allclose(model.seen, expected, atol=1e-3)


def test_bad_requests_say_what_to_do(keras_home):
    image = np.zeros((1, 8, 8, 3), np.float32)
    with pytest.raises(FileNotFoundError, match="imagenet_class_index.json"):
        classify.top_classes(image, model=MeanColourClassifier())
    with pytest.raises(ValueError, match="num_classes"):
        classify.top_classes(image, num_classes=0, model=MeanColourClassifier())
    with pytest.raises(ValueError):
        classify.top_classes(np.zeros((8, 8, 3)), model=MeanColourClassifier())
