"""Test images made from seeded noise (imported by conftest and by tests that need them
outside a fixture; a module of its own so that no test imports `conftest`, whose name
tests/browser/conftest.py shares)."""

import numpy as np


def smooth_random_image(height, width, seed=0, cell=8):
    """A float32 (1, H, W, 3) image in [0, 1]: random colours every `cell` pixels,
    bilinearly interpolated in between (smooth, like a photo, unlike white noise)."""
    generator = np.random.default_rng(seed)
    grid_h, grid_w = height // cell + 2, width // cell + 2
    coarse = generator.uniform(0.0, 1.0, (grid_h, grid_w, 3))
    y = np.linspace(0.0, grid_h - 1.0, height)
    x = np.linspace(0.0, grid_w - 1.0, width)
    y0 = np.minimum(np.floor(y).astype(int), grid_h - 2)
    x0 = np.minimum(np.floor(x).astype(int), grid_w - 2)
    fy, fx = (y - y0)[:, None, None], (x - x0)[None, :, None]
    top = (1 - fx) * coarse[y0][:, x0] + fx * coarse[y0][:, x0 + 1]
    bottom = (1 - fx) * coarse[y0 + 1][:, x0] + fx * coarse[y0 + 1][:, x0 + 1]
    image = (1 - fy) * top + fy * bottom
    return np.clip(image, 0.0, 1.0)[None].astype(np.float32)
