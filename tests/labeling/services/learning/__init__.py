"""Tests of labeling/services/learning/."""
