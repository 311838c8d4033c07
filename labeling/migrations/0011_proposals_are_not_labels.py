"""Proposal labels become proposals (issue 14: a proposal is not a label).

Until now "not in the taxonomy" wrote a real label, with ``context="proposal"``, on a "closest
category" that defaulted to a guess (a wooden puzzle became "Apparel > Tops"). Each such label
becomes a ``Proposal`` with the reviewer's words, and is retracted (an appended retraction, source
``migration``: the ledger is append-only), so it leaves training and reports; the label itself
stays in the ledger, linked from its proposal. The item's current label becomes its newest
remaining one, and the report's disagreement flag is recomputed for those items (the UPDATE of
0007, for these items only). A proposal whose label was still the item's current label is open;
one that a later decision had answered is recorded as dismissed.

Going backwards deletes the migration's retractions and proposals and restores the current
labels (the ledger's trigger refuses updates, not deletes; see 0002).
"""

from django.db import migrations

NOTE_PREFIX = "not in taxonomy:"
RETRACTION_NOTE = "a 'not in the taxonomy' proposal is not a label (migration 0011)"
CHUNK = 500

REFRESH = """
    UPDATE labeling_prediction SET label_disagrees = d.disagrees
    FROM (
        SELECT p.id AS id, COALESCE(
            l.category_id <> p.top_category_id
            AND substr(tc.path, 1, length(lc.path) + 3) <> lc.path || ' > ',
            FALSE
        ) AS disagrees
        FROM labeling_prediction p
        JOIN labeling_item i ON i.id = p.item_id
        JOIN labeling_category tc ON tc.id = p.top_category_id
        LEFT JOIN labeling_label l ON l.id = i.current_label_id
        LEFT JOIN labeling_category lc ON lc.id = l.category_id
        WHERE p.item_id IN ({ids})
    ) d
    WHERE labeling_prediction.id = d.id AND labeling_prediction.label_disagrees <> d.disagrees
"""


def _text(note):
    note = (note or "").strip()
    return note[len(NOTE_PREFIX) :].strip() if note.lower().startswith(NOTE_PREFIX) else note


def forwards(apps, schema_editor):
    Label = apps.get_model("labeling", "Label")
    Item = apps.get_model("labeling", "Item")
    Proposal = apps.get_model("labeling", "Proposal")
    olds = Label.objects.filter(context="proposal", kind="label").order_by("id")
    items = set()
    for label in olds.iterator(chunk_size=CHUNK):
        current = Item.objects.filter(pk=label.item_id, current_label_id=label.pk).exists()
        Proposal.objects.create(
            item_id=label.item_id,
            taxonomy_version_id=label.taxonomy_version_id,
            author_id=label.author_id,
            text=_text(label.note) or "(no note)",
            label_id=label.pk,
            model_version_id=label.model_version_id,
            prediction_shown=label.prediction_shown or {},
            status="open" if current else "dismissed",
            idempotency_key=f"migrated-label:{label.pk}",
            created_at=label.created_at,
        )
        if not Label.objects.filter(retracts_id=label.pk).exists():
            Label.objects.create(
                item_id=label.item_id,
                kind="retraction",
                taxonomy_version_id=label.taxonomy_version_id,
                source="migration",
                retracts_id=label.pk,
                note=RETRACTION_NOTE,
            )
            items.add(label.item_id)
    _restore_current(apps, schema_editor, sorted(items))


def _restore_current(apps, schema_editor, item_ids):
    Label = apps.get_model("labeling", "Label")
    Item = apps.get_model("labeling", "Item")
    for pk in item_ids:
        standing = (
            Label.objects.filter(item_id=pk, kind="label", retractions__isnull=True)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
            .first()
        )
        Item.objects.filter(pk=pk).update(current_label_id=standing)
    with schema_editor.connection.cursor() as cursor:
        for start in range(0, len(item_ids), CHUNK):
            chunk = item_ids[start : start + CHUNK]
            cursor.execute(REFRESH.format(ids=", ".join(str(int(i)) for i in chunk)))


def backwards(apps, schema_editor):
    Label = apps.get_model("labeling", "Label")
    Proposal = apps.get_model("labeling", "Proposal")
    retractions = Label.objects.filter(source="migration", note=RETRACTION_NOTE)
    items = sorted(set(retractions.values_list("item_id", flat=True)))
    retractions.delete()
    Proposal.objects.filter(idempotency_key__startswith="migrated-label:").delete()
    _restore_current(apps, schema_editor, items)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0010_review_skip_proposal"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
