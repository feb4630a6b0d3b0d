"""Faults that lose nothing: a full disk or a read-only folder when saving an image, a `.keras`
network or a checkpoint, and a non-finite loss during fast training.

The faults are injected (the tests run as root, which ignores folder permissions, so a
read-only folder is an `OSError` raised where the file is written). Each test checks the
error says what happened, nothing half-written is left, and the result is still in memory.
(Damaged sample and Keras caches and cut downloads: test_samples.py, test_features.py;
the Studio's faults: test_widgets.py.)
"""

import errno

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nst_teach import fast, images, transformer
from nst_teach.fast import training
from nst_teach.safe_write import SaveError, write_atomically

from test_fast import TINY, photo_folder, train_tiny  # noqa: F401 (photo_folder: a fixture)

FAULTS = {"read-only": PermissionError(errno.EACCES, "Permission denied"),
          "disk full": OSError(errno.ENOSPC, "No space left on device")}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_save_image_on_a_full_disk_or_read_only_folder(tmp_path, monkeypatch, tiny_image,
                                                       fault):
    image = tiny_image(16, 16)
    target = tmp_path / "out" / "result.png"
    images.save_image(tiny_image(16, 16, seed=3), target)  # an earlier good file
    earlier = target.read_bytes()

    def failing_save(self, file, *args, **options):
        with open(file, "wb") as handle:
            handle.write(b"\x89PNG half")  # half written, then the disk fills up
        raise FAULTS[fault]

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(SaveError, match=r"Could not save the image to .*result\.png: ") as error:
        images.save_image(image, target)
    assert "still in memory" in str(error.value) and isinstance(error.value, OSError)
    assert error.value.errno == FAULTS[fault].errno
    assert target.read_bytes() == earlier  # the old file intact, not half a new one
    assert sorted(path.name for path in target.parent.iterdir()) == ["result.png"]


def test_write_atomically_when_the_folder_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SaveError, match="Could not save the checkpoint to"):
        write_atomically(blocker / "sub" / "x.bin", lambda path: path.write_bytes(b"x"),
                         "the checkpoint")


def test_fast_save_on_a_full_disk_keeps_the_model(tmp_path, monkeypatch, rng):
    model = transformer.build_transformer(**TINY)
    photo = rng.uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)
    before = fast.apply_network(model, photo)

    def failing(path, *args, **options):
        raise FAULTS["disk full"]

    monkeypatch.setattr(model, "save", failing)
    with pytest.raises(SaveError, match=r"Could not save the network to .*tiny\.keras: No space"):
        fast.save(model, tmp_path / "tiny.keras")
    assert list(tmp_path.iterdir()) == []
    np.testing.assert_array_equal(fast.apply_network(model, photo), before)  # still usable


def test_a_checkpoint_that_cannot_be_written_does_not_stop_training(
        photo_folder, random_weights, tiny_image, tmp_path, monkeypatch):  # noqa: F811
    original = tf.train.CheckpointManager.save
    calls = []

    def full_after_the_first(self, *args, **options):
        calls.append(options.get("checkpoint_number"))
        if len(calls) > 1:
            raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")
        return original(self, *args, **options)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", full_after_the_first)
    with pytest.warns(RuntimeWarning, match=r"could not save a checkpoint .*No space left.* "
                                            r"the last good checkpoint is .*ckpt-2"):
        result = train_tiny(tiny_image(32, 32, 5), photo_folder, random_weights, num_steps=6,
                            checkpoint_dir=tmp_path / "run", checkpoint_every=2)
    assert result.status == "completed" and result.step == 6  # training went on
    assert result.checkpoint.endswith("ckpt-2")  # the last one that was written
    assert tf.train.latest_checkpoint(str(tmp_path / "run")) == result.checkpoint


def test_a_non_finite_loss_keeps_the_last_good_checkpoint(photo_folder, random_weights,  # noqa: F811
                                                          tiny_image, tmp_path, monkeypatch):
    original = training._train_step

    def poisoned(loss, state, strategy):
        step = original(loss, state, strategy)

        def run(batch):
            values = step(batch)
            if int(state.step.numpy()) >= 3:
                values = {name: float("nan") for name in values}
            return values

        return run

    monkeypatch.setattr(training, "_train_step", poisoned)
    result = train_tiny(tiny_image(32, 32, 5), photo_folder, random_weights, num_steps=10,
                        checkpoint_dir=tmp_path / "run", checkpoint_every=2)
    assert result.status == "not finite"
    assert result.checkpoint.endswith("ckpt-2")  # not overwritten by the broken step
    assert tf.train.latest_checkpoint(str(tmp_path / "run")).endswith("ckpt-2")
    assert "The loss became nan at step 3" in result.message
    assert f"The last good checkpoint is {result.checkpoint}" in result.message


def test_training_divergence_on_histories():
    def history(totals):
        return [{"step": step + 1, "total": total} for step, total in enumerate(totals)]

    falling = np.linspace(10, 1, 30) * (1 + 0.3 * np.sin(np.arange(30)))  # noisy, going down
    assert training.training_divergence(history(falling)) is None
    rising = np.linspace(1, 3, 30)
    message = training.training_divergence(history(rising))
    assert "did not go down in 30 steps" in message and "lower the learning rate" in message
    assert training.training_divergence(history(rising[:19])) is None  # too few to judge
    level = 2.0 * (1 + 0.2 * np.sin(np.arange(30)))  # a trained network's plateau
    assert training.training_divergence(history(level)) is not None  # level: not learning
    assert training.training_divergence(history(level), resumed=True) is None  # ...or learnt
    assert training.training_divergence(history(level[::-1]), resumed=True) is None
    assert "did not go down" in training.training_divergence(history(rising), resumed=True)


def test_a_training_whose_loss_rises_says_so(photo_folder, random_weights, tiny_image,  # noqa: F811
                                            monkeypatch):
    original = training._train_step

    def rising(loss, state, strategy):
        step = original(loss, state, strategy)

        def run(batch):
            values = step(batch)
            factor = 1.5 ** int(state.step.numpy())  # blows up, as with too large a rate
            return {name: value * factor for name, value in values.items()}

        return run

    monkeypatch.setattr(training, "_train_step", rising)
    result = train_tiny(tiny_image(32, 32, 5), photo_folder, random_weights, num_steps=20)
    assert result.status == "diverged"
    assert "did not go down in 20 steps" in result.message
