"""Style images for training AdaIN's decoder offline, and styles it never sees.

The authors trained on about 80,000 WikiArt paintings. Offline, nst_teach has
the three manners it paints itself (swirls, mosaic, waves), each with many
seeds, the colour photos of the training split (`photo_library`: any picture's
statistics are a style to AdaIN), and every downloadable painting already in
the cache. The decoder's job is to invert the encoder whatever the statistics,
so variety matters more than beauty. `heldout_styles` paints seeds no training
uses, so a decoder can be judged on styles it has never seen.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from nst_teach import config, images, photo_library, samples
from nst_teach.paintings import generate_style_image

STYLES_VERSION = 1
MANNERS = ("swirls", "mosaic", "waves")
TRAINING_SEEDS = tuple(range(8))
HELDOUT_SEEDS = (9001, 9002)
STYLE_SIZE = 384
COLOUR_PHOTOS = ("astronaut", "hubble_deep_field", "grace_hopper", "china", "flower")


def offline_styles(cache_directory: str | os.PathLike | None = None) -> list[pathlib.Path]:
    """Writes (once) and lists the offline training styles.

    Args:
        cache_directory: Parent folder; defaults to ``config.cache_dir("styles")``.

    Returns:
        Paths of PNG and JPEG files: the generated paintings, the colour photos of
        the training split, and the paintings already downloaded to the cache.
    """
    folder = pathlib.Path(cache_directory or config.cache_dir("styles")) \
        / f"adain-v{STYLES_VERSION}"
    if not (folder / ".complete").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for manner in MANNERS:
            for seed in TRAINING_SEEDS:
                images.save_image(generate_style_image(manner, STYLE_SIZE, seed=seed),
                                  folder / f"{manner}_{seed}.png")
        (folder / ".complete").write_text("generated paintings\n")
    files = sorted(folder.glob("*.png"))
    files += [photo_library.photo_path(photo) for photo in photo_library.available_photos("train")
              if photo.name in COLOUR_PHOTOS]
    files += [samples.sample_path(info) for info in samples.list_samples("style")
              if info.url is not None and samples.is_available_offline(info)]
    return [pathlib.Path(path) for path in files]


def heldout_style_names() -> list[str]:
    """Names of the generated styles no training uses, such as ``"swirls_9001"``."""
    return [f"{manner}_{seed}" for manner in MANNERS for seed in HELDOUT_SEEDS]


def heldout_style(name: str, size: int = 256) -> np.ndarray:
    """A generated style no training uses (`heldout_style_names`), float32 `(1, size, size, 3)`."""
    if name not in heldout_style_names():
        raise ValueError(f"{name!r} is not a held-out style; choose one of "
                         f"{heldout_style_names()}.")
    manner, seed = name.rsplit("_", 1)
    return generate_style_image(manner, size, seed=int(seed))
