"""generate_items writes items whose content hash is the SHA-256 of their text, on SQLite and PostgreSQL."""
import hashlib
import io

import pytest
from django.core.management import call_command

from core.models import Item

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_generated_items_carry_the_hex_sha256_of_their_text(text_project):
    call_command("generate_items", project=text_project.pk, count=30, stdout=io.StringIO())
    items = list(Item.objects.filter(project=text_project).values_list("text", "content_hash"))
    assert len(items) == 30
    assert all(content_hash == hashlib.sha256(text.encode()).hexdigest() for text, content_hash in items)
    assert Item.objects.filter(project=text_project, content_hash=items[7][1]).get().text == items[7][0]
