"""Tests of fast style transfer: nst_teach.transformer, nst_teach.photos, nst_teach.fast,
and the train-fast / apply-fast commands. Tiny images, tiny networks, random VGG weights;
downloads go only to an HTTP server on 127.0.0.1 started here."""

import http.server
import io
import tarfile
import threading
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nst_teach import cli, fast, images, photos, transformer
from nst_teach.losses import StyleTransferLoss

LAYERS = {"content_layers": ["block2_conv2"],
          "style_layers": ["block1_conv1", "block2_conv1", "block3_conv1"]}
TINY = {"base_filters": 4, "num_residual_blocks": 1}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_TEACH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """Four smooth random 'photos' of different sizes as PNG and JPEG files."""
    from image_helpers import smooth_random_image

    folder = tmp_path_factory.mktemp("photos")
    for index, (height, width) in enumerate([(48, 64), (40, 40), (64, 50), (36, 44)]):
        suffix = "png" if index % 2 else "jpg"
        images.save_image(smooth_random_image(height, width, seed=index),
                          folder / f"photo{index}.{suffix}")
    return folder


def train_tiny(style, photo_folder, random_weights, **options):
    settings = dict(weights=random_weights, **LAYERS, crop_size=32, batch_size=2,
                    progress=False, verbose=False, preview=None, **TINY)
    settings.update(options)
    return fast.train(style, photos=str(photo_folder), **settings)


# ----------------------------------------------------------------------------
# The network.


@pytest.mark.parametrize("shape", [(1, 16, 16, 3), (1, 37, 50, 3), (3, 64, 48, 3)])
def test_transformer_keeps_any_size_and_stays_in_range(shape, rng):
    model = transformer.build_transformer(**TINY)
    batch = rng.uniform(0, 1, shape).astype(np.float32)
    output = fast.apply_network(model, batch)
    assert output.shape == shape and output.dtype == np.float32
    assert 0.0 <= output.min() and output.max() <= 1.0
    assert not np.allclose(output, output.mean())  # not a constant image


def test_stylize_takes_a_list_of_sizes_and_batches_match_single_images(rng):
    model = transformer.build_transformer(**TINY)
    batch = rng.uniform(0, 1, (3, 32, 40, 3)).astype(np.float32)
    together = fast.apply_network(model, batch, batch_size=2)
    one_by_one = fast.apply_network(model, [batch[i:i + 1] for i in range(3)])
    np.testing.assert_allclose(together, np.concatenate(one_by_one), atol=1e-5)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((16, 16, 3), np.float32), "batch axis"),
    (np.zeros((1, 8, 32, 3), np.float32), "at least 16"),
    (np.full((1, 16, 16, 3), 2.0, np.float32), None),
    (np.zeros((1, 16, 16, 3), np.uint8), "float"),
])
def test_stylize_rejects_bad_images(bad, message):
    model = transformer.build_transformer(**TINY)
    with pytest.raises(ValueError, match=message):
        fast.apply_network(model, bad)


def test_build_transformer_rejects_bad_options():
    with pytest.raises(ValueError, match="base_filters"):
        transformer.build_transformer(base_filters=0)
    with pytest.raises(ValueError, match="interpolation"):
        transformer.build_transformer(interpolation="cubic")


def test_architecture_reads_back_and_paper_network_size():
    model = transformer.build_transformer(base_filters=8, num_residual_blocks=2,
                                          interpolation="bilinear")
    assert transformer.architecture(model) == {"base_filters": 8, "num_residual_blocks": 2,
                                               "interpolation": "bilinear"}
    paper = transformer.build_transformer(**transformer.PAPER_ARCHITECTURE)
    assert 1.6e6 < paper.count_params() < 1.8e6  # Johnson et al.: about 1.68 M parameters


def test_instance_normalization_matches_numpy(rng):
    x = rng.normal(2.0, 3.0, (2, 5, 7, 4)).astype(np.float32)
    layer = transformer.InstanceNormalization(epsilon=1e-5)
    layer.build(x.shape)
    layer.scale.assign(np.array([1.0, 2.0, 0.5, -1.0], np.float32))
    layer.offset.assign(np.array([0.0, 1.0, -1.0, 3.0], np.float32))
    mean = x.mean(axis=(1, 2), keepdims=True)
    variance = x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(variance + 1e-5) * layer.scale.numpy() + layer.offset.numpy()
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-4, atol=1e-4)


