"""Tests of nst_teach.photo_library and the offline / held-out photo sets of nst_teach.photos."""

import numpy as np
import pytest

import nst_teach as nst
from nst_teach import photo_library, photos


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_TEACH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_every_photo_is_listed_once_with_a_split_and_a_license():
    names = [photo.name for photo in photo_library.LIBRARY_PHOTOS]
    assert len(names) == len(set(names))
    for photo in photo_library.LIBRARY_PHOTOS:
        assert photo.split in photo_library.SPLITS
        assert photo.license and photo.author and photo.source


def test_heldout_photos_come_with_a_dependency_so_they_are_always_there():
    heldout = [photo for photo in photo_library.LIBRARY_PHOTOS if photo.split == "heldout"]
    assert len(heldout) >= 3 and {photo.package for photo in heldout} == {"skimage"}
    assert [photo.name for photo in photo_library.available_photos("heldout")] == \
        photo_library.heldout_names()


@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket", "camera", "grace_hopper"])
def test_library_photos_load_in_the_image_contract(name):
    image = photo_library.load_library_photo(name, max_size=64)
    assert image.dtype == np.float32 and image.shape[0] == 1 and image.shape[-1] == 3
    assert max(image.shape[1:3]) == 64 and 0 <= image.min() and image.max() <= 1
    assert image.std() > 0.05  # a real picture, not a blank
    if name == "camera":  # greyscale: three equal channels
        np.testing.assert_array_equal(image[..., 0], image[..., 1])


def test_errors_name_the_choices_and_the_missing_package(monkeypatch):
    with pytest.raises(ValueError, match="choose one of.*chelsea"):
        photo_library.load_library_photo("no_such_photo")
    with pytest.raises(ValueError, match="split must be one of"):
        photo_library.available_photos("test")
    monkeypatch.setattr(photo_library, "_package_folder", lambda package: None)
    with pytest.raises(ValueError, match="pip install scikit-image"):
        photo_library.load_library_photo("chelsea")
    assert photo_library.available_photos() == []


def test_offline_training_set_never_holds_a_heldout_picture(cache):
    files = photos.photo_files("offline")
    stems = {path.stem for path in files}
    for name in photo_library.heldout_names():
        assert f"photo_{name}" not in stems
    trained = [photo.name for photo in photo_library.available_photos("train")]
    assert {f"photo_{name}" for name in trained} <= stems
    assert len(files) == len(trained) + photos.NUM_OFFLINE_SCENES
    seeds = {int(stem.split("_")[1]) for stem in stems if stem.startswith("scene_")}
    assert seeds == set(range(photos.NUM_OFFLINE_SCENES))
    assert not seeds & set(photos.HELDOUT_SCENE_SEEDS)
    # Each training file has the bytes of the package's own file.
    for name in trained:
        path = photo_library.photo_path(name)
        assert (files[0].parent / f"photo_{name}{path.suffix}").read_bytes() == path.read_bytes()


def test_heldout_pictures_load_and_unknown_names_are_refused():
    names = photos.heldout_names()
    assert names[:3] == photo_library.heldout_names() and "scene_1000" in names
    for name in names:
        image = photos.heldout_photo(name, max_size=48)
        assert image.shape[-1] == 3 and max(image.shape[1:3]) == 48
    np.testing.assert_array_equal(photos.heldout_photo("scene_1000", 48),
                                  photos.generate_scene(seed=1000, size=48))
    with pytest.raises(ValueError, match="not a held-out picture"):
        photos.heldout_photo("scene_3")  # a training scene


def test_credits_list_every_photo_with_its_license():
    table = nst.credits()
    for photo in photo_library.LIBRARY_PHOTOS:
        assert f"`{photo.name}`" in table
    assert "CC BY 2.0" in table and "CC0" in table
