"""Labelled image grids a person can look at."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def labelled_grid(rows: list[tuple[object, np.ndarray]], scale: int = 3, pad: int = 2) -> Image.Image:
    """One row per (label, images) pair, the label written on the left; nearest upscaling."""
    first = rows[0][1]
    h, w = first.shape[1] * scale, first.shape[2] * scale
    label_width = 12 + 7 * max(len(str(label)) for label, _ in rows)
    cols = max(len(images) for _, images in rows)
    canvas = Image.new("RGB", (label_width + cols * (w + pad) + pad, len(rows) * (h + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (label, images) in enumerate(rows):
        top = pad + r * (h + pad)
        draw.text((4, top + h // 2 - 6), "" if label is None else str(label), fill="black")
        for c, image in enumerate(images):
            tile = Image.fromarray(image if image.ndim == 2 else (image[..., 0] if image.shape[-1] == 1 else image))
            tile = tile.convert("RGB").resize((w, h), Image.NEAREST)
            canvas.paste(tile, (label_width + pad + c * (w + pad), top))
    return canvas