def test_reflection_padding_and_pad_crop_match_numpy(rng):
    x = rng.uniform(0, 1, (1, 6, 9, 3)).astype(np.float32)
    padded = np.asarray(transformer.ReflectionPadding2D(2)(x))
    np.testing.assert_array_equal(padded, np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], "reflect"))
    to_multiple = np.asarray(transformer.PadToMultiple(4)(x))
    np.testing.assert_array_equal(to_multiple,
                                  np.pad(x, [(0, 0), (0, 2), (0, 3), (0, 0)], "reflect"))
    cropped = np.asarray(transformer.CropLike()([to_multiple, x]))
    np.testing.assert_array_equal(cropped, x)


# ----------------------------------------------------------------------------
# The loss and the gradients.


def test_perceptual_loss_is_the_stylize_objective_with_the_photo_as_content(
        random_weights, tiny_image):
    photo, style, output = tiny_image(32, 32, 0), tiny_image(40, 40, 1), tiny_image(32, 32, 2)
    options = dict(**LAYERS, content_weight=3.0, style_weight=5.0, tv_weight=0.5)
    loss = fast.PerceptualLoss(random_weights, style, **options)
    reference = StyleTransferLoss(random_weights, photo, style, **options)
    terms, expected = loss(tf.constant(photo), tf.constant(output)), reference(tf.constant(output))
    for name in ("total", "content", "style", "tv", "style/block1_conv1"):
        np.testing.assert_allclose(float(terms[name]), float(expected[name]), rtol=1e-4)
    # On a batch the terms are the mean over the batch's images.
    photos_batch = np.concatenate([photo, output])
    outputs_batch = np.concatenate([output, photo])
    both = loss(tf.constant(photos_batch), tf.constant(outputs_batch))
    second = StyleTransferLoss(random_weights, output, style, **options)(tf.constant(photo))
    np.testing.assert_allclose(float(both["total"]),
                               (float(expected["total"]) + float(second["total"])) / 2, rtol=1e-4)


def test_perceptual_loss_in_bfloat16_is_close_to_float32(random_weights, tiny_image):
    photo, style, output = tiny_image(32, 32, 0), tiny_image(40, 40, 1), tiny_image(32, 32, 2)
    losses = {precision: fast.PerceptualLoss(random_weights, style, **LAYERS, precision=precision)
              for precision in ("float32", "bfloat16")}
    assert losses["bfloat16"].settings()["precision"] == "bfloat16"
    terms = {}
    for precision, loss in losses.items():
        image = tf.Variable(output)
        with tf.GradientTape() as tape:
            terms[precision] = loss(tf.constant(photo), image)
        terms[precision]["gradient"] = tape.gradient(terms[precision]["total"], image)
        assert terms[precision]["gradient"].dtype == tf.float32
    for name in ("total", "content", "style"):
        np.testing.assert_allclose(float(terms["bfloat16"][name]), float(terms["float32"][name]),
                                   rtol=0.05)
    cosine = tf.reduce_sum(terms["bfloat16"]["gradient"] * terms["float32"]["gradient"]) / (
        tf.norm(terms["bfloat16"]["gradient"]) * tf.norm(terms["float32"]["gradient"]))
    assert float(cosine) > 0.95


def test_gradient_reaches_every_weight(random_weights, tiny_image):
    model = transformer.build_transformer(base_filters=4, num_residual_blocks=2)
    loss = fast.PerceptualLoss(random_weights, tiny_image(32, 32, 1), **LAYERS)
    photos_batch = tf.constant(np.concatenate([tiny_image(32, 32, 3), tiny_image(32, 32, 4)]))
    with tf.GradientTape() as tape:
        total = loss(photos_batch, model(photos_batch, training=True))["total"]
    gradients = tape.gradient(total, model.trainable_variables)
    assert len(gradients) == len(model.trainable_variables) > 10
    for variable, gradient in zip(model.trainable_variables, gradients):
        assert gradient is not None, variable.path
        assert float(tf.reduce_max(tf.abs(gradient))) > 0, variable.path


# ----------------------------------------------------------------------------
# Training, checkpoints, stopping, saving.


