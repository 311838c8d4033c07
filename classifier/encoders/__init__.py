"""Frozen text and image encoders behind one registry.

>>> encoder = get_encoder(DEFAULT_TEXT_ENCODER)      # nothing loaded yet
>>> encoder.encode(["Men Navy Blue Shirt"]).shape     # loads on first use  # doctest: +SKIP
(1, 384)

Built-in keys: ``"minilm-l6"`` (text, 384-d), ``"effnet-lite0"`` (image, 1280-d),
``"openclip:<model>:<pretrained>"`` (image) and ``"openclip-text:<model>:<pretrained>"`` (text).
"""

from ..compat import ensure_torchvision

# transformers, timm and open_clip all import torchvision: patch it before any of them loads.
ensure_torchvision()

from ..text import compose_text  # noqa: E402
from .base import Encoder, Modality, Progress  # noqa: E402
from .effnet import WeightsMismatchError, build_effnet_lite0, effnet_lite0  # noqa: E402
from .openclip import IMAGE_PREFIX, TEXT_PREFIX, openclip_image, openclip_text  # noqa: E402
from .registry import (  # noqa: E402
    clear_encoder_cache,
    get_encoder,
    known_encoders,
    register_encoder,
)
from .sentence import minilm_l6  # noqa: E402

DEFAULT_TEXT_ENCODER = "minilm-l6"
DEFAULT_IMAGE_ENCODER = "effnet-lite0"

register_encoder(DEFAULT_TEXT_ENCODER, minilm_l6)
register_encoder(DEFAULT_IMAGE_ENCODER, effnet_lite0)
register_encoder(IMAGE_PREFIX, openclip_image)
register_encoder(TEXT_PREFIX, openclip_text)

__all__ = [
    "DEFAULT_IMAGE_ENCODER",
    "DEFAULT_TEXT_ENCODER",
    "Encoder",
    "Modality",
    "Progress",
    "WeightsMismatchError",
    "build_effnet_lite0",
    "clear_encoder_cache",
    "compose_text",
    "get_encoder",
    "known_encoders",
    "register_encoder",
]
