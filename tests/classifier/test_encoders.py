import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier.encoders import (
    DEFAULT_IMAGE_ENCODER,
    DEFAULT_TEXT_ENCODER,
    Encoder,
    WeightsMismatchError,
    build_effnet_lite0,
    get_encoder,
    register_encoder,
    registry,
)
from classifier.encoders.effnet import load_state_dict_by_position


def shared_data() -> Path:
    default = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    return Path(os.environ.get("TAXOLOOP_SHARED_DATA", default))


class LengthEncoder(Encoder):
    """A model-free encoder: each text becomes [len(text), 1]."""

    modality = "text"
    dim = 2

    def _load(self):
        return "loaded"

    def _encode_batch(self, batch):
        return np.array([[len(t), 1.0] for t in batch], dtype=np.float32), {}


@pytest.fixture
def private_registry(monkeypatch):
    monkeypatch.setattr(registry, "_factories", dict(registry._factories))
    monkeypatch.setattr(registry, "_instances", {})


@pytest.fixture(scope="module")
def minilm():
    return get_encoder(DEFAULT_TEXT_ENCODER).load()


@pytest.fixture(scope="module")
def effnet():
    return get_encoder(DEFAULT_IMAGE_ENCODER).load()


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, size in enumerate([(224, 224), (60, 80), (300, 200)]):
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{i}.jpg")
        paths.append(tmp_path / f"{i}.jpg")
    return paths


def test_it_names_the_unknown_key_and_lists_the_known_ones():
    # Other tests may have registered encoders of their own, so check only the built-in keys.
    with pytest.raises(KeyError, match=r"'clip-huge'") as raised:
        get_encoder("clip-huge")
    for key in ("effnet-lite0", "minilm-l6", "openclip-text:<...>"):
        assert key in str(raised.value)


def test_it_caches_one_instance_per_key_and_device(private_registry):
    register_encoder("length", LengthEncoder)
    assert get_encoder("length") is get_encoder("length", device="cpu")
    assert get_encoder("length") is not get_encoder("length", device="meta")


def test_it_resolves_a_family_key_by_its_prefix(private_registry):
    register_encoder("length:", LengthEncoder)
    assert get_encoder("length:any:thing").key == "length:any:thing"


def test_it_does_not_load_a_model_until_the_first_encode(private_registry):
    register_encoder("length", LengthEncoder)
    encoder = get_encoder("length")
    assert not encoder.is_loaded
    encoder.encode(["ab"])
    assert encoder.is_loaded


def test_it_reports_progress_after_each_batch_and_keeps_input_order():
    calls = []
    out = LengthEncoder("length").encode(
        ["a", "abc", "ab", "abcd", "abcde"], batch_size=2, progress=lambda *a: calls.append(a)
    )
    assert calls == [(2, 5), (4, 5), (5, 5)]
    assert out[:, 0].tolist() == [1, 3, 2, 4, 5]


def test_it_returns_an_empty_array_without_loading_for_no_inputs():
    encoder = LengthEncoder("length")
    assert encoder.encode([]).shape == (0, 2)
    assert not encoder.is_loaded


def test_it_rejects_a_batch_size_below_one_and_inputs_of_the_wrong_type():
    with pytest.raises(ValueError, match="batch_size"):
        LengthEncoder("length").encode(["a"], batch_size=0)
    with pytest.raises(TypeError, match="image input 0 is int"):
        get_encoder(DEFAULT_IMAGE_ENCODER).encode([3])


def test_it_names_the_first_tensor_that_does_not_fit():
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    wrong = {
        "a.w": torch.zeros(2, 3),
        "a.b": torch.zeros(2),
        "b.w": torch.zeros(1, 3),
        "b.b": torch.zeros(1),
    }
    with pytest.raises(WeightsMismatchError, match=r"b.w \(1, 3\) does not fit 1.weight \(1, 2\)"):
        load_state_dict_by_position(model, wrong)


@pytest.mark.slow
def test_minilm_gives_384_d_unit_vectors_that_put_similar_titles_closer(minilm):
    shirt, formal, watch = minilm.encode(
        ["Men Navy Blue Shirt", "Men Blue Formal Shirt", "Titan Women Silver Watch"]
    )
    assert minilm.encode(["x"]).shape == (1, 384)
    np.testing.assert_allclose(np.linalg.norm([shirt, formal, watch], axis=1), 1.0, atol=1e-5)
    assert shirt @ formal > shirt @ watch + 0.3


