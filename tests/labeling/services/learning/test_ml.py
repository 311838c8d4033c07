"""labeling.services.learning.ml: trees, features and model artifacts from ORM rows."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.storage import default_storage

from classifier.model import HierarchicalClassifier
from labeling.models import Embedding, ModelVersion
from labeling.services.learning import ml
from tests.factories import ItemFactory, TaxonomyVersionFactory
from tests.labeling.services.loop_data import (
    IMAGE_DIM,
    IMAGE_KEY,
    TEXT_DIM,
    TEXT_KEY,
    clustered_items,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    leaves_of,
)

pytestmark = pytest.mark.usefixtures("fake_encoders", "fresh_caches")


def test_version_tree_numbers_categories_by_id_with_parents(tree, version):
    vt = ml.version_tree(version)
    shirts = tree["Apparel > Topwear > Shirts"]
    topwear = tree["Apparel > Topwear"]
    assert vt.tree.n_nodes == len(tree) == 12
    assert vt.tree.n_leaves == 6
    assert list(vt.category_ids) == sorted(c.pk for c in tree.values())
    node = vt.node_of(shirts.pk)
    assert vt.category_ids[node] == shirts.pk
    assert vt.tree.parents[node] == vt.node_of(topwear.pk)
    assert vt.tree.keys[node] == shirts.key
    assert vt.tree.names[node] == "Shirts"
    assert vt.tree.depth[node] == 3


def test_version_tree_is_cached_per_version(tree, version, django_assert_num_queries):
    first = ml.version_tree(version)
    with django_assert_num_queries(0):
        assert ml.version_tree(version) is first


def test_node_of_refuses_a_category_of_another_version(tree, version):
    other = TaxonomyVersionFactory(is_current=False)
    from tests.factories import CategoryFactory

    stranger = CategoryFactory(version=other, name="Elsewhere")
    with pytest.raises(ml.MLError) as err:
        ml.version_tree(version).node_of(stranger.pk)
    assert str(err.value) == ml.CATEGORY_NOT_IN_TREE.format(
        category=stranger.pk, version=version.pk
    )


def test_version_tree_of_an_empty_version_says_to_import_a_taxonomy(version):
    with pytest.raises(ml.MLError) as err:
        ml.version_tree(version)
    assert str(err.value) == ml.NO_CATEGORIES.format(version=version.pk)


def test_item_features_returns_rows_in_request_order_with_nan_for_missing(tree, version):
    items = list(clustered_items(leaves_of(version), 2, image_every=2))  # image on every 1st
    a, b = items[0], items[1]  # a has an image embedding, b has none
    bare = ItemFactory()
    feats = ml.item_features([b.pk, bare.pk, a.pk])
    assert feats["text"].shape == (3, TEXT_DIM) and feats["text"].dtype == np.float32
    assert feats["image"].shape == (3, IMAGE_DIM)
    stored = Embedding.objects.get(item=a, encoder_key=TEXT_KEY)
    np.testing.assert_array_equal(feats["text"][2], np.frombuffer(stored.vector, np.float16))
    assert np.isfinite(feats["text"][0]).all()
    assert np.isnan(feats["text"][1]).all()
    assert np.isnan(feats["image"][0]).all() and np.isfinite(feats["image"][2]).all()


def test_item_features_treats_a_failed_embedding_as_missing(db):
    item = ItemFactory()
    Embedding.objects.create(item=item, encoder_key=IMAGE_KEY, content_hash="x", error="broken")
    feats = ml.item_features([item.pk])
    assert feats["image"].shape == (1, IMAGE_DIM)
    assert np.isnan(feats["image"]).all()


def test_item_features_reads_float32_vectors_too(db):
    item = ItemFactory()
    vector = np.arange(TEXT_DIM, dtype=np.float32) / 7
    Embedding.objects.create(
        item=item,
        encoder_key=TEXT_KEY,
        vector=vector.tobytes(),
        dtype="float32",
        dim=TEXT_DIM,
        content_hash="x",
    )
    np.testing.assert_array_equal(ml.item_features([item.pk])["text"][0], vector)


def test_item_features_leaves_out_an_encoder_configured_blank(db, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "IMAGE_ENCODER": ""}
    assert set(ml.item_features([ItemFactory().pk])) == {"text"}


def test_item_features_queries_in_chunks_beyond_the_parameter_limit(db, monkeypatch):
    monkeypatch.setattr(ml, "FEATURE_QUERY_CHUNK", 2)
    items = [ItemFactory() for _ in range(5)]
    for i, item in enumerate(items):
        v = np.full(TEXT_DIM, i, dtype=np.float16)
        Embedding.objects.create(
            item=item, encoder_key=TEXT_KEY, vector=v.tobytes(), dim=TEXT_DIM, content_hash="x"
        )
    feats = ml.item_features([it.pk for it in reversed(items)])
    assert feats["text"][:, 0].tolist() == [4, 3, 2, 1, 0]


def _fitted(version) -> tuple[HierarchicalClassifier, dict, np.ndarray]:
    truth = clustered_items(leaves_of(version), 6)
    vt = ml.version_tree(version)
    feats = ml.item_features([i.pk for i in truth])
    y = vt.nodes_of([c.pk for c in truth.values()])
    model = HierarchicalClassifier(vt.tree, max_epochs=3, bottleneck=8, seed=1).fit(feats, y)
    return model, feats, y


def test_save_artifact_then_load_model_predicts_the_same(tree, version):
    model, feats, _ = _fitted(version)
    mv = ModelVersion.objects.create(taxonomy_version=version, status="candidate")
    ml.save_artifact(model, mv)
    mv.refresh_from_db()
    assert mv.artifact.name.startswith(f"models/{version.pk}/{mv.pk}-")
    assert mv.artifact.name.endswith("config.json")
    assert default_storage.exists(mv.artifact.name.replace("config.json", "weights.safetensors"))
    ml.clear_caches()
    loaded = ml.load_model(mv)
    np.testing.assert_allclose(loaded.predict_proba(feats), model.predict_proba(feats), atol=1e-6)
    assert ml.load_model(mv) is loaded


def test_saving_twice_writes_a_new_folder_so_caches_never_go_stale(tree, version):
    model, _, _ = _fitted(version)
    mv = ModelVersion.objects.create(taxonomy_version=version, status="candidate")
    ml.save_artifact(model, mv)
    first = mv.artifact.name
    ml.save_artifact(model, mv)
    assert mv.artifact.name != first


def test_load_model_without_artifact_says_so(version):
    mv = ModelVersion.objects.create(taxonomy_version=version, status="training")
    with pytest.raises(ml.MLError) as err:
        ml.load_model(mv)
    assert str(err.value) == ml.NO_ARTIFACT.format(pk=mv.pk, status="training")


def test_active_model_version_is_the_active_one_of_that_version(version):
    assert ml.active_model_version(version) is None
    ModelVersion.objects.create(taxonomy_version=version, status="candidate")
    active = ModelVersion.objects.create(taxonomy_version=version, status="active")
    ModelVersion.objects.create(taxonomy_version=TaxonomyVersionFactory(), status="active")
    assert ml.active_model_version(version) == active
