"""``Prediction.label_disagrees`` and its partial index, filled for the existing rows (the
same UPDATE as ``services.disagreement.disagreement_refresh``, written out here so that this
migration does not change when the service does)."""

from django.db import migrations, models

FILL = """
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
    ) d
    WHERE labeling_prediction.id = d.id AND labeling_prediction.label_disagrees <> d.disagrees
"""


def fill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FILL)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0006_rescore_shard_progress_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="prediction",
            name="label_disagrees",
            field=models.BooleanField(default=False, db_default=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="prediction",
            index=models.Index(
                condition=models.Q(("label_disagrees", True)),
                fields=["-confidence", "-id"],
                name="prediction_disagree_conf",
            ),
        ),
    ]
