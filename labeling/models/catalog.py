"""The catalog: items (the products to classify) and their embeddings, one per encoder.

``Item.current_label`` points into the review ledger (``labeling.models.review``) by name, so
this module imports no other model module.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Item(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    title = models.CharField(max_length=1000)
    description = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    image = models.FileField(upload_to="items/%Y/%m/", blank=True, max_length=500)
    source = models.CharField(max_length=100, blank=True, help_text="where the item came from")
    content_hash = models.CharField(max_length=64, help_text="sha256 of title, text and image")
    # The newest non-retracted label; kept by labeling.services.review.labels in the same transaction
    # as the ledger write so reports need no window query over the ledger.
    current_label = models.ForeignKey(
        "labeling.Label", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.title[:60]}"


class Embedding(models.Model):
    class DType(models.TextChoices):
        FLOAT16 = "float16"
        FLOAT32 = "float32"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="embeddings")
    encoder_key = models.CharField(max_length=200)
    vector = models.BinaryField(null=True, blank=True)
    dtype = models.CharField(max_length=8, choices=DType.choices, default=DType.FLOAT16)
    dim = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, help_text="hash of the encoder's input")
    error = models.TextField(blank=True, help_text="why the input could not be encoded")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "encoder_key"], name="embedding_item_encoder"),
            models.CheckConstraint(
                condition=Q(vector__isnull=False) | ~Q(error=""), name="embedding_vector_or_error"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.encoder_key} of item {self.item_id}"
