"""Token authentication: trade a username and password for an API token."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.throttling import AnonRateThrottle

from labeling.api.schema import ApiAutoSchema

LOGIN_RATE_DEFAULT = "10/min"


class LoginRateThrottle(AnonRateThrottle):
    """Password guessing is limited per client address, logged in or not. The rate is
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"] when set, else 10/min."""

    scope = "login"

    def get_rate(self) -> str:
        rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
        return rates.get(self.scope, LOGIN_RATE_DEFAULT)

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenObtainApi(ObtainAuthToken):
    """Send ``username`` and ``password``; the answer's token goes in later requests as
    ``Authorization: Token <token>``. Throttled (10 attempts a minute per address)."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]
    schema = ApiAutoSchema()

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        summary="Obtain an API token",
        request=ObtainAuthToken.serializer_class,
        responses={200: OutputSerializer},
        auth=[],
    )
    def post(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().post(request, *args, **kwargs)
