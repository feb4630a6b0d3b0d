"""Generated photo-like scenes: skies, hills, lit shapes and texture, from a seed."""

from __future__ import annotations

import numpy as np

from nst_teach import images


def generate_scene(seed: int = 0, size: int = 256) -> np.ndarray:
    """Paints a photo-like scene: a sky gradient, hills, lit discs and boxes, texture.

    Not a photo, but it has what a transformation network must learn to
    handle: smooth regions, edges, shading and fine texture at several scales.

    Args:
        seed: The same seed always gives the same pixels.
        size: Side of the square image, at least 32.

    Returns:
        float32 `(1, size, size, 3)` in [0, 1].
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 32:
        raise ValueError(f"size must be a whole number >= 32, got {size!r}.")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    top, bottom = rng.uniform(0.2, 1.0, 3), rng.uniform(0.3, 1.0, 3)
    image = top * (1 - y[..., None]) + bottom * y[..., None]
    for _ in range(rng.integers(1, 4)):  # hills
        height = rng.uniform(0.4, 0.9) + 0.08 * np.sin(2 * np.pi * (rng.uniform(0.5, 3) * x
                                                                    + rng.uniform()))
        ground = (y > height)[..., None]
        shade = 0.7 + 0.3 * (1 - (y - height).clip(0, 1))[..., None]
        image = np.where(ground, rng.uniform(0.05, 0.8, 3) * shade, image)
    for _ in range(rng.integers(3, 9)):  # lit discs and boxes
        centre, radius = rng.uniform(0.1, 0.9, 2), rng.uniform(0.04, 0.2)
        colour = rng.uniform(0.0, 1.0, 3)
        if rng.random() < 0.5:
            inside = (y - centre[0]) ** 2 + (x - centre[1]) ** 2 < radius ** 2
        else:
            inside = (abs(y - centre[0]) < radius) & (abs(x - centre[1]) < radius * 1.5)
        light = 0.6 + 0.4 * np.clip(1 - ((y - centre[0] + radius / 2) ** 2
                                          + (x - centre[1] + radius / 2) ** 2) / radius ** 2, 0, 1)
        image = np.where(inside[..., None], colour * light[..., None], image)
    coarse = rng.normal(0, 1, (size // 8 + 1, size // 8 + 1))
    texture = np.kron(coarse, np.ones((8, 8)))[:size, :size]
    fine = rng.normal(0, 1, (size, size))
    image = image * (1 + 0.06 * texture[..., None] + 0.04 * fine[..., None])
    return images.check_image(np.clip(image, 0, 1)[None].astype(np.float32), "scene")
