"""The :class:`Encoder` base class: batching, progress, failed rows, lazy model loading."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

Modality = Literal["text", "image"]
Progress = Callable[[int, int], None]


class Encoder(ABC):
    """A frozen model mapping inputs of one modality to fixed-size float32 vectors.

    Subclasses set ``modality`` and ``dim`` in the constructor without loading any weights,
    implement :meth:`_load` (called once, on first use) and :meth:`_encode_batch`.

    Attributes:
        key: the registry key this encoder was built from.
        modality: ``"text"`` or ``"image"``.
        dim: output dimension ``d``.
        device: torch device string.
        last_errors_: after :meth:`encode`, row index -> reason for every input that could
            not be encoded (its row is NaN).
    """

    modality: Modality
    dim: int

    def __init__(self, key: str, *, device: str = "cpu") -> None:
        self.key = key
        self.device = device
        self.last_errors_: dict[int, str] = {}
        self._model: Any = None
        self._load_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self.key!r}, device={self.device!r}, dim={self.dim})"

    @property
    def is_loaded(self) -> bool:
        """Whether the model weights are in memory yet."""
        return self._model is not None

    def load(self) -> Encoder:
        """Load the model now rather than on the first :meth:`encode`; returns self."""
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
        return self

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 64,
        progress: Progress | None = None,
    ) -> np.ndarray:
        """Encode ``n`` inputs.

        Args:
            inputs: ``n`` strings (text) or file paths / encoded bytes (image).
            batch_size: inputs per forward pass; does not change the result beyond float noise.
            progress: called as ``progress(done, n)`` after each batch.

        Returns:
            ``(n, dim)`` float32. Rows of inputs that could not be encoded are NaN and listed
            in ``last_errors_``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        items = list(inputs)
        self._check_inputs(items)
        self.last_errors_ = {}
        out = np.full((len(items), self.dim), np.nan, dtype=np.float32)
        if not items:
            return out
        self.load()
        order = self._batch_order(items)
        for start in range(0, len(items), batch_size):
            rows = order[start : start + batch_size]
            self._fill(out, rows, [items[i] for i in rows])
            if progress is not None:
                progress(min(start + batch_size, len(items)), len(items))
        return out

    def _fill(self, out: np.ndarray, rows: np.ndarray, batch: list[Any]) -> None:
        vectors, errors = self._encode_batch(batch)
        for position, reason in errors.items():
            self.last_errors_[int(rows[position])] = reason
        good = [i for i in range(len(batch)) if i not in errors]
        if good:
            out[rows[good]] = vectors

    def _batch_order(self, items: list[Any]) -> np.ndarray:
        """Order in which inputs are batched; results always come back in input order."""
        return np.arange(len(items))

    def _check_inputs(self, items: list[Any]) -> None:  # noqa: B027 (an optional hook)
        """Raise TypeError for inputs of the wrong kind (a programming error, not bad data)."""

    @abstractmethod
    def _load(self) -> Any:
        """Build and return the model (called once, lazily)."""

    @abstractmethod
    def _encode_batch(self, batch: list[Any]) -> tuple[np.ndarray, dict[int, str]]:
        """Encode one batch.

        Returns:
            ``(m, dim)`` float32 vectors for the ``m`` inputs that worked, in batch order, and
            ``{position in batch: reason}`` for those that did not.
        """


def check_text_inputs(items: list[Any]) -> None:
    """Raise TypeError for any input that is not a string."""
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"text input {i} is {type(item).__name__}, expected str")
