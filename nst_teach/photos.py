"""Training photos for fast style transfer: a download, an offline set, a tf.data pipeline.

A transformation network learns from many photos (Johnson et al. trained on
the 80,000 photos of COCO train2014). Three sources are supported:

* A folder of your own photos (`.jpg`, `.jpeg`, `.png`, searched recursively).
* A dataset downloaded on first use into ``config.cache_dir("photos")``, with a
  progress bar (see `PHOTO_DATASETS`): ``"coco-val2017"`` (5,000 COCO photos,
  about 780 MB) or ``"flowers"`` (3,670 flower photos from the TensorFlow
  tutorials, about 220 MB). The download code was tested only against a local
  HTTP server, not against these servers (this project's CI has no internet).
* ``"offline"``: real photographs that installed packages ship (scikit-image,
  matplotlib, scikit-learn: `nst_teach.photo_library`) plus generated "scenes"
  (skies, hills, lit shapes, textures), written to the cache once. Random crops
  at random scales, flips and colour jitter turn them into endless variations.
  A few photos and scenes are held out (`heldout_names`): no training sees them,
  so a network is judged on pictures it has never met.

`photo_dataset` turns a list of files into batches of random square crops
(random scale, horizontal flips, optional colour jitter), float32 in [0, 1].
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import tarfile
import tempfile
import urllib.request
import zipfile
from typing import Sequence

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from nst_teach import config, images, photo_library
from nst_teach.scenes import generate_scene

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
DOWNLOAD_TIMEOUT_SECONDS = 60.0
CHUNK_BYTES = 1024 * 1024
OFFLINE_VERSION = 2
NUM_OFFLINE_SCENES = 23  # seeds 0-22; the held-out scenes use HELDOUT_SCENE_SEEDS
HELDOUT_SCENE_SEEDS = (1000, 1001)
OFFLINE_SCENE_SIZE = 320
COMPLETE_MARKER = ".complete"


@dataclasses.dataclass(frozen=True)
class PhotoDataset:
    """A downloadable set of training photos.

    Attributes:
        name: Short identifier, such as ``"coco-val2017"``.
        url: Address of a ``.zip``, ``.tar``, ``.tgz`` or ``.tar.gz`` archive.
        num_images: Photos in the archive (for the docs; not checked).
        size_mb: Approximate download size in MB.
        license: The photos' license.
        source: Page describing the dataset.
    """

    name: str
    url: str
    num_images: int
    size_mb: int
    license: str
    source: str


PHOTO_DATASETS = {
    "coco-val2017": PhotoDataset(
        "coco-val2017", "http://images.cocodataset.org/zips/val2017.zip", 5000, 778,
        "COCO images: the licenses of their Flickr authors (mostly CC BY and CC BY-NC), "
        "see the COCO terms of use", "https://cocodataset.org/#download"),
    "flowers": PhotoDataset(
        "flowers", "https://storage.googleapis.com/download.tensorflow.org/example_images/"
        "flower_photos.tgz", 3670, 220, "CC BY 2.0 (see the archive's LICENSE.txt)",
        "https://www.tensorflow.org/tutorials/load_data/images"),
    # Styles for AdaIN's decoder (lesson 12): one of the 72 shards of WikiArt (81,444 paintings).
    "wikiart-shard": PhotoDataset(
        "wikiart-shard", "https://huggingface.co/datasets/huggan/wikiart/resolve/main/data/"
        "train-00000-of-00072.parquet", 1131, 522,
        "WikiArt's paintings: public domain or the rights of their holders (the dataset card "
        "says 'unknown'); for study", "https://huggingface.co/datasets/huggan/wikiart"),
}


def list_photos(folder: str | os.PathLike) -> list[pathlib.Path]:
    """Lists the photos in a folder and its subfolders, sorted by path.

    Raises:
        ValueError: If the folder does not exist or holds no .jpg/.jpeg/.png file.
    """
    folder = pathlib.Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"Photo folder {folder} does not exist: give a folder of .jpg or .png "
                         f"photos, 'offline', or a dataset name ({', '.join(PHOTO_DATASETS)}).")
    files = sorted(path for path in folder.rglob("*")
                   if path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith("."))
    if not files:
        raise ValueError(f"{folder} holds no .jpg, .jpeg or .png file: add photos to it, or use "
                         "photos='offline'.")
    return files


def photo_files(photos: str | os.PathLike | Sequence = "offline",
                progress: bool | None = None) -> list[pathlib.Path]:
    """Resolves a `photos` argument into a list of image files.

    Args:
        photos: ``"offline"``, a name in `PHOTO_DATASETS` (downloaded on first
            use), a folder, or a list of file paths.
        progress: Show download progress; None shows it on a terminal or notebook.

    Returns:
        Paths of image files, sorted.

    Raises:
        ValueError: If the folder is missing or empty, or a listed file is missing.
        OSError: If a download fails.
    """
    if isinstance(photos, (list, tuple)):
        files = [pathlib.Path(path).expanduser() for path in photos]
        missing = [str(path) for path in files if not path.is_file()]
        if missing or not files:
            raise ValueError(f"Photo files not found: {missing[:3] or 'empty list'}; give "
                             "existing .jpg or .png files.")
        return files
    if photos == "offline":
        return list_photos(offline_photos())
    if isinstance(photos, str) and photos in PHOTO_DATASETS:
        return list_photos(download_dataset(photos, progress=progress))
    return list_photos(photos)


def download_dataset(dataset: str | PhotoDataset, cache_directory: str | os.PathLike | None = None,
                     timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
                     progress: bool | None = None) -> pathlib.Path:
    """Downloads and unpacks a photo dataset into the cache, unless it is already there.

    The archive is streamed to a temporary file with a tqdm progress bar, then
    only its image files are extracted (flattened into one folder, so no
    archive entry can write outside it), and a marker file records completion:
    an interrupted download starts again next time.

    Args:
        dataset: A name in `PHOTO_DATASETS`, or a `PhotoDataset` of your own.
        cache_directory: Parent folder; defaults to ``config.cache_dir("photos")``.
        timeout: Seconds to wait for the server.
        progress: Show a progress bar; None shows it only on a terminal or notebook.

    Returns:
        The folder holding the photos.

    Raises:
        ValueError: For an unknown name, an unknown archive type, or an archive
            without images.
        OSError: On network or HTTP errors.
    """
    if isinstance(dataset, str):
        if dataset not in PHOTO_DATASETS:
            raise ValueError(f"Unknown photo dataset {dataset!r}: use one of "
                             f"{', '.join(PHOTO_DATASETS)}, 'offline' or a folder.")
        dataset = PHOTO_DATASETS[dataset]
    parent = pathlib.Path(cache_directory or config.cache_dir("photos"))
    folder = parent / dataset.name
    if (folder / COMPLETE_MARKER).is_file():
        return folder
    kind = _archive_kind(dataset.url)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(dir=parent, prefix=f".{dataset.name}-",
                                              suffix=".part")
    temporary = pathlib.Path(temporary_name)
    try:
        with os.fdopen(handle, "wb") as file:
            _stream(dataset, file, timeout, progress)
        count = _extract_images(temporary, kind, folder)
    finally:
        temporary.unlink(missing_ok=True)
    if count == 0:
        raise ValueError(f"{dataset.url} holds no .jpg or .png file.")
    (folder / COMPLETE_MARKER).write_text(f"{count} photos from {dataset.url}\n")
    return folder


def _archive_kind(url: str) -> str:
    path = url.lower().split("?")[0]
    if path.endswith(".zip"):
        return "zip"
    if path.endswith((".tar", ".tgz", ".tar.gz")):
        return "tar"
    if path.endswith(".parquet"):
        return "parquet"
    raise ValueError(f"{url}: the archive must be a .zip, .tar, .tgz, .tar.gz or .parquet file.")


def _stream(dataset: PhotoDataset, file, timeout: float, progress: bool | None) -> None:
    request = urllib.request.Request(dataset.url, headers={"User-Agent": images.USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        disable = None if progress is None else not progress
        with tqdm(total=response.length, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=f"Downloading {dataset.name}", disable=disable) as bar:
            while chunk := response.read(CHUNK_BYTES):
                file.write(chunk)
                bar.update(len(chunk))


def _extract_images(archive: pathlib.Path, kind: str, folder: pathlib.Path) -> int:
    """Writes the archive's image files into `folder` under flattened names; returns how many."""
    count = 0

    def write(member_name: str, data: bytes) -> None:
        nonlocal count
        parts = member_name.replace("\\", "/").split("/")
        flat = "__".join(part for part in parts if part not in ("", ".", ".."))
        (folder / flat).write_bytes(data)
        count += 1

    def is_photo(name: str) -> bool:
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        return base.lower().endswith(PHOTO_SUFFIXES) and not base.startswith(".")

    if kind == "parquet":
        for index, (name, data) in enumerate(_parquet_images(archive)):
            write(f"{index:06d}{pathlib.PurePath(name).suffix or '.jpg'}", data)
    elif kind == "zip":
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir() and is_photo(info.filename):
                    write(info.filename, zipped.read(info))
    else:
        with tarfile.open(archive) as tarred:
            for member in tarred:
                if member.isfile() and is_photo(member.name):
                    write(member.name, tarred.extractfile(member).read())
    return count


