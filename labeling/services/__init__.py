"""Write-side business logic, grouped by area. Every public function runs in a transaction and
raises ``ServiceError`` subclasses whose messages are module constants the tests import.

- ``catalog/``: products in and out: import, items, media files, embeddings, exports.
- ``taxonomy/``: versions of the category tree: drafts, file import, publish, proposals.
- ``learning/``: the model: training runs and their triggers, cold and warm starts,
  evaluation and promotion, scoring and the sharded rescore.
- ``review/``: people's decisions: the queue (build, refresh, leases), review decisions,
  report corrections, the label ledger, label/prediction disagreement.
- Shared by all: ``errors`` (``ServiceError``), ``dispatch`` (send a Celery task by name,
  after commit), ``storable`` (text no column can hold), ``api_tokens``.

Services read through ``labeling.selectors`` and write ``labeling.models``; they never import
``labeling.tasks``, views or the API (import-linter contracts in pyproject.toml, and
``scripts/check_import_cycles.py`` for circles; both run in ``make check``).
docs/architecture.md has the picture and a "where do I find X" table.
"""
