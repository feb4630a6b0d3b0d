"""`train_decoder`: AdaIN's decoder, trained through the shared run loop.

Each step takes a batch of photo crops and a batch of style crops, encodes both,
sets each photo's `block3_conv1` statistics to its style's (`t = AdaIN(x, y)`),
decodes `t`, encodes the picture again and minimizes

    content_weight * mean((f(g(t)) - t)^2)
    + style_weight * sum over layers of mean((mu - mu_s)^2) + mean((sigma - sigma_s)^2)
    + reconstruction_weight * mean((g(f(photo)) - photo)^2)

(`nst_teach.core.adain`; the last term, after Li et al. 2017, is not in Huang & Belongie). Only the decoder learns; the encoder is VGG, fixed.
Progress, checkpoints, Stop and time budget are those of `nst.fast.train`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import threading
import time
from typing import Any

import keras
import tensorflow as tf

from nst_teach import photos as photo_sources
from nst_teach.adain.decoder import build_decoder, decoder_width
from nst_teach.adain.model import AdaINModel, stylize
from nst_teach.adain.styles import heldout_style, heldout_style_names, offline_styles
from nst_teach.backbone_weights import resolve_weights
from nst_teach.core.adain import (
    ADAIN_STYLE_LAYERS,
    ENCODER_LAYER,
    adain_content_loss,
    adain_style_loss,
    adaptive_instance_normalization,
)
from nst_teach.fast.checkpoints import TrainingState, checkpointed_state
from nst_teach.fast.defaults import TrainingSettings
from nst_teach.fast.files import save
from nst_teach.fast.training import TrainingResult, _run_training
from nst_teach.features import FeatureExtractor
from nst_teach.optimize import device_name

ADAIN_DEFAULTS = {"crop_size": 128, "batch_size": 4, "num_steps": 400, "learning_rate": 1e-4,
                  "style_size": 128, "content_weight": 1.0, "style_weight": 10.0,
                  "reconstruction_weight": 1e4}


def train_decoder(styles: Any = "offline", photos: Any = "offline", *,
                  decoder: keras.Model | None = None, width: float = 1.0, weights: Any = "hed",
                  content_weight: float | None = None, style_weight: float | None = None,
                  reconstruction_weight: float | None = None, precision: str = "float32", num_steps: int | None = None,
                  max_seconds: float | None = None, crop_size: int | None = None,
                  batch_size: int | None = None, learning_rate: float | None = None,
                  preview_every: int = 50, checkpoint_dir: str | os.PathLike | None = None,
                  checkpoint_every: int = 100, resume: bool = True, callbacks=None,
                  progress: bool = True, stop_event: threading.Event | None = None,
                  seed: int = 0, verbose: bool = True) -> TrainingResult:
    """Trains AdaIN's decoder to paint `block3_conv1` activations with any statistics.

    Args:
        styles: ``"offline"`` (`offline_styles()`), a folder, or a list of image files.
        photos: As for `nst.fast.train` (``"offline"``: the training split).
        decoder, width: A decoder to train further, or the width of a new one.
        weights: The encoder's VGG16 weights (``"hed"`` works offline).
        content_weight, style_weight, reconstruction_weight: Multiply the terms (None:
            `ADAIN_DEFAULTS`).
        precision: The encoder's convolutions (`FeatureExtractor`).
        num_steps, max_seconds, crop_size, batch_size, learning_rate, preview_every,
            checkpoint_every: As `TrainingSettings` (None: `ADAIN_DEFAULTS`).
        checkpoint_dir, resume, callbacks, progress, stop_event, verbose: As for
            `nst.fast.train` (`run.image()` is a held-out photo in a held-out style).
        seed: Seeds the decoder's initial weights and the data order.

    Returns:
        A `TrainingResult` whose `.model` is the decoder.
    """
    started = time.perf_counter()
    options = TrainingSettings.with_defaults(
        ADAIN_DEFAULTS, num_steps=num_steps, max_seconds=max_seconds, crop_size=crop_size,
        batch_size=batch_size, learning_rate=learning_rate, style_size=None,
        preview_every=preview_every, checkpoint_every=checkpoint_every)
    given = {"content_weight": content_weight, "style_weight": style_weight,
             "reconstruction_weight": reconstruction_weight}
    loss_weights = {name: float(ADAIN_DEFAULTS[name] if value is None else value)
                    for name, value in given.items()}
    backbone_weights = resolve_weights("vgg16", weights, ADAIN_STYLE_LAYERS, seed, verbose)
    encoder = FeatureExtractor(backbone_weights, ADAIN_STYLE_LAYERS, precision=precision)
    state = _decoder_state(decoder, width, checkpoint_dir, resume, options.learning_rate, seed)
    start_step = int(state.step.numpy())
    batches, counts = _batches(photos, styles, options, seed + start_step, progress)
    settings = {"encoder": f"vgg16 to {ENCODER_LAYER}", "weights": backbone_weights.source,
                "precision": encoder.precision, "width": decoder_width(state.model),
                **loss_weights, **dataclasses.asdict(options), **counts, "seed": seed,
                "start_step": start_step, "num_parameters": int(state.model.count_params())}
    preview_model = AdaINModel(state.model, FeatureExtractor(backbone_weights, [ENCODER_LAYER],
                                                             precision=precision))
    preview_photo = photo_sources.heldout_photo(photo_sources.heldout_names()[0], 128)
    preview_style = heldout_style(heldout_style_names()[0], 128)
    return _run_training(state, _decoder_step(encoder, state, **loss_weights), batches, options,
                         settings, preview_photo, device_name(), started, callbacks=callbacks,
                         progress=progress, stop_event=stop_event, verbose=verbose,
                         description="train-adain",
                         make_preview=lambda: stylize(preview_photo, preview_style,
                                                      model=preview_model))


def _batches(photos, styles, options: TrainingSettings, seed: int, progress: bool):
    """Pairs of batches (photo crops, style crops), and how many files each set has."""
    photo_files = photo_sources.photo_files(photos, progress=progress)
    style_files = offline_styles() if isinstance(styles, str) and styles == "offline" \
        else photo_sources.photo_files(styles, progress=progress)
    batches = tf.data.Dataset.zip((
        photo_sources.photo_dataset(photo_files, options.crop_size, options.batch_size,
                                    augment_colors=True, seed=seed),
        photo_sources.photo_dataset(style_files, options.crop_size, options.batch_size,
                                    seed=seed + 1)))
    return iter(batches), {"num_photos": len(photo_files), "num_styles": len(style_files)}


def _decoder_state(decoder: keras.Model | None, width: float, checkpoint_dir, resume: bool,
                   learning_rate: float, seed: int) -> TrainingState:
    """Builds (or restores from `checkpoint_dir`) the decoder, optimizer and step counter."""
    folder = pathlib.Path(checkpoint_dir).expanduser() if checkpoint_dir is not None else None
    config_file = folder / "decoder.json" if folder else None
    if decoder is None:
        if resume and config_file is not None and config_file.is_file():
            width = json.loads(config_file.read_text())["width"]
        keras.utils.set_random_seed(seed)
        decoder = build_decoder(width)
    return checkpointed_state(decoder, learning_rate, folder, resume,
                              config=("decoder.json", {"width": decoder_width(decoder)}))


def _decoder_step(encoder: FeatureExtractor, state: TrainingState, content_weight: float,
                  style_weight: float, reconstruction_weight: float):
    """One compiled step: encode both batches, AdaIN, decode, encode again, descend.

    The reconstruction term (pixel mean squared error of `decoder(f(photo))` against the
    photo, as Li et al. 2017 train their decoders) keeps the pictures natural: without
    it, a briefly trained decoder fools VGG with high-frequency patterns.
    """
    decoder, optimizer = state.model, state.optimizer

    @tf.function
    def train_step(batch):
        photos, styles = batch
        content_features = encoder(photos)[ENCODER_LAYER]
        style_features = encoder(styles)
        target = adaptive_instance_normalization(content_features, style_features[ENCODER_LAYER])
        with tf.GradientTape() as tape:
            decoded_features = encoder(decoder(target, training=True))
            content = adain_content_loss(decoded_features[ENCODER_LAYER], target)
            style = adain_style_loss(decoded_features, style_features)
            reconstruction = tf.reduce_mean(tf.square(
                decoder(content_features, training=True) - photos))
            total = (content_weight * content + style_weight * style
                     + reconstruction_weight * reconstruction)
        gradients = tape.gradient(total, decoder.trainable_variables)
        optimizer.apply_gradients(zip(gradients, decoder.trainable_variables))
        state.step.assign_add(1)
        return {"total": total, "content": content, "style": style,
                "reconstruction": reconstruction}

    return train_step


def save_decoder(result_or_decoder, path: str | os.PathLike) -> pathlib.Path:
    """Saves a decoder as `.keras`, with a `.json` beside it naming its encoder and training.

    Args:
        result_or_decoder: A `TrainingResult` from `train_decoder`, or a decoder.
        path: A `.keras` file name.
    """
    decoder = getattr(result_or_decoder, "model", result_or_decoder)
    settings = getattr(result_or_decoder, "settings", {})
    written = save(decoder, path)
    metadata = {"backbone": "vgg16", "weights": settings.get("weights", "hed"),
                "layer": ENCODER_LAYER, "width": decoder_width(decoder),
                "steps": int(getattr(result_or_decoder, "step", 0) or 0), "training": settings}
    written.with_suffix(".json").write_text(json.dumps(metadata, indent=1, default=str) + "\n")
    return written