def test_training_lowers_the_loss_on_a_fixed_batch(photo_folder, random_weights, tiny_image):
    style = tiny_image(48, 48, 7)
    loss = fast.PerceptualLoss(random_weights, style, **LAYERS, content_weight=1e4,
                               style_weight=1e-2, tv_weight=30.0)
    batch = tf.constant(np.concatenate([tiny_image(32, 32, 8), tiny_image(32, 32, 9)]))
    keras.utils.set_random_seed(0)
    model = transformer.build_transformer(**TINY)
    before = float(loss(batch, model(batch))["total"])
    result = train_tiny(style, photo_folder, random_weights, model=model, num_steps=40,
                        learning_rate=1e-2)
    after = float(loss(batch, model(batch))["total"])
    assert result.status == "completed" and result.step == 40
    assert [record["step"] for record in result.history] == list(range(1, 41))
    assert after < 0.7 * before, (before, after)


def test_resume_continues_the_step_count(photo_folder, random_weights, tiny_image, tmp_path):
    style = tiny_image(32, 32, 5)
    first = train_tiny(style, photo_folder, random_weights, num_steps=3,
                       checkpoint_dir=tmp_path / "run", checkpoint_every=2)
    assert first.checkpoint.endswith("ckpt-3")
    # Same number of steps: nothing to do, and the restored weights are the trained ones.
    again = train_tiny(style, photo_folder, random_weights, num_steps=3,
                       checkpoint_dir=tmp_path / "run")
    assert again.history == [] and again.status == "completed"
    for saved, restored in zip(first.model.get_weights(), again.model.get_weights()):
        np.testing.assert_array_equal(saved, restored)
    later = train_tiny(style, photo_folder, random_weights, num_steps=5,
                       checkpoint_dir=tmp_path / "run")
    assert [record["step"] for record in later.history] == [4, 5]
    assert later.settings["start_step"] == 3 and later.checkpoint.endswith("ckpt-5")
    fresh = train_tiny(style, photo_folder, random_weights, num_steps=1,
                       checkpoint_dir=tmp_path / "run", resume=False)
    assert [record["step"] for record in fresh.history] == [1]


