"""The photo choices of benchmarks/bench_network_gap.py: training photos and the held-out square."""

import pathlib
import sys

import numpy as np
import pytest

from nst_teach import photos

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_network_gap  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_TEACH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_training_photos_are_distinct_files_of_the_training_split(cache):
    everything = photos.photo_files("offline")
    chosen = bench_network_gap.training_photo_files(5)
    assert len(set(chosen)) == 5 and set(chosen) <= set(everything)
    assert chosen[0] == everything[0] and chosen[-1] == everything[-1]
    held_out = set(photos.heldout_names())
    assert not any(path.stem.removeprefix("photo_") in held_out for path in chosen)


@pytest.mark.parametrize("count", [0, 10_000])
def test_a_count_outside_the_training_split_is_refused(cache, count):
    with pytest.raises(ValueError, match="--training-photos must be between 1 and"):
        bench_network_gap.training_photo_files(count)


def test_the_square_photo_is_the_centre_of_the_held_out_photo():
    square = bench_network_gap.square_photo("chelsea")
    assert square.shape == (1, 256, 256, 3) and square.dtype == np.float32
    assert 0.0 <= square.min() and square.max() <= 1.0
    photo = photos.heldout_photo("chelsea", 256)  # 256 wide, shorter than it is wide
    height, width = photo.shape[1:3]
    assert height < width
    left = (width - height) // 2
    centre = photo[:, :, left:left + height]
    expected = bench_network_gap.nst.resize_image(centre, (256, 256))
    assert np.abs(square - expected).mean() < 0.02  # the same view, resampled differently
