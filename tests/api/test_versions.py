"""Dataset versions: frozen, hashed by content, stable splits, byte-identical downloads, diffs."""
import csv
import hashlib
import io
import json

import pytest
from django.urls import reverse

from core.models import Item
from core.services import set_final_label
from data.datasets import split_for, version_create
from data.models import DatasetVersion
from quorum.lib.errors import Conflict
from tests.api.conftest import results
from tests.conftest import add_texts, digits_zip

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def labeled(text_project):
    texts = [f"review number {n}" for n in range(40)]
    add_texts(text_project, texts, labels=[["positive", "negative", "neutral"][n % 3] for n in range(40)])
    add_texts(text_project, ["not labeled yet"])
    return text_project


def _create(client, project, name):
    return client.post(reverse("api:versions", args=[project.pk]), {"name": name}, format="json")


def _download(client, project, name, **params):
    response = client.get(reverse("api:version_export", args=[project.pk, name]), params)
    assert response.status_code == 200, response.content
    return response, b"".join(response.streaming_content)


def _relabel(project, text, label):
    item = Item.objects.get(project=project, text=text)
    set_final_label(item=item, label=project.labels.get(name=label), source="reviewer")


def test_create_freezes_labeled_items_with_counts_and_splits(api_as, people, labeled):
    Item.objects.filter(text="review number 0").update(excluded=True)
    response = _create(api_as(people["manager"]), labeled, "v1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["item_count"] == 39
    assert body["class_counts"] == {"positive": 13, "negative": 13, "neutral": 13}
    assert body["source_counts"] == {"given": 39}
    assert sum(body["split_counts"].values()) == 39 and set(body["split_counts"]) == {"train", "validation", "test"}
    assert len(body["content_hash"]) == 64


def test_same_content_gets_the_same_hash_and_items_keep_their_split(api_as, people, labeled):
    client = api_as(people["manager"])
    v1 = _create(client, labeled, "v1").json()
    v2 = _create(client, labeled, "v2").json()
    assert v1["content_hash"] == v2["content_hash"]
    _relabel(labeled, "review number 1", "positive")
    v3 = _create(client, labeled, "v3").json()
    assert v3["content_hash"] != v1["content_hash"]
    rows = {DatasetVersion.objects.get(name=n).pk: {r.item_id: r.split for r in DatasetVersion.objects.get(name=n).rows.all()}
            for n in ("v1", "v3")}
    first, third = rows.values()
    assert first == third  # a relabel does not move an item between splits
    item = Item.objects.get(text="review number 5")
    assert first[item.pk] == split_for(item.content_hash)


def test_hash_is_sha256_over_sorted_content_hash_and_label_lines(labeled, people):
    version = version_create(project=labeled, name="v1", user=people["manager"])
    lines = sorted(f"{i.content_hash}\t{i.final_label.name}\n" for i in
                   Item.objects.filter(project=labeled, final_label__isnull=False).select_related("final_label"))
    assert version.content_hash == hashlib.sha256("".join(lines).encode()).hexdigest()


def test_the_hash_covers_every_item_when_they_are_read_in_several_chunks(labeled, people, monkeypatch):
    from data import datasets

    whole = version_create(project=labeled, name="v1", user=people["manager"])
    monkeypatch.setattr(datasets, "CHUNK", 7)  # 40 labeled items: six chunks, paged by content hash
    paged = version_create(project=labeled, name="v2", user=people["manager"])
    assert (paged.content_hash, paged.item_count) == (whole.content_hash, 40)
    assert sorted(paged.rows.values_list("item_id", flat=True)) == sorted(whole.rows.values_list("item_id", flat=True))


def test_split_is_about_80_10_10():
    counts = {"train": 0, "validation": 0, "test": 0}
    for n in range(5000):
        counts[split_for(hashlib.sha256(str(n).encode()).hexdigest())] += 1
    assert 3850 < counts["train"] < 4150 and 400 < counts["validation"] < 600 and 400 < counts["test"] < 600


def test_redownload_is_byte_identical_even_after_labels_change(api_as, people, labeled):
    client = api_as(people["manager"])
    created = _create(client, labeled, "v1").json()
    first, body1 = _download(client, labeled, "v1")
    _relabel(labeled, "review number 2", "positive")
    Item.objects.filter(text="review number 3").update(label_quality=0.1, ambiguous=True)
    add_texts(labeled, ["arrived later"], labels=["negative"])
    second, body2 = _download(client, labeled, "v1")
    assert body1 == body2
    assert first["X-Content-Hash"] == second["X-Content-Hash"] == created["content_hash"]
    rows = [json.loads(line) for line in body1.decode().splitlines()]
    assert len(rows) == 40 and [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    row = next(r for r in rows if r["data"] == "review number 2")
    assert row["final_label"] == "neutral" and row["final_source"] == "given" and row["url"].endswith(f"/items/{row['id']}/")
    assert {"annotations", "final_confidence", "label_quality", "split", "content_hash"} <= set(row)
    _, csv1 = _download(client, labeled, "v1", format="csv")
    _, csv2 = _download(client, labeled, "v1", format="csv")
    assert csv1 == csv2 and len(list(csv.DictReader(io.StringIO(csv1.decode())))) == 40


def test_version_export_filters(api_as, people, labeled):
    client = api_as(people["manager"])
    _create(client, labeled, "v1")
    _, body = _download(client, labeled, "v1", classes="negative", splits="train,validation,test")
    assert {json.loads(line)["final_label"] for line in body.decode().splitlines()} == {"negative"}
    _, body = _download(client, labeled, "v1", sources="reviewer")
    assert body == b""
    bad = client.get(reverse("api:version_export", args=[labeled.pk, "v1"]), {"classes": "sarcastic"})
    assert bad.status_code == 400 and "sarcastic" in bad.json()["error"]["message"]


def test_diff_lists_added_removed_relabelled_and_class_shift(api_as, people, labeled):
    client = api_as(people["manager"])
    _create(client, labeled, "v1")
    _relabel(labeled, "review number 1", "positive")  # negative -> positive
    Item.objects.filter(text="review number 0").update(excluded=True)  # positive, removed
    add_texts(labeled, ["brand new"], labels=["neutral"])
    _create(client, labeled, "v2")
    diff = client.get(reverse("api:version_diff", args=[labeled.pk, "v1", "v2"])).json()
    ids = {t: Item.objects.get(text=t).pk for t in ("review number 0", "review number 1", "brand new")}
    assert diff["added"] == {"count": 1, "items": [{"item": ids["brand new"], "label": "neutral"}], "truncated": False}
    assert diff["removed"]["items"] == [{"item": ids["review number 0"], "label": "positive"}]
    assert diff["relabelled"]["items"] == [{"item": ids["review number 1"], "old_label": "negative", "new_label": "positive"}]
    shift = {c["label"]: c for c in diff["class_shift"]["classes"]}
    assert (shift["negative"]["old_count"], shift["negative"]["new_count"]) == (13, 12)
    assert (shift["neutral"]["old_count"], shift["neutral"]["new_count"]) == (13, 14)
    assert (shift["positive"]["old_count"], shift["positive"]["new_count"]) == (14, 14)
    assert diff["class_shift"]["total_variation_distance"] > 0
    limited = client.get(reverse("api:version_diff", args=[labeled.pk, "v1", "v2"]), {"limit": 0}).json()
    assert limited["added"]["count"] == 1 and limited["added"]["truncated"] is True


def test_names_are_validated_and_unique(api_as, people, labeled):
    client = api_as(people["manager"])
    assert _create(client, labeled, "v1").status_code == 201
    taken = _create(client, labeled, "v1")
    assert taken.status_code == 409 and "already has a version named 'v1'" in taken.json()["error"]["message"]
    assert _create(client, labeled, "../etc").status_code == 400
    with pytest.raises(Conflict):
        version_create(project=labeled, name="v1")


def test_permissions_on_versions(api_as, people, labeled):
    manager, alice, outsider = api_as(people["manager"]), api_as(people["alice"]), api_as(people["outsider"])
    assert _create(alice, labeled, "v1").status_code == 403
    assert _create(manager, labeled, "v1").status_code == 201
    assert [v["name"] for v in results(alice.get(reverse("api:versions", args=[labeled.pk])))] == ["v1"]
    assert alice.get(reverse("api:version", args=[labeled.pk, "v1"])).json()["item_count"] == 40
    assert alice.get(reverse("api:version", args=[labeled.pk, "nope"])).status_code == 404
    for url in (reverse("api:versions", args=[labeled.pk]), reverse("api:version", args=[labeled.pk, "v1"]),
                reverse("api:version_export", args=[labeled.pk, "v1"]),
                reverse("api:version_diff", args=[labeled.pk, "v1", "v1"])):
        assert outsider.get(url).status_code == 404
        assert api_as().get(url).status_code == 401


def test_coco_export_for_an_image_project(api_as, people, image_project):
    from data.parse import parse_zip
    from data.write import import_rows

    data, _ = digits_zip(12)
    rows, errors = parse_zip("digits.zip", io.BytesIO(data))
    import_rows(project=image_project, rows=rows, errors=errors, name="digits.zip")
    client = api_as(people["manager"])
    assert _create(client, image_project, "v1").status_code == 201
    _, body = _download(client, image_project, "v1", format="coco")
    coco = json.loads(body)
    assert len(coco["images"]) == len(coco["annotations"]) == 12
    assert [c["name"] for c in coco["categories"]] == [str(d) for d in range(10)]
    assert coco["images"][0]["file_name"].endswith("/image/") and "split" in coco["images"][0]
    live = client.get(reverse("api:export", args=[image_project.pk]), {"format": "coco"})
    assert len(json.loads(b"".join(live.streaming_content))["annotations"]) == 12
