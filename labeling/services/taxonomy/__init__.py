"""Taxonomy versions: editing a draft, importing a tree, publishing it without losing labels.

Owns: ``imports`` (taxonomy files: indented text, paths, CSV, the Google taxonomy; sniffing
their format and reporting every problem at once), ``drafts`` (a draft version's edits: add,
rename, move, merge, split, retire), ``publish`` (a draft becomes current: labels mapped,
split categories put back on the queue, a warm-started training asked for), ``proposals``
(reviewers' "this needs a new category", grouped for the admin).

May call: ``labeling.models`` and selectors; ``learning.triggers`` (publish asks for a
training), ``learning.ml`` (proposals are grouped by embedding), ``review.disagreement``
(mapped labels refresh it); the shared ``dispatch``, ``errors`` and ``storable``.
"""