def test_a_learning_rate_given_on_resume_replaces_the_checkpointed_one(tmp_path):
    from nst_teach.fast.checkpoints import checkpointed_state

    first = checkpointed_state(transformer.build_transformer(base_filters=8, num_residual_blocks=1),
                               1e-3, tmp_path, resume=False)
    first.optimizer.apply_gradients([(tf.ones_like(variable), variable)
                                     for variable in first.model.trainable_variables])
    first.manager.save()
    resumed = checkpointed_state(transformer.build_transformer(base_filters=8, num_residual_blocks=1),
                                 1e-4, tmp_path, resume=True)
    assert float(resumed.optimizer.learning_rate.numpy()) == pytest.approx(1e-4)
    assert int(resumed.optimizer.iterations.numpy()) == 1  # Adam's state is kept
    for saved, restored in zip(first.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(saved, restored)


def test_resume_with_another_network_is_refused(photo_folder, random_weights, tiny_image,
                                                tmp_path):
    style = tiny_image(32, 32, 5)
    train_tiny(style, photo_folder, random_weights, num_steps=1, checkpoint_dir=tmp_path / "r")
    other = transformer.build_transformer(base_filters=8, num_residual_blocks=1)
    with pytest.raises(ValueError, match="resume=False"):
        train_tiny(style, photo_folder, random_weights, num_steps=2, model=other,
                   checkpoint_dir=tmp_path / "r")


@pytest.mark.parametrize("how", ["stop_event", "keyboard_interrupt"])
def test_stop_keeps_a_checkpoint(how, photo_folder, random_weights, tiny_image, tmp_path):
    def stop_at_two(run):
        if run.step == 2:
            if how == "stop_event":
                run.request_stop()
            else:
                raise KeyboardInterrupt

    result = train_tiny(tiny_image(32, 32, 5), photo_folder, random_weights, num_steps=50,
                        checkpoint_dir=tmp_path / how, checkpoint_every=100,
                        callbacks=[stop_at_two])
    assert result.status == ("stopped" if how == "stop_event" else "interrupted")
    assert result.step == 2 and result.checkpoint.endswith("ckpt-2")
    assert tf.train.latest_checkpoint(str(tmp_path / how)) == result.checkpoint


def test_time_budget_and_previews(photo_folder, random_weights, tiny_image):
    result = train_tiny(tiny_image(32, 32, 5), photo_folder, random_weights, max_seconds=1e-3,
                        preview="auto", preview_every=1)
    assert result.status == "time budget" and result.history == []
    result = train_tiny(tiny_image(32, 32, 5), photo_folder, random_weights, num_steps=4,
                        preview="auto", preview_every=2)
    held_out = photos.load_photo(sorted(photo_folder.iterdir())[-1], 256)
    np.testing.assert_array_equal(result.preview_photo, held_out)
    assert [step for step, _ in result.previews] == [2, 4]
    assert result.previews[-1][1].shape == held_out.shape
    assert result.settings["num_photos"] == 3  # the held-out photo is not trained on


def test_offline_training_previews_a_heldout_photo(cache, random_weights, tiny_image):
    settings = dict(weights=random_weights, **LAYERS, crop_size=32, batch_size=2,
                    progress=False, verbose=False, **TINY)
    result = fast.train(tiny_image(32, 32, 5), photos="offline", num_steps=1, preview="auto",
                        preview_every=1, **settings)
    first = photos.heldout_names()[0]
    np.testing.assert_array_equal(result.preview_photo, photos.heldout_photo(first))
    assert result.settings["num_photos"] == len(photos.photo_files("offline"))
    assert [step for step, _ in result.previews] == [1]


def test_train_rejects_bad_options(photo_folder, random_weights, tiny_image, tmp_path):
    style = tiny_image(32, 32, 5)
    with pytest.raises(ValueError, match="num_steps"):
        train_tiny(style, photo_folder, random_weights, num_steps=0)
    with pytest.raises(ValueError, match="crop_size"):
        train_tiny(style, photo_folder, random_weights, num_steps=1, crop_size=8)
    with pytest.raises(ValueError, match="does not exist"):
        train_tiny(style, tmp_path / "nowhere", random_weights, num_steps=1)


def test_save_and_load_give_identical_outputs(tmp_path, tiny_image):
    model = transformer.build_transformer(**TINY)
    model.get_layer("down1_norm").offset.assign(np.linspace(-1, 1, 4).astype(np.float32))
    path = fast.save(model, tmp_path / "models" / "tiny.keras")
    loaded = fast.load(path)
    photo = tiny_image(40, 52, 3)
    np.testing.assert_array_equal(fast.apply_network(model, photo), fast.apply_network(loaded, photo))
    assert transformer.architecture(loaded) == transformer.architecture(model)
    with pytest.raises(ValueError, match=".keras"):
        fast.save(model, tmp_path / "tiny.h5")
    with pytest.raises(ValueError, match="does not exist"):
        fast.load(tmp_path / "missing.keras")


def test_default_settings_depend_on_the_device():
    assert fast.default_settings("CPU") == fast.CPU_DEFAULTS
    assert fast.default_settings("GPU:0")["base_filters"] == 32
    assert fast.choose_strategy().num_replicas_in_sync == 1  # this machine has no GPU


# ----------------------------------------------------------------------------
# Photos: the pipeline, the offline set, the download.


def test_photo_dataset_gives_batches_of_crops(photo_folder):
    files = photos.list_photos(photo_folder)
    assert [path.name for path in files] == ["photo0.jpg", "photo1.png", "photo2.jpg",
                                             "photo3.png"]
    dataset = photos.photo_dataset(files, crop_size=24, batch_size=3, augment_colors=True)
    for batch in dataset.take(3):
        assert batch.shape == (3, 24, 24, 3) and batch.dtype == tf.float32
        assert 0.0 <= float(tf.reduce_min(batch)) and float(tf.reduce_max(batch)) <= 1.0


def test_random_crop_is_a_window_of_the_photo_or_its_mirror(rng):
    image = rng.uniform(0, 1, (24, 40, 3)).astype(np.float32)
    seen_flip = seen_plain = False
    for _ in range(20):  # max_zoom_out=1: the shorter side is already the crop's
        crop = np.asarray(photos.random_crop(tf.constant(image), 24, max_zoom_out=1.0))
        windows = [image[:, left:left + 24] for left in range(17)]
        plain = any(np.allclose(crop, window, atol=1e-5) for window in windows)
        flipped = any(np.allclose(crop[:, ::-1], window, atol=1e-5) for window in windows)
        assert plain or flipped
        seen_plain |= plain and not flipped
        seen_flip |= flipped and not plain
    assert seen_plain and seen_flip


def test_offline_photos_are_made_once_and_reproducible(cache):
    folder = photos.offline_photos()
    files = photos.list_photos(folder)
    assert len(files) == len(photos.photo_library.available_photos("train")) \
        + photos.NUM_OFFLINE_SCENES
    assert (folder / "photo_grace_hopper.jpg").is_file()
    stamp = files[-1].stat().st_mtime_ns
    assert photos.offline_photos() == folder and files[-1].stat().st_mtime_ns == stamp
    scene = photos.generate_scene(seed=3, size=64)
    np.testing.assert_array_equal(scene, photos.generate_scene(seed=3, size=64))
    assert scene.shape == (1, 64, 64, 3) and scene.std() > 0.05
    assert photos.photo_files("offline") == files


def test_photo_files_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        photos.photo_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .jpg"):
        photos.photo_files(tmp_path / "empty")
    with pytest.raises(ValueError, match="not found"):
        photos.photo_files([tmp_path / "missing.png"])
    with pytest.raises(ValueError, match="Unknown photo dataset"):
        photos.download_dataset("imagenet-21k")


def png_bytes(seed):
    array = np.random.default_rng(seed).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def make_archives():
    members = {"val/a.png": png_bytes(0), "val/sub/b.jpg": png_bytes(1),
               "../escape.png": png_bytes(2), "val/readme.txt": b"not a photo"}
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    routes = {"/photos.zip": zipped.getvalue(), "/photos.tgz": tarred.getvalue()}
    try:  # a Hugging Face image dataset: an `image` column of {bytes, path} structs
        import pyarrow as arrow
        import pyarrow.parquet as parquet
    except ImportError:
        return routes
    table = arrow.table({"image": [{"bytes": png_bytes(3), "path": "a.png"},
                                   {"bytes": png_bytes(4), "path": None}, None],
                         "style": [1, 2, 3]})
    buffer = io.BytesIO()
    parquet.write_table(table, buffer, row_group_size=2)
    routes["/paintings.parquet"] = buffer.getvalue()
    return routes


class ArchiveHandler(http.server.BaseHTTPRequestHandler):
    routes = make_archives()

    def do_GET(self):  # noqa: N802 (name fixed by http.server)
        self.server.requests.append(self.path)
        body = self.routes.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *arguments):
        pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ArchiveHandler)
    httpd.requests = []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("archive", ["photos.zip", "photos.tgz"])
