from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from labeling import models


@admin.register(models.Taxonomy)
class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(models.TaxonomyVersion)
class TaxonomyVersionAdmin(admin.ModelAdmin):
    list_display = ["taxonomy", "number", "status", "is_current", "created_at", "published_at"]
    list_filter = ["taxonomy", "status", "is_current"]


@admin.register(models.Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["path", "key", "depth", "is_leaf", "deprecated", "version"]
    list_filter = ["version", "depth", "is_leaf", "deprecated"]
    search_fields = ["path", "key", "name"]
    raw_id_fields = ["parent"]
    list_select_related = ["version__taxonomy"]


@admin.register(models.Item)
class ItemAdmin(admin.ModelAdmin):
    """The image is read-only here: the admin's plain file field would store an upload as it
    came (no size, type or decompression-bomb check, no content address, a partial file left
    on a full disk). Images go through the item pages, the API or an import, which validate
    them (``services.items.image_store``)."""

    list_display = ["external_id", "title", "source", "updated_at"]
    search_fields = ["external_id", "title"]
    list_filter = ["source"]
    raw_id_fields = ["current_label"]
    readonly_fields = ["image", "content_hash", "created_at", "updated_at"]


@admin.register(models.Label)
class LabelAdmin(admin.ModelAdmin):
    """The ledger is append-only: the admin shows it and never writes it."""

    list_display = ["id", "item", "kind", "category", "source", "author", "is_audit", "created_at"]
    list_filter = ["kind", "source", "is_audit", "taxonomy_version"]
    search_fields = ["item__external_id", "item__title", "note"]
    list_select_related = ["item", "category", "author"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(models.Embedding)
class EmbeddingAdmin(admin.ModelAdmin):
    list_display = ["item", "encoder_key", "dtype", "dim", "error", "created_at"]
    list_filter = ["encoder_key", "dtype"]
    raw_id_fields = ["item"]
    exclude = ["vector"]


@admin.register(models.ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "taxonomy_version", "status", "label_count", "created_at", "promoted_at"]
    list_filter = ["status", "taxonomy_version"]


@admin.register(models.TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "taxonomy_version", "status", "trigger", "progress", "created_at"]
    list_filter = ["status", "trigger"]


@admin.register(models.Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["item", "top_category", "decided_category", "confidence", "reason"]
    raw_id_fields = ["item", "top_category", "decided_category", "previous_top_category"]
    list_select_related = ["item", "top_category", "decided_category"]


@admin.register(models.QueueEntry)
class QueueEntryAdmin(admin.ModelAdmin):
    list_display = ["item", "reason", "priority", "lease_holder", "lease_expires_at"]
    list_filter = ["reason"]
    raw_id_fields = ["item"]


@admin.register(models.ReviewAssignment)
class ReviewAssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "group", "category_keys", "reasons", "updated_at"]
    list_select_related = ["user", "group"]
    raw_id_fields = ["user"]


@admin.register(models.HotkeyMap)
class HotkeyMapAdmin(admin.ModelAdmin):
    """Reviewers set their own keys on /review/keys/, which checks them (one printable
    character per action, no clashes): the admin shows them and may delete a map (back to the
    defaults), but does not write one."""

    list_display = ["user", "keys", "updated_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    readonly_fields = ["user", "keys", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
