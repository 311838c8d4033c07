"""Adapters, unit rows, standardisation and the committee network."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from classifier.model.network import (
    Adapter,
    CommitteeNet,
    member_mask,
    standardisation_stats,
    unit_rows,
)


def test_an_adapter_starts_as_the_identity() -> None:
    torch.manual_seed(0)
    x = torch.randn(5, 6)
    assert torch.equal(Adapter(6, 2).eval()(x), x)


def test_unit_rows_scale_rows_to_length_one_and_mark_rows_with_nan_missing() -> None:
    unit, present = unit_rows(torch.tensor([[3.0, 4.0], [math.nan, 1.0], [0.0, 2.0]]))
    assert unit.flatten().tolist() == pytest.approx([0.6, 0.8, 0.0, 0.0, 0.0, 1.0])
    assert present.tolist() == [True, False, True]


def test_standardisation_stats_describe_the_unit_rows_that_exist() -> None:
    mean, std = standardisation_stats(np.array([[3.0, 4.0], [0.0, 2.0], [np.nan, np.nan]]))
    # Unit rows [0.6, 0.8] and [0, 1].
    assert mean.tolist() == pytest.approx([0.3, 0.9])
    assert std.tolist() == pytest.approx([0.3, 0.1])


def test_only_members_whose_modality_is_present_may_vote() -> None:
    presence = torch.tensor([[True, True], [False, True]])  # text; image missing on row 0
    assert member_mask(presence, 3).tolist() == [[True, True], [True, True], [False, True]]


def reference_logits(net: CommitteeNet, feats: dict[str, torch.Tensor]) -> torch.Tensor:
    """The committee written out plainly: concatenate the adapted features for the fused head."""
    adapted = []
    for m in net.modalities:
        unit, present = unit_rows(feats[m])
        mean, std = getattr(net, f"mean_{m}"), getattr(net, f"std_{m}")
        a = net.adapters[m]((unit - mean) / std)
        adapted.append(torch.where(present[:, None], a, net.missing[m]))
    heads = [net.heads[m](a) for m, a in zip(net.modalities, adapted, strict=True)]
    return torch.stack([net.fused(torch.cat(adapted, dim=1)), *heads])


def test_the_committee_matches_the_plain_formula_and_fills_a_missing_image() -> None:
    torch.manual_seed(0)
    net = CommitteeNet({"text": 4, "image": 3}, n_leaves=5, bottleneck=2).eval()
    for p in net.parameters():
        torch.nn.init.normal_(p)  # also the zero-initialised up-projections and stand-ins
    feats = {"text": torch.randn(3, 4), "image": torch.randn(3, 3)}
    feats["image"][1] = math.nan
    logits, presence = net(feats)
    assert logits.shape == (3, 3, 5)
    assert presence.tolist() == [[True, True, True], [True, False, True]]
    assert torch.allclose(logits, reference_logits(net, feats), atol=1e-5)
    assert bool(torch.isfinite(logits).all())


def test_inference_folds_the_up_projection_into_the_heads_with_the_same_logits() -> None:
    torch.manual_seed(1)
    net = CommitteeNet({"text": 4, "image": 3}, n_leaves=5, bottleneck=2).eval()
    for p in net.parameters():
        torch.nn.init.normal_(p)
    feats = {"text": torch.randn(4, 4), "image": torch.randn(4, 3)}
    feats["image"][[0, 2]] = math.nan
    with torch.inference_mode():
        folded, _ = net(feats)
    assert torch.allclose(folded, reference_logits(net, feats), atol=1e-5)


def test_without_a_bottleneck_the_heads_are_linear_and_inference_matches_training_form() -> None:
    torch.manual_seed(0)
    net = CommitteeNet({"text": 4, "image": 3}, n_leaves=5, bottleneck=0).eval()
    assert all(isinstance(a, torch.nn.Identity) for a in net.adapters.values())
    feats = {"text": torch.randn(6, 4), "image": torch.randn(6, 3)}
    feats["image"][2] = float("nan")
    with torch.inference_mode():
        composed, _ = net(feats)
    with torch.enable_grad():
        plain, _ = net(feats)
    assert torch.allclose(composed, plain.detach(), atol=1e-5)


def test_training_sends_a_missing_rows_gradient_to_the_stand_in_alone() -> None:
    torch.manual_seed(2)
    net = CommitteeNet({"text": 4, "image": 3}, n_leaves=5, bottleneck=0).train()
    feats = {"text": torch.randn(3, 4), "image": torch.randn(3, 3)}
    feats["image"][1] = math.nan
    logits, _ = net(feats)
    logits[:, 1].sum().backward()  # every member's logits of the row without an image
    # Row 1 scores the stand-in through the fused head's image block and the image head.
    expected = net.fused.weight[:, 4:].sum(0) + net.heads["image"].weight.sum(0)
    assert torch.allclose(net.missing["image"].grad, expected, atol=1e-6)
    assert net.missing["text"].grad is None or not net.missing["text"].grad.any()
