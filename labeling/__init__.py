"""The Taxoloop Django app: catalog, taxonomy versions, review, and the learning loop.

Layers, top to bottom (import-linter contracts in pyproject.toml; docs/architecture.md):
``urls*``/``admin`` → ``views/``, ``api/``, ``management/``, ``tasks`` (entry points: parse,
check the role, call one service, render) → ``services/`` (writes, by area) → ``selectors/``
(reads) → ``models/``. Beside the layers, among others: ``roles``, ``markdown`` (guidelines' Markdown as
safe HTML) and ``templatetags/`` (its template filter). Nothing here is imported by
``classifier/``.
"""