@pytest.mark.slow
def test_minilm_results_do_not_depend_on_the_batch_size(minilm):
    titles = ["Men Navy Blue Shirt", "Puma Men Running Shoes with a long title", "Bag", "Watch"]
    np.testing.assert_allclose(
        minilm.encode(titles, batch_size=1), minilm.encode(titles, batch_size=64), atol=1e-5
    )


@pytest.mark.slow
def test_effnet_gives_1280_d_features_and_a_nan_row_with_a_reason_for_a_corrupt_file(
    effnet, photos, tmp_path
):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    calls = []
    out = effnet.encode(
        [*photos, tmp_path / "bad.jpg"], batch_size=2, progress=lambda *a: calls.append(a)
    )
    assert out.shape == (4, 1280) and out.dtype == np.float32
    assert np.isfinite(out[:3]).all() and np.isnan(out[3]).all()
    assert list(effnet.last_errors_) == [3] and "not an image" in effnet.last_errors_[3]
    assert calls == [(2, 4), (4, 4)]


@pytest.mark.slow
def test_effnet_gives_the_same_features_for_a_path_and_its_bytes_in_any_batching(effnet, photos):
    from_paths = effnet.encode(photos, batch_size=2)
    from_bytes = effnet.encode([p.read_bytes() for p in photos], batch_size=3)
    np.testing.assert_allclose(from_paths, from_bytes, atol=1e-4)


TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture
def tiny_clip(tmp_path):
    import open_clip
    import torch

    (tmp_path / "taxoloop-tiny-clip.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(tmp_path / "taxoloop-tiny-clip.json")
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms("taxoloop-tiny-clip")
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    return model.eval(), preprocess, tmp_path / "tiny.pt"


def test_openclip_keys_load_local_weights_and_match_the_model_they_came_from(tiny_clip, photos):
    import open_clip
    import torch

    model, preprocess, weights = tiny_clip
    images = get_encoder(f"openclip:taxoloop-tiny-clip:{weights}")
    texts = get_encoder(f"openclip-text:taxoloop-tiny-clip:{weights}")
    with torch.inference_mode():
        x = torch.stack([preprocess(Image.open(p).convert("RGB")) for p in photos])
        expected_images = model.encode_image(x, normalize=True).numpy()
        tokens = open_clip.get_tokenizer("taxoloop-tiny-clip")(["red dress", "watch"])
        expected_texts = model.encode_text(tokens, normalize=True).numpy()
    np.testing.assert_allclose(images.encode(photos), expected_images, atol=1e-6)
    np.testing.assert_allclose(texts.encode(["red dress", "watch"]), expected_texts, atol=1e-6)
    assert (images.modality, texts.modality, images.dim) == ("image", "text", 16)


def test_openclip_keys_need_a_model_name_and_weights():
    with pytest.raises(ValueError, match="openclip:<model_name>:<pretrained"):
        get_encoder("openclip:ViT-B-32")


IMAGENET_WATCH_CLASSES = {
    "analog clock",
    "stopwatch",
    "digital watch",
    "wall clock",
    "magnetic compass",
}


@pytest.mark.slow
@pytest.mark.shared_data
def test_effnet_weights_are_imagenet_weights_that_see_watches_on_fashion_photos():
    items = shared_data() / "fashion" / "items.csv"
    if not items.is_file():
        pytest.skip(f"shared data not found at {items.parent}")
    import torch
    from timm.data import ImageNetInfo

    from classifier.encoders.pixels import decode_images, images_to_tensor

    with items.open() as f:
        rows = [r for r in csv.DictReader(f) if r["articleType"] == "Watches" and r["image_224"]]
    images, _ = decode_images([items.parent / r["image_224"] for r in rows[:8]])
    with torch.inference_mode():
        top5 = build_effnet_lite0(with_classifier=True)(images_to_tensor(images)).topk(5).indices
    info = ImageNetInfo()
    names = [{info.index_to_description(int(i)).split(",")[0] for i in row} for row in top5]
    assert sum(bool(n & IMAGENET_WATCH_CLASSES) for n in names) >= 7
