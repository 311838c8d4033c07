"""The login page, with the failed-login throttle (labeling.login_throttle) made visible.

The authentication backend already refuses a throttled (address, username) pair; this view
checks first so that the person sees why (429 and the wait) instead of "wrong password".
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from labeling.login_throttle import login_blocked, login_throttled_message


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if login_blocked(request, request.POST.get("username", "")):
            form = self.get_form_class()(
                request, initial={"username": request.POST.get("username")}
            )
            context = self.get_context_data(form=form, throttled=login_throttled_message())
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)