def test_download_dataset_from_a_local_server(archive, server, tmp_path, capsys):
    dataset = photos.PhotoDataset("local", f"{server.url}/{archive}", 3, 1, "CC0", "tests")
    folder = photos.download_dataset(dataset, cache_directory=tmp_path, progress=True)
    names = sorted(path.name for path in photos.list_photos(folder))
    assert names == ["escape.png", "val__a.png", "val__sub__b.jpg"]
    assert not (tmp_path.parent / "escape.png").exists()
    assert "Downloading local" in capsys.readouterr().err  # the progress bar
    assert photos.download_dataset(dataset, cache_directory=tmp_path) == folder
    assert server.requests == [f"/{archive}"]  # the second call used the cache
    assert not list(tmp_path.glob(".*.part"))


def test_download_a_parquet_dataset_from_a_local_server(server, tmp_path):
    pytest.importorskip("pyarrow")
    dataset = photos.PhotoDataset("paintings", f"{server.url}/paintings.parquet", 2, 1, "PD",
                                  "tests")
    folder = photos.download_dataset(dataset, cache_directory=tmp_path, progress=False)
    files = photos.list_photos(folder)
    assert [path.name for path in files] == ["000000.png", "000001.jpg"]  # the empty row skipped
    assert images.load_image(files[0]).shape[-1] == 3
    assert photos.PHOTO_DATASETS["wikiart-shard"].url.endswith(".parquet")


