"""Decode untrusted images with PIL, with explicit size and pixel limits.

Every failure becomes an :class:`ImageError` whose message says why, so callers (the
encoders, the Django upload form, the importer) can report it and move on. The pixel limit
is checked here, per call, and never relies on PIL's process-wide ``MAX_IMAGE_PIXELS``.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
_BACKGROUND = (255, 255, 255)


class ImageError(ValueError):
    """An image that cannot be used; ``reason`` is a short human-readable explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load_image(
    source: str | Path | bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Read and fully decode an image into an RGB ``PIL.Image``.

    Args:
        source: a file path or the encoded bytes. GIFs give their first frame; transparent
            pixels are composited onto white.
        max_bytes: refuse larger files before reading them.
        max_pixels: refuse images whose declared ``width * height`` is larger (decompression
            bombs), before decoding any pixel data.

    Raises:
        ImageError: missing file, too large, not an image, unsupported format, bomb, corrupt
            or truncated data.
    """
    data = _read_bytes(source, max_bytes)
    image = _decode(data, max_pixels)
    return _to_rgb(image)


def validate_image_bytes(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[int, int, str]:
    """Check that ``data`` is a complete, allowed image; return ``(width, height, format)``.

    The image is fully decoded, so truncated files are caught, not only bad headers.
    ``format`` is PIL's name: one of :data:`ALLOWED_FORMATS`.

    Raises:
        ImageError: as :func:`load_image`.
    """
    _check_size(len(data), max_bytes)
    image = _decode(data, max_pixels)
    return image.width, image.height, str(image.format)


def _read_bytes(source: str | Path | bytes, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        _check_size(len(data), max_bytes)
        return data
    path = Path(source)
    if not path.is_file():
        raise ImageError(f"image file not found: {path}")
    _check_size(path.stat().st_size, max_bytes)
    try:
        return path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read image file {path}: {error}") from error


def _check_size(n_bytes: int, max_bytes: int) -> None:
    if n_bytes == 0:
        raise ImageError("image is empty (0 bytes)")
    if n_bytes > max_bytes:
        raise ImageError(f"image is too large: {n_bytes:,} bytes (limit {max_bytes:,})")


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        # PIL only warns below twice its global limit; a bomb is an error here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            _check_pixels(image, max_pixels)
            image.load()
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            # PIL refuses huge images inside open(), before we see the size: say it in our terms.
            found = re.search(r"\((\d+) pixels\)", str(error))
            size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
            raise ImageError(
                f"image rejected as a decompression bomb: {size} (limit {max_pixels:,})"
            ) from error
        except UnidentifiedImageError as error:
            allowed = ", ".join(ALLOWED_FORMATS)
            raise ImageError(f"not an image, or not one of {allowed}") from error
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as error:
            kind = "truncated" if "truncated" in str(error).lower() else "corrupt"
            raise ImageError(f"image data is {kind}: {error}") from error
    return image


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"image has invalid dimensions {width}x{height}")
    if width * height > max_pixels:
        raise ImageError(
            f"image rejected as a decompression bomb: {width}x{height} = {width * height:,} "
            f"pixels (limit {max_pixels:,})"
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (*_BACKGROUND, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")
