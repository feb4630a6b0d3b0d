"""The offline style images: small deterministic paintings made by code.

`nst_teach.samples` falls back to these when a painting cannot be downloaded
(and caches them as PNG files): swirls (after the night sky of Starry Night),
a mosaic of tiles and waves. The same name and size always give the same
pixels (`GENERATOR_VERSION` in `samples` is bumped when the code changes).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from nst_teach import images

def generate_style_image(name: str, size: int = 512, seed: int | None = None) -> np.ndarray:
    """Paints an offline style image; the same name, size and seed always give the same pixels.

    Args:
        name: ``"swirls"``, ``"mosaic"`` or ``"waves"``.
        size: Side of the square image in pixels, at least 64.
        seed: Another painting in the same manner (AdaIN trains on several);
            None paints the sample's own.

    Returns:
        A float32 array of shape ``(1, size, size, 3)`` with values in ``[0, 1]``.

    Raises:
        ValueError: If the name is not a generated sample or size is too small.
    """
    painters = {"swirls": _paint_swirls, "mosaic": _paint_mosaic, "waves": _paint_waves}
    if name not in painters:
        raise ValueError(f"{name!r} is not a generated sample; choose {', '.join(painters)}.")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 64:
        raise ValueError(f"size must be an int of at least 64, got {size!r}.")
    painting = painters[name](int(size)) if seed is None else painters[name](int(size), int(seed))
    return images.check_image(painting[None], name=name)


def _palette(stops: tuple, values: np.ndarray) -> np.ndarray:
    """Maps values in [0, 1] to colours interpolated between RGB stops (0..255)."""
    positions = np.linspace(0.0, 1.0, len(stops))
    colours = np.asarray(stops, dtype=np.float64) / 255.0
    channels = [np.interp(values, positions, colours[:, channel]) for channel in range(3)]
    return np.stack(channels, axis=-1)


def _upscaled_noise(rng: np.random.Generator, shape: tuple[int, int], size: int,
                    resample: Image.Resampling) -> np.ndarray:
    """Random values of a small shape (rows, columns), resized to (size, size)."""
    noise = Image.fromarray(rng.random(shape).astype(np.float32))
    return np.asarray(noise.resize((size, size), resample), dtype=np.float64)


NIGHT_SKY = ((12, 24, 64), (22, 58, 128), (40, 96, 170), (70, 140, 190), (230, 200, 90),
             (250, 236, 160))
TILES = ((200, 50, 40), (236, 170, 40), (30, 80, 160), (30, 150, 140), (245, 225, 180),
         (120, 40, 110))
SEA = ((16, 36, 92), (30, 90, 170), (70, 170, 200), (240, 230, 200), (245, 160, 40),
       (200, 60, 50), (40, 120, 110))


def _paint_swirls(size: int, seed: int = 1889) -> np.ndarray:
    """Brush strokes that follow a field of vortices, smeared by line integral convolution."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    flow_x = 0.6 * np.sin(2 * np.pi * (1.3 * y + 0.2 * np.sin(2 * np.pi * x)))
    flow_y = 0.25 * np.cos(2 * np.pi * (0.9 * x + 0.3 * y))
    glow = np.zeros_like(x)
    for _ in range(7):
        centre_x, centre_y = rng.uniform(0.1, 0.9, 2)
        radius, strength = rng.uniform(0.07, 0.16), rng.choice([-1.0, 1.0]) * rng.uniform(6, 10)
        falloff = np.exp(-((x - centre_x) ** 2 + (y - centre_y) ** 2) / (2 * radius**2))
        flow_x -= (y - centre_y) * strength * falloff
        flow_y += (x - centre_x) * strength * falloff
        glow = np.maximum(glow, falloff)
    length = np.hypot(flow_x, flow_y) + 1e-9
    step_x, step_y = 1.2 * flow_x / length, 1.2 * flow_y / length
    noise = _upscaled_noise(rng, (size // 3, size // 3), size, Image.Resampling.NEAREST)
    rows, columns = np.mgrid[0:size, 0:size].astype(np.float64)
    total, steps = np.zeros((size, size)), 22
    for direction in (1.0, -1.0):  # average the noise along each stream line
        row, column = rows.copy(), columns.copy()
        for _ in range(steps):
            row_index = np.clip(row.astype(int), 0, size - 1)
            column_index = np.clip(column.astype(int), 0, size - 1)
            total += noise[row_index, column_index]
            row += direction * step_y[row_index, column_index]
            column += direction * step_x[row_index, column_index]
    texture = total / (2 * steps)
    texture = (texture - texture.mean()) / texture.std()
    tone = 0.75 * glow**1.5 + 0.35 * _upscaled_noise(rng, (4, 4), size, Image.Resampling.BICUBIC)
    colour = _palette(NIGHT_SKY, np.clip(tone + 0.12 * texture, 0, 1))
    return np.clip(colour * (1 + 0.18 * np.clip(texture, -2.5, 2.5))[..., None], 0, 1)


def _paint_mosaic(size: int, seed: int = 526, cells: int = 24) -> np.ndarray:
    """Voronoi tiles on a jittered grid, shaded, separated by dark grout."""
    rng = np.random.default_rng(seed)
    cell = size / cells
    jitter = rng.uniform(-0.4, 0.4, (cells, cells, 2))
    centres = (np.mgrid[0:cells, 0:cells].transpose(1, 2, 0) + 0.5 + jitter) * cell
    rows, columns = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    cell_row, cell_column = (rows // cell).astype(int), (columns // cell).astype(int)
    distances, owners = [], []
    for row_step in (-1, 0, 1):  # the nearest centre is in one of the 3x3 neighbouring cells
        for column_step in (-1, 0, 1):
            row, column = cell_row + row_step, cell_column + column_step
            inside = (row >= 0) & (row < cells) & (column >= 0) & (column < cells)
            row, column = np.clip(row, 0, cells - 1), np.clip(column, 0, cells - 1)
            centre = centres[row, column]
            distance = np.hypot(rows - centre[..., 0], columns - centre[..., 1])
            distances.append(np.where(inside, distance, np.inf))
            owners.append(row * cells + column)
    order = np.argsort(np.stack(distances), axis=0)
    nearest, second = np.take_along_axis(np.stack(distances), order[:2], axis=0)
    owner = np.take_along_axis(np.stack(owners), order[:1], axis=0)[0]
    offset = centres.reshape(-1, 2) / size - 0.5
    radius, angle = np.hypot(offset[:, 0], offset[:, 1]), np.arctan2(offset[:, 0], offset[:, 1])
    band = np.floor(radius * 9 + 0.9 * np.sin(6 * angle + radius * 6)).astype(int)
    palette = np.asarray(TILES) / 255.0
    tile_colours = palette[band % len(palette)] * rng.uniform(0.82, 1.12, (len(offset), 1))
    colour = tile_colours[owner] * (1.08 - 0.35 * (nearest / cell) ** 2)[..., None]
    colour *= (1 + 0.06 * (rng.random((size, size)) - 0.5))[..., None]
    tile = np.clip(((second - nearest) / 2 - 1.6 * size / 512) / 1.2, 0, 1)[..., None]
    return np.clip(colour * tile + np.array([0.10, 0.08, 0.07]) * (1 - tile), 0, 1)


def _paint_waves(size: int, seed: int = 1831, count: int = 13) -> np.ndarray:
    """Bands between wavy curves, with brush streaks, ripple lines and ink outlines."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    bases, phases = np.linspace(-0.05, 1.05, count), rng.uniform(0, 2 * np.pi, (count, 2))
    curves = np.stack([
        base + 0.045 * np.sin(2 * np.pi * (1.5 * x + 0.35 * np.sin(2 * np.pi * (y + base))) + first)
        + 0.02 * np.sin(8 * np.pi * x + second)
        for base, (first, second) in zip(bases, phases, strict=True)])
    band = np.sum(y[None] > curves, axis=0)
    gap = np.min(np.abs(y[None] - curves), axis=0) * 512  # distance to the nearest curve
    streaks = _upscaled_noise(rng, (size // 2, 24), size, Image.Resampling.BICUBIC)
    middle = count // 2  # the streaks follow the middle curve
    streak_rows = np.clip(((y - curves[middle] + bases[middle]) * size).astype(int), 0, size - 1)
    texture = streaks[streak_rows, (x * size).astype(int)]
    shade = (0.85 + 0.3 * texture) * (0.8 + 0.2 * np.clip(gap / 14, 0, 1))
    palette = np.asarray(SEA) / 255.0
    colour = palette[band % len(palette)] * shade[..., None]
    ripple = np.clip((np.cos(2 * np.pi * gap / 10) - 0.75) / 0.2, 0, 1) * ((gap > 6) & (gap < 34))
    foam = 0.65 * ripple[..., None]
    colour = colour * (1 - foam) + foam * np.array([0.97, 0.95, 0.88])
    ink = np.clip((gap - 1.5) / 1.5, 0, 1)[..., None]
    return np.clip(colour * ink + np.array([0.06, 0.07, 0.15]) * (1 - ink), 0, 1)
