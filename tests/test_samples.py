"""Tests of nst_teach.samples (and config): offline samples, and downloads from a
real HTTP server on 127.0.0.1 started by the tests. Nothing goes to the internet."""

import dataclasses
import http.client
import http.server
import io
import socket
import threading
import urllib.error

import numpy as np
import pytest
from PIL import Image

from nst_teach import config, images, paintings, samples


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder for one test, with proxies bypassed for 127.0.0.1."""
    monkeypatch.setenv("NST_TEACH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return tmp_path / "cache" / "samples"


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One cache folder for the tests that read the generated samples (made once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NST_TEACH_CACHE", str(tmp_path_factory.mktemp("shared_cache")))
        yield


def png_bytes(width, height):
    array = np.zeros((height, width, 3), np.uint8)
    array[..., 0] = 200
    array[: height // 2, :, 2] = 255
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


class Handler(http.server.BaseHTTPRequestHandler):
    routes = {
        "/good.png": (200, "image/png", png_bytes(64, 48)),
        "/cut.png": (200, "image/png", png_bytes(64, 48)),  # the connection drops halfway
        "/html": (200, "text/html", b"<html><body>Sorry, not a picture</body></html>"),
    }

    def do_GET(self):  # noqa: N802 (name fixed by http.server)
        self.server.requests.append((self.path, self.headers.get("User-Agent", "")))
        status, content_type, body = self.routes.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/cut.png":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *arguments):
        pass


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1; `server.requests` lists (path, user agent)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests = []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def local_info(name, url, expected_size=None, fallback="swirls"):
    return samples.SampleInfo(name=name, kind="content", title="Test picture", author="tests",
                              license="CC0", source="made by the test", url=url,
                              expected_size=expected_size, fallback=fallback)


# --- registry ---------------------------------------------------------------------

def test_registry_is_consistent():
    names = samples.sample_names()
    assert len(names) == len(set(names))
    offline = {info.name for info in samples.list_samples() if info.url is None}
    assert {"grace_hopper", "swirls", "mosaic", "waves"} <= offline
    downloaded = {"starry_night", "great_wave", "the_scream", "composition_vii", "tuebingen",
                  "labrador"}
    assert downloaded <= set(names)
    for info in samples.list_samples():
        assert info.kind in ("content", "style")
        assert info.title and info.author and info.license and info.source
        if info.url is not None:
            assert info.url.startswith("https://") and info.fallback in offline
            assert samples.sample_info(info.fallback).kind == info.kind
    assert set(samples.sample_names("content")) | set(samples.sample_names("style")) == set(names)
    with pytest.raises(dataclasses.FrozenInstanceError):
        samples.sample_info("swirls").url = "http://example.invalid"
    with pytest.raises(ValueError, match="kind must be"):
        samples.list_samples("painting")


def test_unknown_names_list_the_valid_ones():
    expected = r"unknown sample 'stary_night'.*Did you mean 'starry_night'"
    with pytest.raises(ValueError, match=expected) as error:
        samples.sample_info("stary_night")
    assert all(name in str(error.value) for name in samples.sample_names())
    with pytest.raises(ValueError, match="Valid names: grace_hopper"):
        samples.sample_image("nothing_like_it")
    with pytest.raises(ValueError, match="unknown sample"):
        samples.fetch_samples(["swirls", "nope"])


def test_credits_name_every_sample_and_license():
    text = samples.credits()
    assert text.startswith("| Sample |")
    for info in samples.list_samples():
        assert f"`{info.name}`" in text and info.license in text


# --- offline samples ----------------------------------------------------------------

@pytest.mark.usefixtures("shared_cache")
@pytest.mark.parametrize("name, shape", [
    ("grace_hopper", (1, 600, 512, 3)), ("swirls", (1, 512, 512, 3)),
    ("mosaic", (1, 512, 512, 3)), ("waves", (1, 512, 512, 3)),
])
def test_offline_samples_follow_the_contract(name, shape):
    image = samples.sample_image(name)
    assert image.shape == shape and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert max(samples.sample_image(name, max_size=128).shape[1:3]) == 128


@pytest.mark.usefixtures("shared_cache")
@pytest.mark.parametrize("name", ["swirls", "mosaic", "waves"])
def test_generated_styles_are_deterministic_colourful_and_textured(name):
    small = paintings.generate_style_image(name, size=96)
    np.testing.assert_array_equal(small, paintings.generate_style_image(name, size=96))
    cached = samples.sample_image(name)  # the PNG in the cache holds the same pixels
    expected = np.round(paintings.generate_style_image(name) * 255) / 255
    np.testing.assert_allclose(cached, expected, atol=1e-6)
    saturation = cached.max(axis=-1) - cached.min(axis=-1)
    assert saturation.mean() > 0.2  # strong colour
    edges = np.abs(np.diff(cached, axis=1)).mean() + np.abs(np.diff(cached, axis=2)).mean()
    assert edges > 0.06  # strong texture
    assert cached.std() > 0.2
    with pytest.raises(ValueError, match="not a generated sample"):
        paintings.generate_style_image("starry_night")


# --- downloads from a local server ---------------------------------------------------

def test_download_then_cache(cache, server):
    info = local_info("local_good", server.url + "/good.png", expected_size=(64, 48))
    image = samples.sample_image(info)
    assert image.shape == (1, 48, 64, 3) and image.dtype == np.float32
    np.testing.assert_allclose(image[0, 0, 0], [200 / 255, 0, 1], atol=1e-6)
    assert samples.sample_path(info) == cache / "local_good.png"
    samples.sample_image(info, max_size=32)
    assert len(server.requests) == 1  # the second and third calls used the cache
    path, user_agent = server.requests[0]
    assert path == "/good.png" and user_agent.startswith("nst_teach/")
    # no temporary file is left behind
    assert sorted(file.name for file in cache.iterdir()) == ["local_good.png"]


def test_download_sample_shows_progress_and_honours_the_directory(tmp_path, server, capsys):
    info = local_info("local_good", server.url + "/good.png")  # expected_size None: any valid image
    folder = tmp_path / "elsewhere"
    path = samples.download_sample(info, cache_directory=folder, timeout=5, progress=True)
    assert path == folder / "local_good.png" and path.is_file()
    assert "Downloading local_good" in capsys.readouterr().err
    assert samples.download_sample(info, cache_directory=folder, progress=True) == path
    assert len(server.requests) == 1


@pytest.mark.parametrize("route, expected_size, words", [
    ("/missing.png", None, "HTTP Error 404"),
    ("/good.png", (100, 100), "gave a 64x48 image, expected 100x100"),
    ("/html", None, "not an image"),
])
def test_failed_downloads_fall_back_with_one_notice(cache, server, route, expected_size, words):
    info = local_info("local_bad", server.url + route, expected_size=expected_size,
                      fallback="grace_hopper")
    with pytest.warns(samples.SampleFallbackWarning) as record:
        image = samples.sample_image(info)
    assert len(record) == 1
    message = str(record[0].message)
    assert "\n" not in message and words in message
    assert "'local_bad'" in message and "'grace_hopper'" in message
    assert image.shape == (1, 600, 512, 3)
    assert not list(cache.glob("local_bad*")) and not list(cache.glob(".*part"))
    assert server.requests[0][0] == route


def test_a_download_cut_halfway_leaves_no_file_and_falls_back(cache, server):
    info = local_info("local_cut", server.url + "/cut.png", fallback="grace_hopper")
    with pytest.warns(samples.SampleFallbackWarning) as record:
        image = samples.sample_image(info)
    assert len(record) == 1 and "'local_cut'" in str(record[0].message)
    assert image.shape == (1, 600, 512, 3)  # the fallback, not half a picture
    assert not list(cache.glob("local_cut*")) and not list(cache.glob(".*part"))
    with pytest.raises((OSError, http.client.HTTPException)):
        samples.download_sample(info)  # raised as such without a fallback
    assert not list(cache.iterdir())


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_cached_file_is_downloaded_again(cache, server, damage):
    info = local_info("local_good", server.url + "/good.png", expected_size=(64, 48))
    good = samples.sample_image(info)
    path = cache / "local_good.png"
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"<html>oops</html>",
                      "empty": b""}[damage])
    with pytest.warns(samples.SampleFallbackWarning) as record:
        again = samples.sample_image(info)
    assert len(record) == 1
    message = str(record[0].message)
    assert "\n" not in message and "was damaged" in message and "downloaded it again" in message
    np.testing.assert_array_equal(again, good)
    assert len(server.requests) == 2 and path.read_bytes() == data


def test_a_damaged_cached_file_offline_falls_back_in_one_line(cache, server):
    info = local_info("local_good", server.url + "/good.png", fallback="grace_hopper")
    samples.sample_image(info)
    (cache / "local_good.png").write_bytes(b"\x89PNG\r\n not really")
    # Same cache file name (local_good.png), a server that no longer has it: the cached copy
    # is damaged and cannot be downloaded again.
    offline = dataclasses.replace(info, url=info.url.replace("/good.png", "/missing.png"))
    with pytest.warns(samples.SampleFallbackWarning) as record:
        image = samples.sample_image(offline)
    assert len(record) == 1
    message = str(record[0].message)
    assert "was damaged" in message and "404" in message and "'grace_hopper'" in message
    assert image.shape == (1, 600, 512, 3)
    assert not (cache / "local_good.png").exists()


def test_a_damaged_generated_sample_is_made_again(cache):
    first = samples.sample_image("swirls")
    path = next(cache.glob("swirls-v*.png"))
    path.write_bytes(path.read_bytes()[:100])
    np.testing.assert_array_equal(samples.sample_image("swirls"), first)


def test_failed_download_raises_without_fallback(cache, server):
    info = local_info("local_missing", server.url + "/missing.png", fallback=None)
    with pytest.raises(urllib.error.HTTPError):
        samples.download_sample(info)
    with pytest.raises(OSError, match="404"):
        samples.sample_path(info)


def test_unreachable_server_falls_back(cache):
    with socket.socket() as probe:  # a port that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    info = local_info("local_offline", f"http://127.0.0.1:{port}/good.png", fallback="grace_hopper")
    with pytest.warns(samples.SampleFallbackWarning, match="using offline sample 'grace_hopper'"):
        image = samples.sample_image(info, timeout=2)
    assert image.shape == (1, 600, 512, 3)


def test_sample_credit_names_the_picture_actually_used(cache, server):
    info = local_info("local_credit", server.url + "/good.png", expected_size=(64, 48))
    before = samples.sample_credit(info)  # not downloaded yet: the stand-in is named
    assert "could not be downloaded" in before and "'swirls'" in before, before
    samples.sample_image(info)
    after = samples.sample_credit(info)
    assert after == "'local_credit': Test picture, tests, CC0, made by the test.", after
    (cache / "local_credit.png").write_bytes(b"not an image")  # damaged: not the one used
    assert "could not be downloaded" in samples.sample_credit(info)
    assert "nst_teach generates itself" in samples.sample_credit("mosaic")
    assert "\n" not in before and "\n" not in after


def test_fetch_samples_reports_each_status(cache, server, monkeypatch):
    registry = (samples.sample_info("grace_hopper"),
                local_info("local_good", server.url + "/good.png", expected_size=(64, 48)),
                local_info("local_missing", server.url + "/missing.png"))
    monkeypatch.setattr(samples, "SAMPLES", registry)
    first = samples.fetch_samples(timeout=5)
    assert first == {"grace_hopper": "offline", "local_good": "downloaded",
                     "local_missing": "failed: HTTP Error 404: Not Found"}
    assert samples.fetch_samples(["local_good"]) == {"local_good": "cached"}
    assert [path for path, _ in server.requests] == ["/good.png", "/missing.png"]


# --- config ---------------------------------------------------------------------------

def test_cache_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_TEACH_CACHE", str(tmp_path / "here"))
    folder = config.cache_dir("samples")
    assert folder == (tmp_path / "here" / "samples").resolve() and folder.is_dir()
    monkeypatch.delenv("NST_TEACH_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.cache_dir() == (tmp_path / "home" / ".cache" / "nst_teach").resolve()


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("TRUE", True), (" yes ", True), ("On", True),
    ("0", False), ("false", False), ("", False), (None, False),
])
def test_fast_mode(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("NST_TEACH_FAST", raising=False)
    else:
        monkeypatch.setenv("NST_TEACH_FAST", value)
    assert config.fast_mode() is expected


def test_images_module_is_importable_without_tensorflow_code():
    assert images.USER_AGENT.startswith("nst_teach/")