def test_failed_download_leaves_nothing_behind(server, tmp_path):
    dataset = photos.PhotoDataset("gone", f"{server.url}/missing.zip", 1, 1, "CC0", "tests")
    with pytest.raises(OSError):
        photos.download_dataset(dataset, cache_directory=tmp_path, progress=False)
    assert not list(tmp_path.glob(".*.part"))
    assert not (tmp_path / "gone" / photos.COMPLETE_MARKER).exists()


# ----------------------------------------------------------------------------
# The command line.


def single_error_line(stderr):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nst-teach: error: "), stderr
    return lines[0]


def train_fast_two_steps(photo_folder, tmp_path, model_path, *options):
    """`train-fast` on a random 40 px style: 2 steps of 32 px crops, random VGG weights."""
    style = tmp_path / "style.png"
    images.save_image(np.random.default_rng(0).uniform(0, 1, (1, 40, 40, 3)).astype(np.float32),
                      style)
    return cli.main(["train-fast", str(style), "-o", str(model_path), "--photos",
                     str(photo_folder), "--steps", "2", "--size", "32", "--batch-size", "1",
                     "--weights", "random", *options, "-q"])


def test_cli_train_fast_then_apply_fast(photo_folder, tmp_path, capsys):
    model_path = tmp_path / "tiny.keras"
    code = train_fast_two_steps(photo_folder, tmp_path, model_path, "--base-filters", "4",
                                "--residual-blocks", "1", "--checkpoint-dir",
                                str(tmp_path / "checkpoints"))
    out = capsys.readouterr().out
    assert code == 0 and model_path.is_file()
    assert "2 steps" in out and str(model_path.resolve()) in out
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-2")
    photo_paths = sorted(str(path) for path in photo_folder.iterdir())[:2]
    assert cli.main(["apply-fast", str(model_path), *photo_paths, "-o",
                     str(tmp_path / "out")]) == 0
    written = sorted((tmp_path / "out").iterdir())
    assert [path.name for path in written] == ["photo0_stylized.png", "photo1_stylized.png"]
    assert Image.open(written[0]).size == Image.open(photo_paths[0]).size
    assert cli.main(["apply-fast", str(model_path), photo_paths[0], "-o",
                     str(tmp_path / "one.jpg")]) == 0
    assert (tmp_path / "one.jpg").is_file()


def test_cli_train_fast_init_from_trains_that_network_further(photo_folder, tmp_path, capsys):
    start = transformer.build_transformer(**TINY, name="start")
    start_path = fast.save(start, tmp_path / "start.keras")
    model_path = tmp_path / "further.keras"
    code = train_fast_two_steps(photo_folder, tmp_path, model_path, "--init-from",
                                str(start_path))
    assert code == 0 and "2 steps" in capsys.readouterr().out
    further = fast.load(model_path)
    # No --base-filters given, yet the tiny network's architecture (not the CPU default's).
    assert transformer.architecture(further) == transformer.architecture(start)
    assert further.count_params() == start.count_params()
    changed = [not np.array_equal(before, after)
               for before, after in zip(start.get_weights(), further.get_weights())]
    assert any(changed), "the network was not trained"
    # Starting from the network, not a new one: two steps move the weights only a little.
    assert max(float(np.max(np.abs(before - after)))
               for before, after in zip(start.get_weights(), further.get_weights())) < 0.05


def test_cli_train_fast_init_from_a_shipped_network_by_its_style_name(photo_folder, tmp_path,
                                                                     capsys):
    model_path = tmp_path / "mosaic_further.keras"
    assert train_fast_two_steps(photo_folder, tmp_path, model_path, "--init-from", "mosaic") == 0
    shipped, further = fast.pretrained("mosaic"), fast.load(model_path)
    assert transformer.architecture(further) == transformer.architecture(shipped)
    differences = [float(np.max(np.abs(before - after)))
                   for before, after in zip(shipped.get_weights(), further.get_weights())]
    assert 0 < max(differences) < 0.05  # trained, and from the shipped weights


def test_cli_train_fast_init_from_refuses_contradicting_options(tmp_path, capsys):
    start_path = fast.save(transformer.build_transformer(**TINY), tmp_path / "start.keras")
    common = ["train-fast", "swirls", "-o", str(tmp_path / "m.keras"), "--init-from",
              str(start_path), "--steps", "1"]
    assert cli.main([*common, "--base-filters", "8"]) == 2
    assert "drop --base-filters" in single_error_line(capsys.readouterr().err)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    tf.train.Checkpoint(step=tf.Variable(1)).save(str(folder / "ckpt"))
    assert cli.main([*common, "--checkpoint-dir", str(folder)]) == 2
    assert "holds the checkpoints" in single_error_line(capsys.readouterr().err)
    assert cli.main([*common[:-3], str(tmp_path / "missing.keras"), "--steps", "1"]) == 1
    assert "does not exist" in single_error_line(capsys.readouterr().err)


