"""Taxonomy versions: editing a draft, importing a tree, publishing it without losing labels.

Owns: ``imports`` (a taxonomy file becomes a new version: the tree checked as a whole, every
problem reported at once, one insert per level), ``import_formats`` (the file formats:
plain paths, CSV, JSON, the Google taxonomy; sniffing which one a file is, one parser each),
``drafts`` (a draft version's edits: add, rename, move, merge, split, retire),
``draft_checks`` (the rules those edits must pass and every message they are refused with),
``draft_tree`` (the rows under the edits: copying a tree, paths and keys of a moved subtree),
``draft_import`` (a draft from a file: its differences from the current version as edits),
``guidelines`` (a category's guideline for reviewers: written on a draft or the current
version, carried with the tree through drafts and publish, audited),
``publish_mapping`` (where each category's labels go, and the diff the admin reads first),
``publish`` (a draft becomes current: labels mapped, split categories put back on the queue,
a warm-started training asked for), ``rollback`` (a publish undone while nothing new was
labelled on it), ``proposals`` (reviewers' "this needs a new category", grouped for the admin).

May call: ``labeling.models`` and selectors; ``learning.triggers`` (publish asks for a
training), ``learning.ml`` (proposals are grouped by embedding), ``review.disagreement``
(mapped labels refresh it); the shared ``dispatch``, ``errors`` and ``storable``.
"""
