"""Auto-accept with a precision guarantee (issue 17): which predictions are final.

``AutoAcceptPolicy`` certifies per-node confidence thresholds on audit-labelled items (a
uniform sample the model was not trained on) so that what it auto-accepts has precision
>= a target with a one-sided 95% Clopper–Pearson bound; ``apply`` decides per item
(accepted, at which node, with what confidence), ``audit_needs`` says which nodes lack
audit labels and how many more they need. The method and why it holds: ``policy``.
"""

from .bounds import clopper_pearson_lower, errors_p_value, min_decisions
from .paths import Paths, predicted_paths
from .policy import (
    AUTO_ACCEPTED,
    LABELLED,
    MAX_AUDIT_SHARE,
    NEEDS_REVIEW,
    ROOT,
    AuditNeed,
    AutoAcceptPolicy,
    Decisions,
    UnitResult,
    apply,
    audit_needs,
    statuses,
)

__all__ = [
    "AUTO_ACCEPTED",
    "LABELLED",
    "MAX_AUDIT_SHARE",
    "NEEDS_REVIEW",
    "ROOT",
    "AuditNeed",
    "AutoAcceptPolicy",
    "Decisions",
    "Paths",
    "UnitResult",
    "apply",
    "audit_needs",
    "clopper_pearson_lower",
    "errors_p_value",
    "min_decisions",
    "predicted_paths",
    "statuses",
]
