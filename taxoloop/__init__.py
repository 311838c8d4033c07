"""Taxoloop: classify catalog products into a versioned taxonomy and learn from corrections."""

from .celery import app as celery_app

__all__ = ["celery_app"]
