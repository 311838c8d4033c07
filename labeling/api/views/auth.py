"""Token authentication: trade a username and password for an API token."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny

from labeling.api.schema import ApiAutoSchema
from labeling.api.throttling import LoginRateThrottle


class TokenObtainApi(ObtainAuthToken):
    """Send ``username`` and ``password``; the answer's token goes in later requests as
    ``Authorization: Token <token>``. Throttled per client address (scope ``login``, 10
    attempts a minute by default). ``manage.py create_api_token USERNAME`` prints a token
    without a password, e.g. for service accounts."""

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
