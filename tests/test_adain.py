"""Tests of AdaIN: nst_teach.core.adain (against NumPy), the decoder, nst_teach.adain.stylize,
training (the loss goes down), the shipped decoder, and train-adain / apply-adain."""

import json

import numpy as np
import pytest
import tensorflow as tf

import nst_teach as nst
from nst_teach import cli, photos, statistics
from nst_teach.adain import decoder as decoder_module
from nst_teach.adain import model as adain_model
from nst_teach.core import adain


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_TEACH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def shipped_model():
    return nst.adain.load_model(precision="float32")


def numpy_mean_std(features, epsilon=adain.EPSILON):
    features = np.asarray(features, np.float64)
    mean = features.mean(axis=(1, 2), keepdims=True)
    return mean, np.sqrt(features.var(axis=(1, 2), keepdims=True) + epsilon)


# ----------------------------------------------------------------------------
# The statistics and the losses, against NumPy.


def test_channel_mean_std_matches_numpy_and_the_gram_route(rng):
    features = rng.normal(2.0, 3.0, (2, 5, 7, 4)).astype(np.float32)
    mean, std = adain.channel_mean_std(features)
    expected_mean, expected_std = numpy_mean_std(features)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(std, expected_std, rtol=1e-5)
    gram_mean, gram_std = statistics.mean_std(features)  # computed through the Gram matrix
    np.testing.assert_allclose(np.asarray(mean)[:, 0, 0], gram_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(std)[:, 0, 0], gram_std, rtol=1e-4)


def test_adain_gives_the_content_the_style_statistics(rng):
    content = rng.normal(1.0, 2.0, (2, 6, 5, 3)).astype(np.float32)
    style = rng.normal(-4.0, 0.5, (1, 9, 11, 3)).astype(np.float32)
    output = np.asarray(adain.adaptive_instance_normalization(content, style))
    content_mean, content_std = numpy_mean_std(content)
    style_mean, style_std = numpy_mean_std(style)
    expected = style_std * (content - content_mean) / content_std + style_mean
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-4)
    mean = output.mean(axis=(1, 2))
    np.testing.assert_allclose(mean, np.broadcast_to(style_mean[:, 0, 0], mean.shape), atol=1e-4)
    # The layout is the content's: normalized, output and content are the same picture.
    np.testing.assert_allclose((output - output.mean(axis=(1, 2), keepdims=True))
                               / output.std(axis=(1, 2), keepdims=True),
                               (content - content_mean) / content.std(axis=(1, 2), keepdims=True),
                               atol=1e-3)


