"""An item's content hash stored as its 32 bytes instead of 64 hex characters (issue 18: a smaller, faster
unique index). PostgreSQL converts in one ALTER (decode / encode); other databases rebuild the column and convert
the values in Python. Values that are not a SHA-256 in hex stop the migration with their item ids."""
from itertools import islice

from django.db import migrations, models

import core.models.fields

TABLE = "labeling_item"
BATCH = 5000  # rows converted at a time where Python converts them


def _check_hex(cursor, vendor: str) -> None:
    if vendor == "postgresql":
        cursor.execute(f"SELECT id FROM {TABLE} WHERE content_hash !~ '^[0-9a-fA-F]{{64}}$' ORDER BY id LIMIT 10")
        bad = [row[0] for row in cursor.fetchall()]
    else:
        cursor.execute(f"SELECT id, content_hash FROM {TABLE} ORDER BY id")
        bad = list(islice((pk for pk, value in cursor if not _is_hex_digest(value)), 10))
    if bad:
        raise RuntimeError(f"items {bad} have a content hash that is not a SHA-256 in 64 hex digits; set it to "
                           "hashlib.sha256(text or file bytes).hexdigest() and migrate again")


def _is_hex_digest(value) -> bool:
    try:
        return isinstance(value, str) and len(value) == 64 and len(bytes.fromhex(value)) == 32
    except ValueError:
        return False


def _fields(apps):
    """The item model and its content_hash column as text and as bytes, for the schema editor."""
    model = apps.get_model("core", "Item")
    text, raw = models.CharField(max_length=64), core.models.fields.Sha256Field()
    for field in (text, raw):
        field.set_attributes_from_name("content_hash")
        field.model = model
    return model, text, raw


def to_bytes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        _check_hex(cursor, connection.vendor)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN content_hash TYPE bytea USING decode(content_hash, 'hex')")
            return
    model, text, raw = _fields(apps)
    schema_editor.alter_field(model, text, raw)  # the values stay text until converted below
    _convert(connection, lambda value: bytes.fromhex(value))


def to_text(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN content_hash TYPE varchar(64) "
                           "USING encode(content_hash, 'hex')")
        return
    model, text, raw = _fields(apps)
    schema_editor.alter_field(model, raw, text)
    _convert(connection, lambda value: bytes(value).hex())


def _convert(connection, convert) -> None:
    """Rewrite every row's content_hash with ``convert``, a batch of rows at a time (in id order)."""
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT id, content_hash FROM {TABLE} WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH])
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.executemany(f"UPDATE {TABLE} SET content_hash = %s WHERE id = %s",
                               [(convert(value), pk) for pk, value in rows])
            last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_membership_annotation_count"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="item", name="content_hash", field=core.models.fields.Sha256Field()),
            ],
            database_operations=[migrations.RunPython(to_bytes, to_text)],
        ),
    ]