def _parquet_images(archive: pathlib.Path):
    """Yields `(name, bytes)` of each image in a Hugging Face parquet file (an `image`
    column of structs with `bytes` and `path`), one row group at a time (pyarrow needed)."""
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise ValueError("Reading a .parquet dataset needs pyarrow: pip install pyarrow "
                         "(Colab has it).") from error
    table = parquet.ParquetFile(archive)
    if "image" not in table.schema_arrow.names:
        raise ValueError(f"{archive.name} has no 'image' column: {table.schema_arrow.names}.")
    for group in range(table.num_row_groups):
        for cell in table.read_row_group(group, columns=["image"]).column("image").to_pylist():
            if cell and cell.get("bytes"):
                yield cell.get("path") or "image.jpg", cell["bytes"]


def offline_photos(cache_directory: str | os.PathLike | None = None) -> pathlib.Path:
    """The offline training set: the packages' training photos and generated scenes, made once.

    The photos are those of `photo_library.available_photos("train")` (real
    photographs that scikit-image, matplotlib and scikit-learn ship); the held-out
    photos and scenes (`heldout_photos`) are never in it.

    Args:
        cache_directory: Parent folder; defaults to ``config.cache_dir("photos")``.

    Returns:
        A folder of PNG and JPEG files: the photos, then `NUM_OFFLINE_SCENES` scenes.
    """
    parent = pathlib.Path(cache_directory or config.cache_dir("photos"))
    names = [photo.name for photo in photo_library.available_photos("train")]
    folder = parent / f"offline-v{OFFLINE_VERSION}-{len(names)}"
    if (folder / COMPLETE_MARKER).is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = photo_library.photo_path(name)
        (folder / f"photo_{name}{path.suffix}").write_bytes(path.read_bytes())
    for index in range(NUM_OFFLINE_SCENES):
        scene = generate_scene(seed=index, size=OFFLINE_SCENE_SIZE)
        images.save_image(scene, folder / f"scene_{index:02d}.png")
    (folder / COMPLETE_MARKER).write_text(", ".join(names) + " + generated scenes\n")
    return folder


