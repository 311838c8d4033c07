"""Rules beside the model (issue 17): taxonomy admins' conditions and actions on the catalog.

Owns: ``validation`` (what a rule may say, and the messages when it may not), ``crud``
(create, edit, switch on and off, delete; a version's rules are edited while it is current),
``preview`` (what a rule would do before it is switched on: hits, labelled items it gets
right and wrong, disagreements to look at), ``compiling`` (rows -> ``classifier.rules``, and
``for_scoring``: a version's enabled rules compiled once per rescore), ``scoring``
(``apply_chunk``: one scored chunk through the rules, counted), ``stats`` (counts per rule and
day, and switching off a rule whose pattern keeps timing out), ``carry`` (a publish carries
the rules into the new version, their categories mapped like labels), ``queue`` (the items a
review rule sends to people, for the queue rebuild).

May call: ``classifier.rules`` (the engine), ``labeling.models`` and selectors,
``learning.ml`` (the version's tree) and ``learning.prediction_writes`` (a scored chunk's
shape), the shared ``errors``. Called by ``learning.scoring`` (``apply_to_scores``),
``review.queue_build`` (``queue``) and ``taxonomy.publish`` (``carry``).
"""
