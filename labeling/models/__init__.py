"""Taxoloop's domain model (DESIGN.md, "Domain model"), one module per area.

- ``catalog``: ``Item`` (a product to classify) and its ``Embedding`` rows.
- ``taxonomy``: ``Taxonomy``, ``TaxonomyVersion``, ``Category``, ``TaxonomyOperation`` (a
  draft's edits), ``CategoryMapping`` (where a publish sent each old category), ``Guideline`` (a
  category's Markdown guideline for reviewers), ``Proposal`` (a reviewer's "not in the
  taxonomy" flag).
- ``learning``: ``ModelVersion``, ``TrainingRun``, ``Prediction`` (the latest per item),
  ``RescoreJob`` and ``RescoreShard`` (the sharded rescore), ``LabelErrorScan`` and
  ``SuspectedLabelError`` (labels confident learning suspects, issue 17).
- ``review``: ``Label`` (the append-only ledger), ``QueueEntry``, ``ReviewSkip``, ``HotkeyMap``
  (a reviewer's keys on the review page), ``ReviewAssignment`` (what the queue may hand a
  reviewer or a group), ``Overlap`` and ``OverlapAnswer`` (an item answered blind by several
  reviewers, and its adjudication), ``ReviewerReliability`` (what their answers say of a
  reviewer).
- ``rules``: ``Rule``, ``RuleCondition`` and ``RuleStat`` (taxonomy admins' rules beside the
  model, versioned with the taxonomy; issue 17).
- ``tokens``: ``ApiToken`` and the token format (``token_generate``, ``token_prefix``,
  ``token_digest``).

Every model and the token helpers are re-exported here: Django loads ``labeling.models``, and
code imports models from it (``from labeling.models import Item``). The modules never import
each other: a foreign key to a model of another module names it (``"labeling.Item"``).

Rules that must hold whatever code writes the rows live in the database: unique external ids,
one current version per taxonomy, one active model per taxonomy version, a label's category
from the label's own taxonomy version (a composite foreign key, see migration 0002), and a
ledger that cannot be updated in place (a trigger, same migration).
"""

from labeling.models.catalog import Embedding, Item
from labeling.models.learning import (
    LabelErrorScan,
    ModelVersion,
    Prediction,
    RescoreJob,
    RescoreShard,
    SuspectedLabelError,
    TrainingRun,
)
from labeling.models.review import (
    HotkeyMap,
    Label,
    Overlap,
    OverlapAnswer,
    QueueEntry,
    ReviewAssignment,
    ReviewerReliability,
    ReviewSkip,
)
from labeling.models.rules import Rule, RuleCondition, RuleStat
from labeling.models.taxonomy import (
    Category,
    CategoryMapping,
    Guideline,
    Proposal,
    Taxonomy,
    TaxonomyOperation,
    TaxonomyVersion,
)
from labeling.models.tokens import ApiToken, token_digest, token_generate, token_prefix

__all__ = [
    "ApiToken",
    "Category",
    "CategoryMapping",
    "Embedding",
    "Guideline",
    "HotkeyMap",
    "Item",
    "Label",
    "LabelErrorScan",
    "ModelVersion",
    "Overlap",
    "OverlapAnswer",
    "Prediction",
    "Proposal",
    "QueueEntry",
    "RescoreJob",
    "RescoreShard",
    "ReviewAssignment",
    "ReviewerReliability",
    "ReviewSkip",
    "Rule",
    "RuleCondition",
    "RuleStat",
    "SuspectedLabelError",
    "Taxonomy",
    "TaxonomyOperation",
    "TaxonomyVersion",
    "TrainingRun",
    "token_digest",
    "token_generate",
    "token_prefix",
]
