"""API tokens stored as digests (labeling.models.tokens), and the plain tokens of DRF's
``rest_framework.authtoken`` moved into them.

``hash_drf_tokens`` reads the ``authtoken_token`` table, where it still exists, with SQL (the
authtoken app is no longer installed, so its model cannot be loaded), writes each key's prefix
and SHA-256 as an ApiToken named "legacy token" (its clients keep working, unchanged), then
drops the table and forgets authtoken's migrations, so that no plain token stays in the
database and re-adding the app later would create its table afresh. The format is repeated
here, not imported: this migration must keep doing what it did when it ran, whatever the
module becomes. Going backwards cannot restore the plain tokens (by design): it drops the new
table, and the tokens in it are lost.
"""

import hashlib
from datetime import UTC, datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.migrations.recorder import MigrationRecorder
from django.utils.dateparse import parse_datetime

LEGACY_TABLE = "authtoken_token"
LEGACY_NAME = "legacy token"
LEGACY_PREFIX_LENGTH = 8


def _aware(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    assert moment is not None, value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hash_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if LEGACY_TABLE not in connection.introspection.table_names(cursor):
            return
        cursor.execute(
            f"SELECT {quote('key')}, {quote('user_id')}, {quote('created')} "
            f"FROM {quote(LEGACY_TABLE)}"
        )
        rows = cursor.fetchall()
    api_token = apps.get_model("labeling", "ApiToken")
    api_token.objects.using(connection.alias).bulk_create(
        api_token(
            user_id=user_id,
            name=LEGACY_NAME,
            prefix=key[:LEGACY_PREFIX_LENGTH],
            digest=hashlib.sha256(key.encode()).hexdigest(),
            created_at=_aware(created),
        )
        for key, user_id, created in rows
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {quote(LEGACY_TABLE)}")
    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0008_prediction_confidence_id_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("prefix", models.CharField(db_index=True, max_length=12)),
                (
                    "digest",
                    models.CharField(
                        help_text="SHA-256 of the token, hex", max_length=64, unique=True
                    ),
                ),
                ("created_at", models.DateTimeField()),
                (
                    "expires_at",
                    models.DateTimeField(blank=True, help_text="empty: never expires", null=True),
                ),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["user", "revoked_at"], name="apitoken_user_revoked")
                ],
            },
        ),
        migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop),
    ]
