"""System checks for settings a deployment may still carry from an older Taxoloop."""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import Warning, register

# Environment variables that are no longer read, and what replaced them.
RETIRED_ENV = {
    "TAXOLOOP_PROMOTION_TOLERANCE": (
        "TAXOLOOP_PROMOTION_MARGIN: promotion is now a paired comparison on the same held-out "
        "labels; a candidate is rejected only when it is worse with 95% confidence by more than "
        "the margin (README, 'The learning loop')"
    ),
}


@register()
def retired_settings(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A warning for each retired variable set in the environment: it would be ignored."""
    return [
        Warning(
            f"{name} is set but no longer read.",
            hint=f"Use {replacement}.",
            id="taxoloop.W001",
        )
        for name, replacement in RETIRED_ENV.items()
        if name in os.environ
    ]
