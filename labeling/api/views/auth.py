"""API tokens over HTTP: trade a password for a new token, and list, create and revoke the
logged-in user's tokens.

A token is shown once, in the answer that creates it; the database keeps only its digest
(labeling.models.tokens), so no list or later call can show it again. A token cannot create
tokens (403): a stolen one must not be able to mint a longer-lived successor; create them from
a logged-in browser session, with a password (``POST /api/token/``) or with
``manage.py create_api_token``. Listing and revoking work with any credentials.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from labeling.api.errors import raise_not_found
from labeling.api.throttling import LoginRateThrottle
from labeling.models.tokens import ApiToken
from labeling.selectors.api_tokens import api_token_get, api_token_list
from labeling.services.api_tokens import (
    NAME_MAX_LENGTH,
    ApiTokenError,
    api_token_create,
    api_token_expiry,
    api_token_revoke,
)

from .base import ApiView, ListApiView, route_by_method

NO_TOKEN_ID = "Token {value} not found."
BAD_CREDENTIALS = "Unable to log in with provided credentials."  # DRF's wording
TOKEN_CANNOT_CREATE_TOKENS = (
    "A token cannot create tokens: log in in the browser, POST a username and password to "
    "/api/token/, or ask an admin to run manage.py create_api_token."
)
PASSWORD_TOKEN_NAME = "password login"
MAX_EXPIRY_DAYS = 3650


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as lists show it: its public prefix, never the token."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    """A token just created, with the token itself: the only answer that carries it."""

    token = serializers.CharField(help_text="send as 'Authorization: Token <token>'; shown once")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields


class TokenSpecSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, help_text="what or who uses it")
    expires_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        help_text="days until the token stops working; leave out for a token that never expires",
    )


class NotByToken(BasePermission):
    message = TOKEN_CANNOT_CREATE_TOKENS

    def has_permission(self, request: Request, view: Any) -> bool:
        return not isinstance(request.auth, ApiToken)


def _created(user: Any, name: str, expires_days: int | None) -> Response:
    try:
        row, token = api_token_create(
            user=user, name=name, expires_at=api_token_expiry(days=expires_days)
        )
    except ApiTokenError as error:
        raise ValidationError({"name": [str(error)]}) from error
    # The shape of ApiTokenCreatedSerializer; the token is not an attribute of the row.
    data = {"token": token, **ApiTokenSerializer(row).data}
    return Response(data, status=status.HTTP_201_CREATED)


class TokenObtainApi(ApiView):
    """Send ``username`` and ``password``; the answer's ``token`` goes in later requests as
    ``Authorization: Token <token>``. Every call creates a new token (named ``name``, by
    default "password login"), shown in this answer only: keep it, and revoke the ones you no
    longer use (``POST /api/tokens/{id}/revoke/``). Throttled per client address (scope
    ``login``, 10 attempts a minute by default), and locked for a while after too many failed
    passwords for one username from one address (429)."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    class InputSerializer(TokenSpecSerializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
        name = serializers.CharField(max_length=NAME_MAX_LENGTH, default=PASSWORD_TOKEN_NAME)

    @extend_schema(
        summary="Obtain an API token with a password",
        request=InputSerializer,
        responses={201: ApiTokenCreatedSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # Django's HttpRequest, not DRF's wrapper: django-axes marks a locked-out request on
        # the object it is given, and its middleware reads the mark on the HttpRequest.
        user = authenticate(
            request=request._request, username=data["username"], password=data["password"]
        )
        if user is None:
            raise ValidationError({"non_field_errors": [BAD_CREDENTIALS]})
        return _created(user, data["name"], data.get("expires_days"))


class TokenListApi(ListApiView):
    """Your tokens that are not revoked, newest first (expired ones too, with
    ``expires_at``). The tokens themselves are never shown again: each row has the token's
    first characters (``prefix``) to tell them apart."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="List your API tokens", responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        tokens = api_token_list(user=request.user)
        return self.page_response(self.paginate(tokens), ApiTokenSerializer)


class TokenCreateApi(ApiView):
    """Create a named token for yourself, optionally expiring after ``expires_days``. The
    answer's ``token`` is shown this once. Needs a browser session (with its CSRF token):
    a request authenticated by a token is refused with 403."""

    permission_classes = [IsAuthenticated, NotByToken]

    @extend_schema(
        summary="Create an API token",
        request=TokenSpecSerializer,
        responses={201: ApiTokenCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = TokenSpecSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return _created(request.user, data["name"], data.get("expires_days"))


class TokenRevokeApi(ApiView):
    """Revoke one of your tokens: requests with it get 401 from now on. The row stays, with
    ``revoked_at``, and leaves the list. Another user's token is a 404. Revoking twice keeps
    the first time."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Revoke an API token", request=None, responses=ApiTokenSerializer)
    def post(self, request: Request, pk: int) -> Response:
        token = api_token_get(user=request.user, pk=pk)
        if token is None:
            raise_not_found(NO_TOKEN_ID, pk)
        return Response(ApiTokenSerializer(api_token_revoke(token=token)).data)


TokenCollectionApi = route_by_method("TokenCollectionApi", get=TokenListApi, post=TokenCreateApi)
