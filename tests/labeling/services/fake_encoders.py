"""Fake encoders for tests: deterministic, instant, no weights. Free of Django, so a worker
process can register them at start-up (tests/integration/test_loop.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from classifier.encoders import Encoder, register_encoder

TEXT_KEY = "fake-text"
IMAGE_KEY = "fake-image"
TEXT_DIM = 16
IMAGE_DIM = 8
FAKE_ENCODERS = {"TEXT_ENCODER": TEXT_KEY, "IMAGE_ENCODER": IMAGE_KEY}
BROKEN_IMAGE = b"not an image at all"


def seeded(value: str | bytes, dim: int) -> np.ndarray:
    data = value.encode() if isinstance(value, str) else value
    seed = int.from_bytes(hashlib.sha256(data).digest()[:4], "little")
    return np.random.default_rng(seed).normal(size=dim).astype(np.float32)


class FakeEncoder(Encoder):
    """Deterministic vectors: text from the first word (its cluster) plus per-input noise;
    images fail when their bytes are ``BROKEN_IMAGE``. Counts the inputs it encoded."""

    def __init__(self, key: str, *, modality: str, dim: int, device: str = "cpu") -> None:
        super().__init__(key, device=device)
        self.modality = modality  # type: ignore[assignment]
        self.dim = dim
        self.encoded: list[Any] = []

    def _load(self) -> Any:
        return object()

    def _encode_batch(self, batch: list[Any]) -> tuple[np.ndarray, dict[int, str]]:
        errors = {i: "cannot identify image file" for i, x in enumerate(batch) if x == BROKEN_IMAGE}
        good = [x for i, x in enumerate(batch) if i not in errors]
        self.encoded.extend(good)
        rows = [self._vector(x) for x in good]
        return np.array(rows, dtype=np.float32).reshape(len(good), self.dim), errors

    def _vector(self, x: Any) -> np.ndarray:
        head = x.split(" ")[0] if isinstance(x, str) else bytes(x)[:8]
        return 4 * seeded(head, self.dim) + seeded(x, self.dim)


def register_fake_encoders() -> tuple[FakeEncoder, FakeEncoder]:
    """(Re)register fresh fake encoders under TEXT_KEY / IMAGE_KEY and return them."""
    text = FakeEncoder(TEXT_KEY, modality="text", dim=TEXT_DIM)
    image = FakeEncoder(IMAGE_KEY, modality="image", dim=IMAGE_DIM)
    register_encoder(TEXT_KEY, lambda key, device="cpu": text)
    register_encoder(IMAGE_KEY, lambda key, device="cpu": image)
    return text, image
