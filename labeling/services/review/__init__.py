"""People's decisions: the review queue, review decisions, report corrections and the ledger.

Owns: ``queue_build`` (which items the queue holds and in what order: uncertainty,
committee disagreement, coverage, audit, diversity; the ORM side: the reasons' scores and mix
are ``classifier.acquisition.queue_reasons``, the tree math ``classifier.acquisition.topk``),
``queue_settings`` (its quotas, typical share, size and novel boost, checked),
``queue_candidates`` (the stored predictions it chooses from, as arrays), ``queue_re_review``
(which labelled items re-review takes: suspected label errors, or the in-sample rule before a
version's first scan), ``queue_refresh``
(a debounced rebuild for items scored one by one), ``re_review_rank`` (a publish's split
re-review ranked by the new model), ``leases``
(who holds which queue entry, and which items a reviewer skipped), ``decisions`` (the review
card: accept, correct, skip, undo, propose), ``corrections`` (inline and bulk corrections and
their undo from the report views), ``shown`` (the one shape of ``prediction_shown``: what a
label records of the prediction its author saw), ``labels`` (the append-only label ledger:
create, bulk create, retract, and the item's current label), ``disagreement``
(``Prediction.label_disagrees``), ``hotkeys`` (a reviewer's keys on the review page) and
``assignments`` (restrict a reviewer or a group to subtrees and queue reasons),
``overlap`` (items answered blind by several reviewers: agreement, disputes, adjudication,
second opinions), ``reliability`` (each reviewer's Dawid–Skene reliability) and ``proposing``
("not in the taxonomy" from the review card).

May call: ``labeling.models`` and selectors; ``learning.ml`` (tree probabilities for the
queue) and ``learning.triggers`` (new labels may ask for a training); ``taxonomy.proposals``
(a decision may propose a category); the shared ``dispatch`` and ``errors``.
"""