def heldout_names() -> list[str]:
    """Names of the held-out pictures: the packages' held-out photos, then two scenes."""
    return photo_library.heldout_names() + [f"scene_{seed}" for seed in HELDOUT_SCENE_SEEDS]


def heldout_photo(name: str, max_size: int = 256) -> np.ndarray:
    """A picture no training in nst_teach sees: a held-out photo or scene (`heldout_names`).

    Returns:
        float32 `(1, H, W, 3)` in [0, 1], the longer side `max_size`.
    """
    if name.startswith("scene_") and name in heldout_names():
        return generate_scene(seed=int(name[len("scene_"):]), size=max_size)
    if name not in heldout_names():
        raise ValueError(f"{name!r} is not a held-out picture; choose one of {heldout_names()}.")
    return photo_library.load_library_photo(name, max_size=max_size)


def _decode(path: tf.Tensor) -> tf.Tensor:
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    return tf.image.convert_image_dtype(image, tf.float32)


def random_crop(image: tf.Tensor, crop_size: int, max_zoom_out: float = 2.0,
                seed: tf.Tensor | None = None) -> tf.Tensor:
    """A random square crop at a random scale, flipped left-right half the time.

    The photo is first resized so that its shorter side is a random length
    between `crop_size` and `max_zoom_out * crop_size` (never enlarged
    beyond what is needed to fit the crop), so crops show whole objects as
    well as details.

    Args:
        image: float32 `(H, W, 3)` in [0, 1] (one photo, no batch axis).
        crop_size: Side of the square crop in pixels.
        max_zoom_out: Largest shorter side, as a multiple of `crop_size`.
        seed: A stateless seed `(2,)` int32/int64, or None for TensorFlow's global generator.

    Returns:
        float32 `(crop_size, crop_size, 3)` in [0, 1].
    """
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    shorter = tf.reduce_min(shape)
    largest = tf.maximum(tf.minimum(shorter, max_zoom_out * crop_size), float(crop_size))
    if seed is None:
        target = tf.random.uniform([], float(crop_size), largest + 1e-3)
    else:
        target = tf.random.stateless_uniform([], seed, float(crop_size), largest + 1e-3)
    new_size = tf.maximum(tf.cast(tf.floor(shape * target / shorter), tf.int32), crop_size)
    resized = tf.image.resize(image, new_size, method="area", antialias=True)
    crop = tf.image.random_crop(resized, [crop_size, crop_size, 3])
    return tf.image.random_flip_left_right(crop)


