"""The catalog: products coming in, their media and vectors, and labels going out.

Owns: ``imports/`` (a CSV or JSON-lines catalog file: read, check, write items and labels),
``items`` (create and edit one item, or many), ``item_fields`` (what a valid item is: its
fields checked, its content hash, ``ItemError``), ``item_images`` (an item's image checked and
stored under its content address), ``media_files`` (images on disk, by content hash),
``embeddings`` (encode new or changed items with the frozen encoders), ``exports``
(current labels or the whole ledger as CSV/JSONL), ``catalog_export`` (every item's status and
final category as CSV/JSONL, issue 17).

May call: ``labeling.models`` and selectors; ``review.labels`` (an import's label column
writes the ledger); ``learning.ml`` (encoder keys and features); the shared ``dispatch``
(an import or a new item asks for its embedding), ``errors`` and ``storable``.
"""
