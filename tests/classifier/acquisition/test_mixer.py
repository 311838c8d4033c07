"""QuotaMixer: one batch from several reasons, by quota, with a reason per item."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from classifier.acquisition import Margin, Novelty, QuotaMixer, RandomSampling, apportion

POOL = 40


def mixer(min_scores: dict[str, float] | None = None, seed: int = 0) -> QuotaMixer:
    return QuotaMixer(
        quotas={"uncertain": 0.6, "novel": 0.2, "audit": 0.2},
        strategies={"uncertain": Margin(), "novel": Novelty(), "audit": RandomSampling(seed)},
        min_scores=min_scores,
    )


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"uncertain": rng.dirichlet(np.ones(3), size=POOL), "novel": rng.random(POOL)}


def test_it_fills_the_batch_by_quota_and_names_a_reason_per_item() -> None:
    chosen, reasons = mixer().select_with_reasons(inputs(), np.arange(POOL), 10)
    assert len(chosen) == len(reasons) == 10
    assert len(set(chosen.tolist())) == 10
    assert Counter(reasons) == {"uncertain": 6, "novel": 2, "audit": 2}  # 10 x 0.6/0.2/0.2


def test_each_reasons_items_are_its_own_best_in_order() -> None:
    data = inputs()
    chosen, reasons = mixer().select_with_reasons(data, np.arange(POOL), 10)
    novel = [int(i) for i, r in zip(chosen, reasons, strict=True) if r == "novel"]
    assert novel == np.argsort(-data["novel"])[:2].tolist()
    uncertain = [int(i) for i, r in zip(chosen, reasons, strict=True) if r == "uncertain"]
    assert uncertain == Margin().select(data["uncertain"], np.arange(POOL), 10)[:6].tolist()


def test_the_top_of_the_batch_is_already_a_mix() -> None:
    _, reasons = mixer().select_with_reasons(inputs(), np.arange(POOL), 10)
    assert reasons[0] == "uncertain"  # the biggest quota goes first
    assert set(reasons[:5]) == {"uncertain", "novel", "audit"}


def test_an_item_two_reasons_want_appears_once_and_the_second_takes_its_next_best() -> None:
    proba = np.array([[0.5, 0.5], [0.6, 0.4], [0.7, 0.3], [0.9, 0.1]])
    novelty = np.array([0.9, 0.1, 0.8, 0.2])  # item 0 is the best of both reasons
    mix = QuotaMixer({"uncertain": 0.5, "novel": 0.5}, {"uncertain": Margin(), "novel": Novelty()})
    chosen, reasons = mix.select_with_reasons({"uncertain": proba, "novel": novelty}, range(4), 2)
    assert chosen.tolist() == [0, 2]
    assert reasons == ["uncertain", "novel"]


def test_a_reason_that_runs_short_hands_its_quota_to_the_others() -> None:
    data = inputs()
    floor = np.sort(data["novel"])[-1]  # only the single most novel item clears the floor
    chosen, reasons = mixer({"novel": floor}).select_with_reasons(data, np.arange(POOL), 10)
    # targets 6/2/2; novel stops at 1, the last slot goes by 0.6 : 0.2 to uncertain
    assert Counter(reasons) == {"uncertain": 7, "novel": 1, "audit": 2}
    assert len(set(chosen.tolist())) == 10


def test_a_reason_without_input_this_time_gets_nothing() -> None:
    data = {**inputs(), "novel": None}
    _, reasons = mixer().select_with_reasons(data, np.arange(POOL), 10)
    # 10 over uncertain 0.6 and audit 0.2: 7.5 / 2.5, the tie on .5 goes to the first reason
    assert Counter(reasons) == {"uncertain": 8, "audit": 2}


def test_it_returns_fewer_items_only_when_the_reasons_run_dry_together() -> None:
    mix = QuotaMixer({"novel": 1.0}, {"novel": Novelty()}, min_scores={"novel": 0.5})
    chosen, reasons = mix.select_with_reasons({"novel": np.array([0.9, 0.1, 0.7])}, range(3), 3)
    assert chosen.tolist() == [0, 2]
    assert reasons == ["novel", "novel"]


def test_it_is_deterministic_with_a_seed_and_varies_with_another() -> None:
    a = mixer(seed=1).select_with_reasons(inputs(), np.arange(POOL), 10)
    b = mixer(seed=1).select_with_reasons(inputs(), np.arange(POOL), 10)
    c = mixer(seed=2).select_with_reasons(inputs(), np.arange(POOL), 10)
    assert a[0].tolist() == b[0].tolist() and a[1] == b[1]
    assert a[0].tolist() != c[0].tolist()


def test_it_keeps_each_chosen_items_score_under_its_reason() -> None:
    data = inputs()
    mix = mixer()
    chosen, reasons = mix.select_with_reasons(data, np.arange(POOL), 10)
    assert mix.last_reasons_ == reasons
    assert np.isnan(mix.last_scores_).sum() == POOL - 10
    for item, reason in zip(chosen, reasons, strict=True):
        assert mix.last_scores_[item] == mix.last_scores_by_reason_[reason][item]
    np.testing.assert_array_equal(mix.last_scores_by_reason_["novel"], data["novel"])


def test_it_refuses_bad_quotas_and_inputs() -> None:
    strategies = {"uncertain": Margin(), "audit": RandomSampling()}
    data = {"uncertain": np.full((3, 2), 0.5)}
    cases = [
        ({}, data, "quotas must name at least one reason"),
        ({"novel": 1.0}, data, r"no strategy for reason\(s\) \['novel'\]"),
        ({"uncertain": -1.0}, data, "quotas must be finite and >= 0"),
        ({"uncertain": 0.0}, data, "at least one quota must be > 0"),
        ({"uncertain": 1.0}, {}, r"no input for reason\(s\) \['uncertain'\]; pass None"),
        ({"uncertain": 1.0}, {**data, "x": None}, r"inputs for unknown reason\(s\) \['x'\]"),
    ]
    for quotas, given, message in cases:
        with pytest.raises(ValueError, match=message):
            QuotaMixer(quotas, strategies).select_with_reasons(given, range(3), 2)


def test_the_random_audit_needs_no_input_key() -> None:
    mix = QuotaMixer({"audit": 1.0}, {"audit": RandomSampling(seed=4)})
    chosen, reasons = mix.select_with_reasons({}, range(5), 2)
    assert len(set(chosen.tolist())) == 2 and reasons == ["audit", "audit"]


def test_apportion_splits_by_largest_remainder_with_ties_in_order() -> None:
    assert apportion(10, {"a": 0.6, "b": 0.2, "c": 0.2}) == {"a": 6, "b": 2, "c": 2}
    assert apportion(5, {"a": 1.0, "b": 1.0}) == {"a": 3, "b": 2}  # 2.5 / 2.5
    # 3 x (0.5, 0.3, 0.2) = 1.5, 0.9, 0.6: floors 1, 0, 0; the 2 left go to b (.9) and c (.6)
    assert apportion(3, {"a": 0.5, "b": 0.3, "c": 0.2}) == {"a": 1, "b": 1, "c": 1}
    # 7 x (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4: floors 3, 2, 1; the 1 left goes to a (.5)
    assert apportion(7, {"a": 0.5, "b": 0.3, "c": 0.2}) == {"a": 4, "b": 2, "c": 1}
    assert apportion(4, {}) == {}
