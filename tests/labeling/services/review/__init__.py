"""Tests of labeling/services/review/."""
