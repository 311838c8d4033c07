"""Tests of labeling/services/catalog/."""
