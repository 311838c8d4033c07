"""Image inputs -> decoded PIL images -> model-ready tensors, shared by the image encoders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..images import ImageError, load_image

IMAGE_SIZE = 224


def check_image_inputs(items: list[Any]) -> None:
    """Raise TypeError for anything that is not a path or encoded bytes."""
    for i, item in enumerate(items):
        if not isinstance(item, str | Path | bytes):
            raise TypeError(f"image input {i} is {type(item).__name__}, expected a path or bytes")


def decode_images(batch: list[Any]) -> tuple[list[Any], dict[int, str]]:
    """Decode each path/bytes to RGB; returns the images that worked and ``{position: reason}``."""
    images, errors = [], {}
    for position, source in enumerate(batch):
        try:
            images.append(load_image(source))
        except ImageError as error:
            errors[position] = error.reason
    return images, errors


def images_to_tensor(images: list[Any], size: int = IMAGE_SIZE) -> Any:
    """RGB PIL images -> ``(n, 3, size, size)`` float tensor in [-1, 1], channels_last.

    Bicubic resize to a square, then TF-style normalisation (mean = std = 0.5), as the
    TF-trained EfficientNet-Lite weights expect.
    """
    import torch
    from PIL import Image

    pixels = np.stack(
        [np.asarray(im.resize((size, size), Image.Resampling.BICUBIC)) for im in images]
    )
    # NHWC viewed as NCHW is already channels_last in memory: no copy needed.
    batch = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    return batch.div_(127.5).sub_(1.0).contiguous(memory_format=torch.channels_last)
