"""Encoder registry: a settings key -> a (cached) :class:`Encoder`.

A key registered with a trailing ``":"`` is a family: ``register_encoder("openclip:", f)``
makes ``get_encoder("openclip:ViT-B-32:/weights.pt")`` call ``f("openclip:ViT-B-32:/weights.pt",
device=...)``. Exact keys win over families, and the longest matching family wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .base import Encoder

EncoderFactory = Callable[..., Encoder]

_factories: dict[str, EncoderFactory] = {}
_instances: dict[tuple[str, str], Encoder] = {}
_lock = threading.Lock()


def register_encoder(key: str, factory: EncoderFactory) -> None:
    """Register ``factory(key, *, device) -> Encoder`` under ``key`` (or a ``"family:"``).

    Re-registering a key replaces it and drops its cached instances.
    """
    if not key:
        raise ValueError("encoder key must be a non-empty string")
    with _lock:
        _factories[key] = factory
        for cached in [k for k in _instances if _resolves_to(k[0], key)]:
            del _instances[cached]


def get_encoder(key: str, *, device: str = "cpu") -> Encoder:
    """The encoder for ``key`` on ``device``; one instance per (key, device), built lazily.

    Building it does not load the model: that happens on the first ``encode``.

    Raises:
        KeyError: the key is unknown; the message lists the known keys.
    """
    with _lock:
        cached = _instances.get((key, device))
        if cached is None:
            cached = _instances[(key, device)] = _factory_for(key)(key, device=device)
        return cached


def known_encoders() -> list[str]:
    """Registered keys, families shown as ``"family:<...>"``."""
    with _lock:
        return sorted(k + "<...>" if k.endswith(":") else k for k in _factories)


def clear_encoder_cache() -> None:
    """Forget every cached encoder instance (their models are freed when unreferenced)."""
    with _lock:
        _instances.clear()


def _factory_for(key: str) -> EncoderFactory:
    if key in _factories:
        return _factories[key]
    families = [f for f in _factories if f.endswith(":") and key.startswith(f)]
    if families:
        return _factories[max(families, key=len)]
    known = ", ".join(k + "<...>" if k.endswith(":") else k for k in sorted(_factories))
    raise KeyError(f"unknown encoder key {key!r}; known encoders: {known}")


def _resolves_to(key: str, registered: str) -> bool:
    return key == registered or (registered.endswith(":") and key.startswith(registered))
