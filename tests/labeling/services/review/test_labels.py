from __future__ import annotations

import pytest

from labeling.models import Label
from labeling.services.review import labels as svc
from tests.factories import CategoryFactory, ItemFactory, TaxonomyVersionFactory


@pytest.fixture
def item(db):
    return ItemFactory()


def test_it_appends_a_label_and_makes_it_current(item, tree, alice):
    label = svc.label_create(
        item=item, category=tree["Accessories > Watches"], author=alice, source="review"
    )
    item.refresh_from_db()
    assert item.current_label == label
    assert label.taxonomy_version == tree["Accessories > Watches"].version


def test_a_new_label_supersedes_the_previous_one(item, tree, alice):
    first = svc.label_create(
        item=item, category=tree["Apparel > Topwear > Shirts"], author=alice, source="review"
    )
    second = svc.label_create(
        item=item, category=tree["Apparel > Topwear > Tshirts"], author=alice, source="inline"
    )
    assert second.supersedes == first
    assert Label.objects.filter(item=item).count() == 2


def test_an_inner_node_can_be_the_label(item, tree, alice):
    label = svc.label_create(
        item=item, category=tree["Apparel > Topwear"], author=alice, source="review"
    )
    assert label.category.path == "Apparel > Topwear"


def test_it_rejects_a_category_from_another_version(item, tree, version, alice):
    draft = TaxonomyVersionFactory(taxonomy=version.taxonomy, status="draft", is_current=False)
    foreign = CategoryFactory(version=draft, name="Shirts")
    with pytest.raises(svc.LabelError, match="not to the current version"):
        svc.label_create(item=item, category=foreign, author=alice, source="review")
    assert not Label.objects.exists()


def test_it_rejects_a_deprecated_category(item, tree, alice):
    watches = tree["Accessories > Watches"]
    watches.deprecated = True
    watches.save()
    with pytest.raises(svc.LabelError, match="deprecated"):
        svc.label_create(item=item, category=watches, author=alice, source="review")


def test_it_rejects_an_unknown_source(item, tree, alice):
    with pytest.raises(svc.LabelError, match="Unknown label source"):
        svc.label_create(
            item=item, category=tree["Accessories > Watches"], author=alice, source="magic"
        )


def test_the_same_idempotency_key_writes_one_label(item, tree, alice):
    kwargs = dict(item=item, category=tree["Accessories > Watches"], author=alice, source="review")
    first = svc.label_create(**kwargs, idempotency_key="k-1")
    again = svc.label_create(**kwargs, idempotency_key="k-1")
    assert first == again
    assert Label.objects.count() == 1


def test_retracting_restores_the_previous_label(item, tree, alice):
    first = svc.label_create(
        item=item, category=tree["Apparel > Topwear > Shirts"], author=alice, source="review"
    )
    second = svc.label_create(
        item=item, category=tree["Accessories > Watches"], author=alice, source="review"
    )
    retraction = svc.label_retract(label=second, author=alice)
    item.refresh_from_db()
    assert retraction.retracts == second
    assert item.current_label == first
    assert Label.objects.count() == 3  # nothing deleted


def test_retracting_the_only_label_leaves_the_item_unlabelled(item, tree, alice):
    only = svc.label_create(
        item=item, category=tree["Accessories > Watches"], author=alice, source="review"
    )
    svc.label_retract(label=only, author=alice)
    item.refresh_from_db()
    assert item.current_label is None


def test_a_label_cannot_be_retracted_twice(item, tree, alice):
    label = svc.label_create(
        item=item, category=tree["Accessories > Watches"], author=alice, source="review"
    )
    svc.label_retract(label=label, author=alice)
    with pytest.raises(svc.LabelError, match="already been retracted"):
        svc.label_retract(label=label, author=alice)


def test_it_needs_a_current_version(db):
    with pytest.raises(svc.LabelError, match="no current taxonomy version"):
        svc.require_current_version()


def test_every_ledger_write_tells_the_loop_after_commit(
    item, tree, alice, monkeypatch, django_capture_on_commit_callbacks
):
    from labeling.services.learning import triggers as training_triggers

    seen = []
    monkeypatch.setattr(training_triggers, "labels_added", lambda version: seen.append(version.pk))
    shirts = tree["Apparel > Topwear > Shirts"]
    with django_capture_on_commit_callbacks(execute=True):
        label = svc.label_create(item=item, category=shirts, author=alice, source="review")
        assert seen == []  # not before the commit
    with django_capture_on_commit_callbacks(execute=True):
        svc.label_retract(label=label, author=alice)
    with django_capture_on_commit_callbacks(execute=True):
        svc.label_bulk_create(pairs=[(ItemFactory(), shirts)], author=alice, source="import")
    assert seen == [shirts.version_id] * 3


def test_a_failing_trigger_does_not_undo_the_label(
    item, tree, alice, monkeypatch, django_capture_on_commit_callbacks
):
    from labeling.services.learning import triggers as training_triggers

    def broken(version):
        raise ConnectionError("broker down")

    monkeypatch.setattr(training_triggers, "labels_added", broken)
    with django_capture_on_commit_callbacks(execute=True):
        label = svc.label_create(
            item=item, category=tree["Accessories > Watches"], author=alice, source="review"
        )
    item.refresh_from_db()
    assert item.current_label == label