def test_cli_fast_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["apply-fast", str(tmp_path / "none.keras"), "x.png", "-o",
                     str(tmp_path / "o.png")]) == 1
    assert "does not exist" in single_error_line(capsys.readouterr().err)
    model_path = fast.save(transformer.build_transformer(**TINY), tmp_path / "m.keras")
    assert cli.main(["apply-fast", str(model_path), "a.png", "b.png", "-o",
                     str(tmp_path / "o.png")]) == 2
    assert "folder" in single_error_line(capsys.readouterr().err)
    assert cli.main(["train-fast", "swirls", "-o", str(tmp_path / "m.h5")]) == 2
    assert ".keras" in single_error_line(capsys.readouterr().err)
    assert cli.main(["train-fast", "swirls", "-o", str(tmp_path / "m.keras"),
                     "--steps", "0"]) == 2
    single_error_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------
# The exercise checks of lesson 11.


def test_lesson_checks_accept_right_and_reject_wrong_answers(capsys):
    from nst_teach import checks

    def instance_normalization(x):
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return (x - mean) / tf.sqrt(variance + 1e-5)

    def upsample_nearest(x):
        return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)

    def stub(x):
        raise NotImplementedError

    assert checks.check_instance_normalization(instance_normalization)
    assert not checks.check_instance_normalization(lambda x: x - tf.reduce_mean(x))
    assert not checks.check_instance_normalization(stub)
    assert checks.check_upsample_nearest(upsample_nearest)
    assert not checks.check_upsample_nearest(lambda x: tf.repeat(x, 2, axis=1))
    assert not checks.check_upsample_nearest(stub)
    assert "NotImplementedError" in capsys.readouterr().out


# ----------------------------------------------------------------------------
# The shipped networks.


def test_shipped_networks_are_small_and_paint_an_unseen_photo_in_their_style(hed_weights):
    from nst_teach import samples

    styles = fast.pretrained_styles()
    assert {"swirls", "mosaic", "waves"} <= set(styles)
    assert set(styles) <= set(samples.sample_names("style"))  # AdaIN's decoder is not one
    photo = photos.heldout_photo("chelsea", 96)
    for style_name in styles:
        assert fast.pretrained_path(style_name).stat().st_size < 5e6
        network = fast.pretrained(style_name)
        picture = fast.apply_network(network, photo)
        assert picture.shape == photo.shape
        if not samples.is_available_offline(style_name):
            continue  # offline, the painting it was trained on is not here to compare with
        style = samples.sample_image(style_name, max_size=256)
        options = {"weights": hed_weights, "verbose": False}
        stylized = nst_losses(picture, photo, style, options)
        untouched = nst_losses(photo, photo, style, options)
        # Short CPU training: from 0.17 (swirls) to 0.91 (mosaic) of the photo's own term here.
        assert stylized["style"] < 0.95 * untouched["style"], style_name
    with pytest.raises(ValueError, match="No shipped network for 'no_such_style'"):
        fast.pretrained("no_such_style")


def nst_losses(image, photo, style, options):
    import nst_teach as nst

    return nst.compute_losses(image, photo, style, **options)


def test_a_network_that_starts_from_the_photo_gives_it_back_untrained(rng, tmp_path):
    model = transformer.build_transformer(**TINY, start_from_photo=True)
    photo = rng.uniform(0.01, 0.99, (1, 37, 50, 3)).astype(np.float32)
    np.testing.assert_allclose(fast.apply_network(model, photo), photo, atol=1e-5)
    assert transformer.architecture(model)["start_from_photo"] is True
    assert "start_from_photo" not in transformer.architecture(transformer.build_transformer(**TINY))
    loaded = fast.load(fast.save(model, tmp_path / "identity.keras"))
    np.testing.assert_allclose(fast.apply_network(loaded, photo), photo, atol=1e-5)
