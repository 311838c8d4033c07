"""System checks: a retired setting left in a deployment's environment is reported, not ignored."""

from __future__ import annotations

from labeling.checks import retired_settings


def test_a_retired_promotion_tolerance_is_reported_with_its_replacement(monkeypatch):
    monkeypatch.setenv("TAXOLOOP_PROMOTION_TOLERANCE", "0.01")
    (warning,) = retired_settings()
    assert warning.id == "taxoloop.W001"
    assert "TAXOLOOP_PROMOTION_TOLERANCE is set but no longer read" in warning.msg
    assert "TAXOLOOP_PROMOTION_MARGIN" in warning.hint


def test_nothing_is_reported_without_retired_settings(monkeypatch):
    monkeypatch.delenv("TAXOLOOP_PROMOTION_TOLERANCE", raising=False)
    assert retired_settings() == []
