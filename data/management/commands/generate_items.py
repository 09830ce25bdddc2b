"""Generate N synthetic text items in a project, fast: COPY on PostgreSQL, bulk_create elsewhere."""
import hashlib
import random
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from core.models import Item, Project
from quorum.lib import pg

WORDS = ("great service slow delivery friendly staff broken item refund price quality fast late cheap "
         "excellent awful would buy again never helpful rude clean dirty loud quiet").split()
# Each item's rank row (a random priority) comes from the item table's insert trigger (core.models.ItemRank).
COLUMNS = ("project_id", "text", "image", "source_name", "metadata", "content_hash", "final_source", "needed",
           "annotation_count", "is_gold", "excluded", "ambiguous", "created_at", "updated_at")
BATCH = 5000


def _rows(project: Project, count: int, seed: int):
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]  # a second run adds new items instead of colliding on content_hash
    now = timezone.now()
    for n in range(count):
        text = f"{' '.join(rng.choices(WORDS, k=rng.randint(6, 18)))} #{run}-{n}"
        yield (project.pk, text, "", f"generated:{run}:{n}", "{}", hashlib.sha256(text.encode()).hexdigest(), "",
               project.overlap, 0, False, False, False, now, now)


class Command(BaseCommand):
    help = "Add --count synthetic unlabeled text items to --project (for benchmarks and load tests)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id (a text project).")
        parser.add_argument("--count", type=int, required=True, help="How many items to add.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *, project, count, seed, **options):
        obj = Project.objects.filter(pk=project).first()
        if obj is None:
            raise CommandError(f"No project with id {project}.")
        if obj.kind != Project.Kind.TEXT:
            raise CommandError(f"Project {project} is an image project; generate_items makes text items.")
        if count < 1:
            raise CommandError("--count must be at least 1.")
        rows = _rows(obj, count, seed)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                self._copy(obj, rows)
            else:
                self._bulk(rows)
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("ANALYZE labeling_item")
                cur.execute("ANALYZE labeling_itemrank")
        self.stdout.write(f"Added {count:,} items to project {project}.")

    def _copy(self, project: Project, rows):
        """COPY with the foreign keys checked once, as the imports do (quorum.lib.pg): every key points at the
        project, locked here, or (the rank rows the insert trigger makes) at an item of the same statement."""
        table = Item._meta.db_table
        with connection.cursor() as cur:
            checked = pg.may_skip_row_checks(cur) and pg.key_share(cur, Project._meta.db_table, [project.pk])
            raw = cur.cursor  # the psycopg 3 cursor under Django's wrapper
            at = COLUMNS.index("content_hash")  # stored as its bytes (core.models.fields.Sha256Field)
            with pg.row_checks_off(cur, checked), raw.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row[:at], bytes.fromhex(row[at]), *row[at + 1:]))

    def _bulk(self, rows):
        batch = []
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            values["metadata"] = {}
            batch.append(Item(**values))
            if len(batch) >= BATCH:
                Item.objects.bulk_create(batch)
                batch = []
        if batch:
            Item.objects.bulk_create(batch)
