"""Rules the ORM cannot express, enforced by the database itself, and the role groups.

- A label's category belongs to the label's taxonomy version: a composite foreign key
  (category_id, taxonomy_version_id) → category (id, version_id) on PostgreSQL, a trigger on SQLite.
- The ledger is append-only: a trigger refuses any UPDATE of a label row.
"""

from django.db import migrations

PG_FORWARD = [
    """ALTER TABLE labeling_label ADD CONSTRAINT label_category_in_version
       FOREIGN KEY (category_id, taxonomy_version_id)
       REFERENCES labeling_category (id, version_id)""",
    """CREATE FUNCTION labeling_label_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION USING ERRCODE = '23000',
           MESSAGE = 'the label ledger is append-only: write a retraction instead of changing label ' || OLD.id;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER label_append_only BEFORE UPDATE ON labeling_label
       FOR EACH ROW EXECUTE FUNCTION labeling_label_append_only()""",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS label_append_only ON labeling_label",
    "DROP FUNCTION IF EXISTS labeling_label_append_only()",
    "ALTER TABLE labeling_label DROP CONSTRAINT IF EXISTS label_category_in_version",
]

_SQLITE_CHECK = """
    WHEN NEW.category_id IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM labeling_category c
      WHERE c.id = NEW.category_id AND c.version_id = NEW.taxonomy_version_id)
    BEGIN SELECT RAISE(ABORT, 'label_category_in_version: a label''s category must belong to the label''s taxonomy version'); END"""
SQLITE_FORWARD = [
    "CREATE TRIGGER label_category_in_version_ins BEFORE INSERT ON labeling_label" + _SQLITE_CHECK,
    """CREATE TRIGGER label_append_only BEFORE UPDATE ON labeling_label
       BEGIN SELECT RAISE(ABORT, 'the label ledger is append-only: write a retraction instead'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS label_category_in_version_ins",
    "DROP TRIGGER IF EXISTS label_append_only",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(
                f"Taxoloop supports PostgreSQL and SQLite, not {schema_editor.connection.vendor}"
            )
        for sql in statements:
            schema_editor.execute(sql)

    return run


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("Reviewer", "TaxonomyAdmin"):
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
