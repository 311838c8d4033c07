"""Who may call what (roles: labeling.roles). Anonymous callers get 401/403 from DRF's
authentication check; logged-in users without the role get 403."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from labeling.models import Label
from labeling.roles import is_reviewer, is_taxonomy_admin

REVIEWER_REQUIRED = "This needs the Reviewer or TaxonomyAdmin role."
TAXONOMY_ADMIN_REQUIRED = "This needs the TaxonomyAdmin role."
RETRACT_OWN_ONLY = "Only a TaxonomyAdmin may retract another person's label."


class IsReviewer(BasePermission):
    """Reviewers and taxonomy admins (and superusers): reading, labelling."""

    message = REVIEWER_REQUIRED

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_reviewer(request.user)


class IsTaxonomyAdmin(BasePermission):
    """Taxonomy admins (and superusers): writing items."""

    message = TAXONOMY_ADMIN_REQUIRED

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_taxonomy_admin(request.user)


class CanRetractLabel(IsReviewer):
    """A reviewer may retract their own labels; a taxonomy admin anyone's."""

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if not isinstance(obj, Label):
            return False
        if obj.author_id is not None and obj.author_id == request.user.pk:
            return True
        self.message = RETRACT_OWN_ONLY
        return is_taxonomy_admin(request.user)
