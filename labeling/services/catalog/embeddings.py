"""Encode items with the configured frozen encoders and cache the vectors (``Embedding``).

Encoders are frozen, so an item is encoded once per encoder and again only when the input
that encoder sees changes (its hash is stored beside the vector). Images that are missing
from storage or cannot be decoded get an ``Embedding`` row with the reason in ``error`` and no
vector; the item then goes on text-only, and it is retried only when its image changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from classifier.encoders import Encoder, compose_text, get_encoder
from labeling.models import Embedding, Item
from labeling.services.catalog.item_fields import image_sha256_from_name
from labeling.services.errors import ServiceError
from labeling.services.learning.ml import encoder_keys, in_list_size

Progress = Callable[[int, int], None]

UNKNOWN_ENCODER = "Unknown encoder {key!r}: {reason}"
IMAGE_MISSING = "the image file {name!r} is missing from storage"
IMAGE_UNREADABLE = "the image file {name!r} could not be read: {reason}"
SCAN_CHUNK = 2000
STORED_DTYPE = np.float16


class EmbeddingError(ServiceError):
    pass


@dataclass
class EncoderReport:
    """What one encoder did: vectors written, inputs that failed, items already up to date."""

    key: str
    encoded: int = 0
    failed: int = 0
    unchanged: int = 0


@dataclass
class EmbedReport:
    """What ``embed_items`` did, per encoder, and which items got a new vector."""

    encoders: dict[str, EncoderReport] = field(default_factory=dict)
    # Items that got a new vector from at least one encoder: exactly what needs scoring.
    encoded_item_ids: set[int] = field(default_factory=set)

    @property
    def encoded(self) -> int:
        return sum(r.encoded for r in self.encoders.values())

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.encoders.values())

    def lines(self) -> list[str]:
        return [
            f"{r.key}: {r.encoded} encoded, {r.failed} failed, {r.unchanged} unchanged"
            for r in self.encoders.values()
        ]


@dataclass(frozen=True)
class _Pending:
    """Items one encoder still has to encode, with the hash of the input each will get."""

    encoder: Encoder
    hashes: dict[int, str]


def embed_items(
    *,
    item_ids: Sequence[int] | None = None,
    keys: Sequence[str] | None = None,
    chunk_size: int | None = None,
    progress: Progress | None = None,
) -> EmbedReport:
    """Encode every item (or ``item_ids``) that has no up-to-date embedding per encoder.

    Args:
        item_ids: restrict to these items; None means the whole catalog.
        keys: encoder keys; default the configured TEXT_ENCODER and IMAGE_ENCODER.
        chunk_size: items per encode call and database write (EMBED_CHUNK_SIZE).
        progress: ``progress(done, total)`` over all encoders' pending items, after each chunk.
    """
    size = chunk_size or settings.TAXOLOOP["EMBED_CHUNK_SIZE"]
    report = EmbedReport()
    pending = [_pending_for(_encoder(key), item_ids, report) for key in _keys(keys)]
    total, done = sum(len(p.hashes) for p in pending), 0
    if progress is not None:
        progress(0, total)
    for job in pending:
        ids = sorted(job.hashes)
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            report.encoded_item_ids |= _embed_chunk(job, chunk, report.encoders[job.encoder.key])
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return report


def _keys(keys: Sequence[str] | None) -> list[str]:
    return list(keys) if keys is not None else list(encoder_keys().values())


def _encoder(key: str) -> Encoder:
    try:
        return get_encoder(key)
    except KeyError as error:
        raise EmbeddingError(UNKNOWN_ENCODER.format(key=key, reason=error.args[0])) from error


def _pending_for(encoder: Encoder, item_ids: Sequence[int] | None, report: EmbedReport) -> _Pending:
    """Scan the items in id order and keep those whose stored input hash differs."""
    stats = report.encoders.setdefault(encoder.key, EncoderReport(key=encoder.key))
    hashes: dict[int, str] = {}
    for rows in _item_rows(item_ids):
        stored = dict(
            Embedding.objects.filter(
                encoder_key=encoder.key, item_id__in=[r["id"] for r in rows]
            ).values_list("item_id", "content_hash")
        )
        for row in rows:
            wanted = input_hash(encoder.modality, row)
            if wanted is None:
                continue  # nothing to encode, e.g. no image: the item is text-only
            if stored.get(row["id"]) == wanted:
                stats.unchanged += 1
            else:
                hashes[row["id"]] = wanted
    return _Pending(encoder=encoder, hashes=hashes)


_ROW_FIELDS = ("id", "title", "description", "attributes", "image")


def _item_rows(item_ids: Sequence[int] | None) -> Iterator[list[dict[str, Any]]]:
    """Items as dicts, a chunk at a time in id order (keyset pages over the whole catalog)."""
    if item_ids is not None:
        wanted, size = sorted(set(item_ids)), in_list_size(SCAN_CHUNK)
        for start in range(0, len(wanted), size):
            batch = wanted[start : start + size]
            yield list(Item.objects.filter(pk__in=batch).order_by("pk").values(*_ROW_FIELDS))
        return
    last, page = 0, in_list_size(SCAN_CHUNK)
    while rows := list(Item.objects.filter(pk__gt=last).order_by("pk").values(*_ROW_FIELDS)[:page]):
        last = rows[-1]["id"]
        yield rows


def item_text(row: dict[str, Any]) -> str:
    """The string the text encoder sees for an item row (see ``classifier.text``)."""
    return compose_text(
        title=row["title"], description=row["description"] or "", attributes=row["attributes"]
    )


def input_hash(modality: str, row: dict[str, Any]) -> str | None:
    """Hash of what an encoder of ``modality`` would see for the item; None for no input."""
    if modality == "text":
        return hashlib.sha256(item_text(row).encode("utf-8")).hexdigest()
    name = row["image"] or ""
    if not name:
        return None
    # Content-addressed names carry the sha256 of the bytes; a legacy name hashes as a name.
    return image_sha256_from_name(name) or hashlib.sha256(name.encode("utf-8")).hexdigest()


def _embed_chunk(job: _Pending, ids: list[int], stats: EncoderReport) -> set[int]:
    """Encode and store one chunk; the ids of the items that got a vector."""
    rows = list(Item.objects.filter(pk__in=ids).order_by("pk").values(*_ROW_FIELDS))
    inputs, errors = _inputs(job.encoder.modality, rows)
    readable = [i for i in range(len(rows)) if i not in errors]
    vectors = job.encoder.encode([inputs[i] for i in readable])
    for position, reason in job.encoder.last_errors_.items():
        errors[readable[position]] = reason
    by_row = dict(zip(readable, vectors, strict=True))
    objects = [_embedding_row(job, row, by_row.get(i), errors.get(i)) for i, row in enumerate(rows)]
    _upsert(objects)
    # A non-finite vector is stored as an error too, so count from the rows written.
    encoded = {o.item_id for o in objects if o.vector is not None}
    stats.failed += len(rows) - len(encoded)
    stats.encoded += len(encoded)
    return encoded


def _inputs(modality: str, rows: list[dict[str, Any]]) -> tuple[list[Any], dict[int, str]]:
    """Encoder inputs per row (text, or image bytes) and the rows whose image could not be read."""
    if modality == "text":
        return [item_text(r) for r in rows], {}
    inputs: list[Any] = []
    errors: dict[int, str] = {}
    for i, row in enumerate(rows):
        inputs.append(None)
        try:
            with default_storage.open(row["image"], "rb") as f:
                inputs[i] = f.read()
        except FileNotFoundError:
            errors[i] = IMAGE_MISSING.format(name=row["image"])
        except OSError as error:
            errors[i] = IMAGE_UNREADABLE.format(name=row["image"], reason=error)
    return inputs, errors


def _embedding_row(
    job: _Pending, row: dict[str, Any], vector: np.ndarray | None, error: str | None
) -> Embedding:
    base = {
        "item_id": row["id"],
        "encoder_key": job.encoder.key,
        "content_hash": job.hashes[row["id"]],
        "created_at": timezone.now(),
    }
    if error is not None or vector is None or not np.isfinite(vector).all():
        reason = error or "the encoder returned no vector"
        return Embedding(**base, vector=None, dim=0, error=reason)
    stored = np.ascontiguousarray(vector, dtype=STORED_DTYPE)
    return Embedding(**base, vector=stored.tobytes(), dtype="float16", dim=len(stored), error="")


@transaction.atomic
def _upsert(objects: list[Embedding]) -> None:
    """Insert or replace one chunk's rows; a concurrent embed of the same item just wins last."""
    Embedding.objects.bulk_create(
        objects,
        update_conflicts=True,
        unique_fields=["item", "encoder_key"],
        update_fields=["vector", "dtype", "dim", "content_hash", "error", "created_at"],
        batch_size=500,
    )