def jitter_colors(image: tf.Tensor) -> tf.Tensor:
    """Random brightness, contrast, saturation and hue changes, kept in [0, 1]."""
    image = tf.image.random_brightness(image, 0.15)
    image = tf.image.random_contrast(image, 0.7, 1.3)
    image = tf.image.random_saturation(image, 0.6, 1.4)
    image = tf.image.random_hue(image, 0.08)
    return tf.clip_by_value(image, 0.0, 1.0)


def photo_dataset(files: Sequence[str | os.PathLike], crop_size: int = 128, batch_size: int = 4,
                  augment_colors: bool = False, max_zoom_out: float = 2.0,
                  seed: int = 0, repeat: bool = True) -> tf.data.Dataset:
    """Batches of random crops of photos, for training: a `tf.data` pipeline.

    Files are shuffled, decoded (JPEG or PNG), cropped at a random scale
    (`random_crop`), flipped, optionally colour-jittered, batched and
    prefetched.

    Args:
        files: Image file paths (see `photo_files`).
        crop_size: Side of the square crops, at least 16.
        batch_size: Crops per batch.
        augment_colors: Apply `jitter_colors` (useful with few photos, as offline).
        max_zoom_out: See `random_crop`.
        seed: Seed of the shuffling (crops use TensorFlow's random ops).
        repeat: Cycle through the files forever.

    Returns:
        A dataset of float32 `(batch_size, crop_size, crop_size, 3)` in [0, 1]
        (incomplete final batches are dropped).

    Raises:
        ValueError: For no files, or a crop or batch size below the minimum.
    """
    files = [str(path) for path in files]
    if not files:
        raise ValueError("photo_dataset needs at least one file: see photo_files().")
    if isinstance(crop_size, bool) or not isinstance(crop_size, int) or crop_size < 16:
        raise ValueError(f"crop_size must be a whole number >= 16, got {crop_size!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}.")
    dataset = tf.data.Dataset.from_tensor_slices(files)
    dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.map(_decode, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.map(lambda image: random_crop(image, crop_size, max_zoom_out),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if augment_colors:
        dataset = dataset.map(jitter_colors, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def load_photo(path: str | os.PathLike, size: int | None = None) -> np.ndarray:
    """Loads one photo in the image contract, the longer side shrunk to `size`."""
    return images.load_image(pathlib.Path(path), max_size=size)
