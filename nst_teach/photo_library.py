"""Real photographs that installed packages ship: a training set and a held-out set.

scikit-image (a dependency of nst_teach), matplotlib and, when installed,
scikit-learn ship a few photographs with their code. Every one listed here is in
the public domain, CC0 or CC BY 2.0 (see `credits`). They are split once, by
name, into:

* ``"train"``: the photos a feed-forward network may learn from (with the
  generated scenes of `nst_teach.photos`);
* ``"heldout"``: photos that no training in nst_teach ever sees, so that a
  network is judged on pictures it has never met (Chelsea the cat, a coffee cup,
  a rocket launch). They all come from scikit-image, so they are there wherever
  nst_teach is installed.

Greyscale photos are given as RGB with three equal channels.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib

import numpy as np

from nst_teach import images

SPLITS = ("train", "heldout")
CC0 = "CC0 (public-domain dedication)"
PUBLIC_DOMAIN = "Public domain"
CC_BY_2 = "CC BY 2.0"


@dataclasses.dataclass(frozen=True)
class LibraryPhoto:
    """One photograph that an installed package ships.

    Attributes:
        name: Short identifier, such as ``"chelsea"``.
        package: The Python package that ships the file (``"skimage"``).
        resource: The file's path inside that package.
        split: ``"train"`` or ``"heldout"``.
        title: What the photo shows.
        author: Photographer or owner.
        license: License or public-domain status, as the package documents it.
        source: Where the package documents it.
    """

    name: str
    package: str
    resource: str
    split: str
    title: str
    author: str
    license: str
    source: str


def _skimage(name: str, file: str, split: str, title: str, author: str, license: str
             ) -> LibraryPhoto:
    return LibraryPhoto(name, "skimage", f"data/{file}", split, title, author, license,
                        f"scikit-image, skimage.data.{name}() (its docstring states the license)")


LIBRARY_PHOTOS = (
    _skimage("chelsea", "chelsea.png", "heldout", "Chelsea the cat", "Stéfan van der Walt", CC0),
    _skimage("coffee", "coffee.png", "heldout", "Coffee cup", "Rachel Michetti", CC0),
    _skimage("rocket", "rocket.jpg", "heldout", "Launch of DSCOVR on Falcon 9", "SpaceX",
             PUBLIC_DOMAIN),
    _skimage("astronaut", "astronaut.png", "train", "Astronaut Eileen Collins", "NASA",
             PUBLIC_DOMAIN),
    _skimage("hubble_deep_field", "hubble_deep_field.jpg", "train", "Hubble eXtreme Deep Field",
             "NASA", PUBLIC_DOMAIN),
    _skimage("camera", "camera.png", "train", "Photographer with a camera (greyscale)",
             "Lav Varshney", CC0),
    _skimage("coins", "coins.png", "train", "Greek coins from Pompeii (greyscale)",
             "Brooklyn Museum", "No known copyright restrictions"),
    _skimage("clock", "clock_motion.png", "train", "Motion-blurred wall clock (greyscale)",
             "Stéfan van der Walt", PUBLIC_DOMAIN),
    _skimage("brick", "brick.png", "train", "Brick wall (greyscale)", "CC0Textures", CC0),
    _skimage("grass", "grass.png", "train", "Grass (greyscale)", "linolafett (DeviantArt)", CC0),
    _skimage("gravel", "gravel.png", "train", "Gravel (greyscale)", "CC0Textures", CC0),
    LibraryPhoto("grace_hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "train",
                 "Commodore Grace M. Hopper, USN", "James S. Davis, U.S. Navy", PUBLIC_DOMAIN,
                 "matplotlib's sample data"),
    LibraryPhoto("china", "sklearn", "datasets/images/china.jpg", "train",
                 "Summer palace, Beijing", "danielbuechele (Flickr)", CC_BY_2,
                 "scikit-learn, sklearn/datasets/images/README.txt"),
    LibraryPhoto("flower", "sklearn", "datasets/images/flower.jpg", "train", "Flower",
                 "vultilion (Flickr)", CC_BY_2,
                 "scikit-learn, sklearn/datasets/images/README.txt"),
)


def _package_folder(package: str) -> pathlib.Path | None:
    """The installed package's folder, found without importing it; None if not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return pathlib.Path(next(iter(spec.submodule_search_locations)))


def photo_path(photo: str | LibraryPhoto) -> pathlib.Path | None:
    """The photo's file, or None when its package (or the file) is not installed."""
    photo = library_photo(photo) if isinstance(photo, str) else photo
    folder = _package_folder(photo.package)
    if folder is None or not (folder / photo.resource).is_file():
        return None
    return folder / photo.resource


def library_photo(name: str) -> LibraryPhoto:
    """The `LibraryPhoto` called `name`; ValueError listing the names otherwise."""
    for photo in LIBRARY_PHOTOS:
        if photo.name == name:
            return photo
    raise ValueError(f"Unknown photo {name!r}; choose one of "
                     f"{[photo.name for photo in LIBRARY_PHOTOS]}.")


def available_photos(split: str | None = None) -> list[LibraryPhoto]:
    """The listed photos whose package is installed here, optionally of one split.

    Args:
        split: ``"train"``, ``"heldout"`` or None for both.

    Returns:
        `LibraryPhoto` entries in `LIBRARY_PHOTOS` order.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}.")
    return [photo for photo in LIBRARY_PHOTOS
            if (split is None or photo.split == split) and photo_path(photo) is not None]


def heldout_names() -> list[str]:
    """Names of the held-out photos (never trained on), in order."""
    return [photo.name for photo in LIBRARY_PHOTOS if photo.split == "heldout"]


def load_library_photo(name: str, max_size: int | None = 256) -> np.ndarray:
    """Loads a listed photo in the image contract.

    Args:
        name: A name in `LIBRARY_PHOTOS`, such as ``"chelsea"``.
        max_size: Longer side in pixels (None keeps the file's size).

    Returns:
        float32 `(1, H, W, 3)` in [0, 1]; greyscale photos have three equal channels.

    Raises:
        ValueError: For an unknown name, or a photo whose package is not installed
            (the message says which package to install).
    """
    photo = library_photo(name)
    path = photo_path(photo)
    if path is None:
        raise ValueError(f"Photo {name!r} comes with the '{photo.package}' package, which is "
                         f"not installed: pip install {_pip_name(photo.package)}.")
    return images.load_image(path, max_size=max_size)


def _pip_name(package: str) -> str:
    return {"skimage": "scikit-image", "sklearn": "scikit-learn"}.get(package, package)


def credits() -> str:
    """A Markdown table crediting every listed photo (split, title, author, license, source)."""
    rows = ["| Photo | Split | Title | Author | License | Source |",
            "| --- | --- | --- | --- | --- | --- |"]
    rows += [f"| `{photo.name}` | {photo.split} | {photo.title} | {photo.author} | "
             f"{photo.license} | {photo.source} |" for photo in LIBRARY_PHOTOS]
    return "\n".join(rows)
