"""The model side of the loop: when to train, training, judging and promoting, scoring.

Owns: ``ml`` (the seam between ORM rows and ``classifier`` arrays: trees, features, model
files, the active model), ``triggers`` (when to train: coalesced requests, the label counter,
the bounded wait, beat), ``training_data`` (current labels and the held-out split),
``training`` (one run: fit, judge, promote), ``cold_start`` and ``zero_shot`` (a model before
any label), ``warm_start`` (a new taxonomy version starts from the old model),
``promotion`` (metrics, the paired promotion rule, the swap), ``scoring`` (predictions for
items: the reads and the forward pass), ``prediction_writes`` (a scored chunk's Prediction
rows, written), ``rescore_jobs`` (a full rescore split into shards across workers) and
``label_issues`` (suspected label errors: confident learning on out-of-fold probabilities, stored
for re-review).

May call: ``classifier`` (all the array work), ``labeling.models`` and selectors;
``review.labels`` and ``review.disagreement`` (what is labelled, and where the model
disagrees); ``review.queue_build`` and ``review.queue_refresh`` (a finished rescore rebuilds
the queue); the shared ``dispatch`` and ``errors``.
"""
