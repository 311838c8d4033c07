"""Template filters of the labeling app (``{% load guidelines %}``)."""
