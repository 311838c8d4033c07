"""The ML core: plain Python, numpy and torch; it never imports Django, Celery or the app.

``tree`` (the category tree as arrays, shared by everything), ``text`` (the one string an
item's fields become for the text encoder), ``images`` (safe image decoding), ``encoders/``
(frozen text and image encoders), ``model/`` (``HierarchicalClassifier``: adapters, committee,
calibration, roll-up, warm and cold starts), ``acquisition/`` (which items to ask people
about), ``metrics/`` (accuracy, calibration, roll-up, the paired promotion test), ``splits``
(held-out splits that keep duplicates on one side), ``datasets`` and ``simulate/`` (the
active-learning simulator), ``compat`` (a torchvision shim).
"""
