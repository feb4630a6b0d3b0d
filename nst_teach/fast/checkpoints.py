"""Training state shared by the feed-forward networks and AdaIN's decoder: the model, Adam,
a step counter and a `tf.train.CheckpointManager`, so that a run can stop and resume."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import warnings

import keras
import tensorflow as tf

from nst_teach.callbacks import Run


@dataclasses.dataclass
class TrainingState:
    """The network, its optimizer, the step counter and where checkpoints go."""

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    step: tf.Variable
    checkpoint: tf.train.Checkpoint
    manager: tf.train.CheckpointManager | None
    saved_path: str | None = None
    save_failed: bool = False

    def save(self, run: Run, final: bool = False) -> None:
        """Saves a checkpoint at this step (once); at the end, not after a non-finite loss.

        A checkpoint that cannot be written (read-only folder, full disk) does not stop
        training: one warning says so, and `saved_path` stays the last good one.
        """
        if self.manager is None or (final and run.status == "not finite"):
            return
        if self.saved_path is None or not self.saved_path.endswith(f"-{run.step}"):
            try:
                self.saved_path = self.manager.save(checkpoint_number=run.step)
            except (OSError, tf.errors.OpError) as error:
                if not self.save_failed:
                    reason = " ".join(str(error).split())[:200]
                    warnings.warn(f"nst_teach: could not save a checkpoint to "
                                  f"{self.manager.directory} ({reason}); training goes on, the "
                                  f"network is in memory, the last good checkpoint is "
                                  f"{self.saved_path}.", RuntimeWarning, stacklevel=2)
                self.save_failed = True


def checkpointed_state(model: keras.Model, learning_rate: float, folder: pathlib.Path | None,
                       resume: bool, strategy: tf.distribute.Strategy | None = None,
                       config: tuple[str, dict] | None = None) -> TrainingState:
    """Adam and a step counter for `model`, checkpointed in `folder` (None: not saved).

    With `resume`, the latest checkpoint in `folder` is restored, except its learning
    rate: Adam runs at `learning_rate` from then on. `config` is a file
    name and a dict written beside the checkpoints (what network to rebuild).
    Shared by the feed-forward networks and AdaIN's decoder.
    """
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        optimizer = keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    manager = None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=3)
        if resume and manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            # The checkpoint holds Adam's rate too: the rate asked for now wins, so a
            # resumed run can lower it (Adam's moments and step count are kept).
            optimizer.learning_rate.assign(learning_rate)
        if config is not None:
            (folder / config[0]).write_text(json.dumps(config[1]))
    return TrainingState(model, optimizer, step, checkpoint, manager,
                         manager.latest_checkpoint if manager else None)
