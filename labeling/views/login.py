"""The login page. Failed logins are counted and locked out by django-axes for every login
path (labeling/login_lockout.py); its middleware swaps a locked-out attempt's answer for the
login page with the wait (429)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True
