"""Tests of labeling/services/taxonomy/."""
