"""open_clip encoders: ``openclip:<model>:<pretrained>`` (images), ``openclip-text:...`` (text).

``<model>`` is a built-in open_clip model name (``open_clip.list_models()``, or one added with
``open_clip.add_model_config``); ``<pretrained>`` is a pretrained tag (downloaded from the hub,
so only where the deployment has internet and ``HF_HUB_OFFLINE=0``) or a local checkpoint file.
Both encoders of the same model and weights share one loaded model. Outputs are L2-normalised,
as in CLIP's own similarity.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

from .base import Encoder, check_text_inputs
from .pixels import check_image_inputs, decode_images

IMAGE_PREFIX = "openclip:"
TEXT_PREFIX = "openclip-text:"
_cache_lock = threading.Lock()


def parse_openclip_key(key: str) -> tuple[str, str]:
    """``"openclip:ViT-B-32:/w.pt"`` -> ``("ViT-B-32", "/w.pt")``; the path may contain ':'.

    Raises:
        ValueError: when the model name or the pretrained part is missing.
    """
    prefix = TEXT_PREFIX if key.startswith(TEXT_PREFIX) else IMAGE_PREFIX
    model_name, _, pretrained = key.removeprefix(prefix).partition(":")
    if not model_name or not pretrained:
        raise ValueError(
            f"open_clip encoder key {key!r} must look like "
            f"'{prefix}<model_name>:<pretrained tag or weights file>'"
        )
    return model_name, pretrained


def openclip_embed_dim(model_name: str) -> int:
    """Output dimension from the model config, without building the model."""
    import open_clip

    config = open_clip.get_model_config(model_name)
    if config is None:
        known = ", ".join(open_clip.list_models()[:20])
        raise ValueError(f"unknown open_clip model {model_name!r}; known include: {known}, ...")
    return int(config["embed_dim"])


def load_openclip(model_name: str, pretrained: str, device: str) -> tuple[Any, Any, Any]:
    """``(model, image preprocess, tokenizer)``, cached per (model, weights, device)."""
    with _cache_lock:
        return _load_openclip_cached(model_name, pretrained, device)


@functools.lru_cache(maxsize=4)
def _load_openclip_cached(model_name: str, pretrained: str, device: str) -> tuple[Any, Any, Any]:
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(
        model_name, pretrained=pretrained, device=device, require_pretrained=True
    )
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(model_name)


class _OpenClipEncoder(Encoder):
    def __init__(self, key: str, *, device: str = "cpu") -> None:
        super().__init__(key, device=device)
        self.model_name, self.pretrained = parse_openclip_key(key)
        self.dim = openclip_embed_dim(self.model_name)

    def _load(self) -> Any:
        return load_openclip(self.model_name, self.pretrained, self.device)


class OpenClipImageEncoder(_OpenClipEncoder):
    """L2-normalised open_clip image embeddings, ``(n, embed_dim)``.

    Inputs are paths or bytes; undecodable ones give NaN rows (see ``last_errors_``).
    """

    modality = "image"

    def _check_inputs(self, items: list[Any]) -> None:
        check_image_inputs(items)

    def _encode_batch(self, batch: list[Any]) -> tuple[np.ndarray, dict[int, str]]:
        import torch

        model, preprocess, _ = self._model
        images, errors = decode_images(batch)
        if not images:
            return np.empty((0, self.dim), dtype=np.float32), errors
        x = torch.stack([preprocess(im) for im in images]).to(self.device)
        with torch.inference_mode():
            features = model.encode_image(x, normalize=True)
        return features.float().cpu().numpy(), errors


class OpenClipTextEncoder(_OpenClipEncoder):
    """L2-normalised open_clip text embeddings, ``(n, embed_dim)``, in the images' space."""

    modality = "text"

    def _check_inputs(self, items: list[Any]) -> None:
        check_text_inputs(items)

    def _encode_batch(self, batch: list[Any]) -> tuple[np.ndarray, dict[int, str]]:
        import torch

        model, _, tokenizer = self._model
        tokens = tokenizer(batch).to(self.device)
        with torch.inference_mode():
            features = model.encode_text(tokens, normalize=True)
        return features.float().cpu().numpy(), {}


def openclip_image(key: str, *, device: str = "cpu") -> OpenClipImageEncoder:
    """Factory for ``openclip:<model>:<pretrained>``."""
    return OpenClipImageEncoder(key, device=device)


def openclip_text(key: str, *, device: str = "cpu") -> OpenClipTextEncoder:
    """Factory for ``openclip-text:<model>:<pretrained>``."""
    return OpenClipTextEncoder(key, device=device)