def test_adain_losses_match_numpy_and_vanish_on_the_target(rng):
    decoded = {name: rng.normal(0, 1, (2, 4, 4, 3)).astype(np.float32)
               for name in adain.ADAIN_STYLE_LAYERS}
    style = {name: rng.normal(1, 2, (2, 6, 6, 3)).astype(np.float32)
             for name in adain.ADAIN_STYLE_LAYERS}
    expected = 0.0
    for name in adain.ADAIN_STYLE_LAYERS:
        (mean, std), (style_mean, style_std) = numpy_mean_std(decoded[name]), \
            numpy_mean_std(style[name])
        expected += np.mean((mean - style_mean) ** 2) + np.mean((std - style_std) ** 2)
    np.testing.assert_allclose(float(adain.adain_style_loss(decoded, style)), expected, rtol=1e-4)
    assert float(adain.adain_style_loss(style, style)) == pytest.approx(0.0, abs=1e-8)
    target = rng.normal(0, 1, (2, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(float(adain.adain_content_loss(decoded["block4_conv1"], target)),
                               np.mean((decoded["block4_conv1"] - target) ** 2), rtol=1e-5)


def test_adain_gradient_matches_finite_differences(rng):
    content = tf.constant(rng.normal(0, 1, (1, 3, 3, 2)))
    style = tf.constant(rng.normal(2, 3, (1, 4, 4, 2)))
    weights = tf.constant(rng.normal(0, 1, (1, 3, 3, 2)), tf.float32)

    def objective(x):
        return tf.reduce_sum(weights * adain.adaptive_instance_normalization(
            tf.cast(x, tf.float32), tf.cast(style, tf.float32)))

    theoretical, numerical = tf.test.compute_gradient(objective, [content], delta=1e-3)
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=2e-2, atol=2e-2)


# ----------------------------------------------------------------------------
# The decoder and stylize.


def test_decoder_upsamples_to_the_image_size_and_starts_grey(rng):
    decoder = decoder_module.build_decoder(width=0.125)
    features = np.abs(rng.normal(0, 50, (2, 3, 5, decoder_module.ENCODER_CHANNELS)))  # ReLU'd
    output = np.asarray(decoder(features.astype(np.float32)))
    assert output.shape == (2, 12, 20, 3) and np.isfinite(output).all()  # linear: stylize clips
    assert float(np.abs(output - 0.5).mean()) < 1.0  # untrained: about grey, not hundreds
    assert decoder_module.decoder_width(decoder) == 0.125
    assert decoder_module.build_decoder().count_params() < 0.6e6  # under 2.4 MB in float32
    with pytest.raises(ValueError, match="width must be a number"):
        decoder_module.build_decoder(width=0)


def test_stylize_keeps_any_size_and_checks_its_arguments(shipped_model, tiny_image):
    content, style = tiny_image(37, 50, 1), tiny_image(30, 30, 2)
    picture = nst.adain.stylize(content, style, model=shipped_model)
    assert picture.shape == content.shape and picture.dtype == np.float32
    assert 0 <= picture.min() and picture.max() <= 1
    with pytest.raises(ValueError, match="alpha must be a number in"):
        nst.adain.stylize(content, style, alpha=1.5, model=shipped_model)
    with pytest.raises(ValueError, match="style_weights must be 2 numbers"):
        nst.adain.stylize(content, [style, style], style_weights=[1.0], model=shipped_model)
    with pytest.raises(ValueError, match="at least 16 px"):
        nst.adain.stylize(content, tiny_image(8, 30, 2), model=shipped_model)
    with pytest.raises(ValueError, match="train one with"):
        nst.adain.load_model("/nonexistent/decoder.keras")


def test_alpha_and_style_weights_mean_what_they_say(shipped_model, tiny_image):
    content, style_a, style_b = tiny_image(48, 48, 1), tiny_image(40, 40, 2), tiny_image(40, 40, 3)
    model = shipped_model
    np.testing.assert_allclose(  # alpha 0: the content's own activations, decoded
        nst.adain.stylize(content, style_a, alpha=0.0, model=model),
        np.clip(np.asarray(model.decode(model.encode(content))), 0, 1), atol=1e-5)
    np.testing.assert_allclose(  # all the weight on one style is that style alone
        nst.adain.stylize(content, [style_a, style_b], style_weights=[2.0, 0.0], model=model),
        nst.adain.stylize(content, style_a, model=model), atol=1e-5)
    halfway = nst.adain.stylize(content, style_a, alpha=0.5, model=model)
    full = nst.adain.stylize(content, style_a, model=model)
    assert not np.allclose(halfway, full, atol=1e-3)


def test_remembered_encodings_are_the_encodings_of_the_exact_pixels(shipped_model, tiny_image):
    model = shipped_model
    model.encodings.clear()
    style, photos_in_turn = tiny_image(32, 32, 2), [tiny_image(32, 32, seed) for seed in range(5, 11)]
    remembered = model.encode_cached(style)
    np.testing.assert_allclose(remembered, model.encode(style), atol=1e-6)
    for photo in photos_in_turn:  # one style for more photos than are remembered:
        assert model.encode_cached(style) is remembered  # the style is encoded once
        np.testing.assert_allclose(model.encode_cached(photo), model.encode(photo), atol=1e-6)
    assert len(model.encodings) == adain_model.CACHED_ENCODINGS
    photo = photos_in_turn[-1]
    before = model.encode_cached(photo)
    photo[0, 5, 5] = 1.0 - photo[0, 5, 5]  # one pixel changed in place: encoded again
    np.testing.assert_allclose(model.encode_cached(photo), model.encode(photo), atol=1e-6)
    assert not np.allclose(model.encode_cached(photo), before)
    assert len(model.encodings) == adain_model.CACHED_ENCODINGS  # the oldest made room


def test_shipped_decoder_stylizes_an_unseen_photo_with_an_unseen_style(shipped_model, hed_weights):
    photo = photos.heldout_photo("coffee", 128)
    style = nst.adain.heldout_style("mosaic_9001", 128)
    picture = nst.adain.stylize(photo, style, model=shipped_model)
    options = {"weights": hed_weights, "verbose": False}
    stylized = nst.compute_losses(picture, photo, style, **options)
    untouched = nst.compute_losses(photo, photo, style, **options)
    assert stylized["style"] < 0.35 * untouched["style"]  # the style came through (0.18 here)...
    painting = nst.resize_image(style, photo.shape[1:3])  # ...and more of the photo stayed
    painting_content = nst.compute_losses(painting, photo, style, **options)["content"]
    assert stylized["content"] < painting_content  # than in the painting itself
    metadata = nst.adain.decoder_metadata(nst.adain.SHIPPED_DECODER)
    assert metadata["weights"] == "hed" and metadata["layer"] == adain.ENCODER_LAYER
    assert nst.adain.SHIPPED_DECODER.name.endswith(".weights.h5")  # loads in older Keras too
    assert decoder_module.decoder_width(shipped_model.decoder) == metadata["width"]


# ----------------------------------------------------------------------------
# Training.


def test_training_lowers_the_loss_and_saves_a_loadable_decoder(cache, tmp_path, hed_weights):
    result = nst.adain.train_decoder(weights=hed_weights, num_steps=30, crop_size=32,
                                     batch_size=2, width=0.125, progress=False, verbose=False,
                                     preview_every=15, checkpoint_dir=tmp_path / "checkpoints",
                                     checkpoint_every=15, learning_rate=2e-3)
    totals = [record["total"] for record in result.history]
    assert result.status == "completed" and len(totals) == 30
    assert np.median(totals[-5:]) < np.median(totals[:5])
    assert [step for step, _ in result.previews] == [15, 30]
    assert result.checkpoint.endswith("ckpt-30")
    path = nst.adain.save_decoder(result, tmp_path / "decoder.keras")
    assert json.loads(path.with_suffix(".json").read_text())["width"] == 0.125
    model = nst.adain.load_model(path, backbone_weights=hed_weights)
    photo = photos.heldout_photo("chelsea", 32)
    features = model.encode(photo[:, :, :32])
    # decode clips to [0, 1]; the raw decoder of a 30-step training can stray past 0 or 1.
    np.testing.assert_allclose(model.decode(features),
                               np.clip(result.model(features), 0.0, 1.0), atol=1e-5)
    resumed = nst.adain.train_decoder(weights=hed_weights, num_steps=32, crop_size=32,
                                      batch_size=2, progress=False, verbose=False,
                                      checkpoint_dir=tmp_path / "checkpoints")
    assert resumed.settings["start_step"] == 30 and resumed.step == 32
    assert resumed.settings["width"] == 0.125  # the checkpoint's decoder, not a new default


def test_offline_styles_hold_no_heldout_style(cache):
    files = nst.adain.offline_styles()
    names = {path.stem for path in files}
    assert len(files) >= 3 * len(nst.adain.styles.TRAINING_SEEDS)
    assert not names & set(nst.adain.heldout_style_names())
    with pytest.raises(ValueError, match="not a held-out style"):
        nst.adain.heldout_style("swirls_0")


# ----------------------------------------------------------------------------
# The commands.


def test_apply_adain_and_apply_fast_with_a_shipped_network(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    nst.save_image(photos.heldout_photo("rocket", 64), photo)
    style = tmp_path / "style.png"
    nst.save_image(nst.adain.heldout_style("waves_9002", 64), style)
    output = tmp_path / "out.png"
    assert cli.main(["apply-adain", str(photo), str(style), str(style), "--alpha", "0.7",
                     "--style-weights", "1", "2", "-o", str(output)]) == 0
    assert nst.load_image(output).shape == (1, 43, 64, 3)
    assert cli.main(["apply-adain", str(photo), str(style), "--style-weights", "1", "2",
                     "-o", str(output)]) == 2
    assert "one --style-weights value per STYLE" in capsys.readouterr().err
    shipped = nst.fast.pretrained_styles()[0]
    assert cli.main(["apply-fast", shipped, str(photo), "-o", str(output)]) == 0
    assert nst.load_image(output).shape == (1, 43, 64, 3)


def test_train_adain_then_apply_adain_with_that_decoder(cache, tmp_path, capsys):
    decoder = tmp_path / "decoder.keras"
    assert cli.main(["train-adain", "-o", str(decoder), "--steps", "2", "--size", "32",
                     "--batch-size", "1", "--width", "0.125", "-q"]) == 0
    out = capsys.readouterr().out
    assert "2 steps" in out and decoder.is_file() and decoder.with_suffix(".json").is_file()
    photo = tmp_path / "photo.png"
    nst.save_image(photos.heldout_photo("chelsea", 48), photo)
    output = tmp_path / "out.png"
    assert cli.main(["apply-adain", str(photo), "waves", "--decoder", str(decoder), "--size", "48",
                     "-o", str(output)]) == 0
    assert nst.load_image(output).shape == (1, 32, 48, 3)
    assert cli.main(["train-adain", "-o", str(tmp_path / "decoder.h5"), "--steps", "1"]) == 2
    assert "save the decoder as a .keras file" in capsys.readouterr().err
