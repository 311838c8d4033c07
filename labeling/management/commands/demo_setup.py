"""Create the demo users once and print their credentials (kept in var/demo-credentials.json)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from labeling.roles import ADJUDICATOR, REVIEWER, TAXONOMY_ADMIN

DEMO_USERS = {
    "admin": None,
    "reviewer": REVIEWER,
    "reviewer2": REVIEWER,  # a second reviewer: overlap items need two
    "taxadmin": TAXONOMY_ADMIN,
    "adjudicator": ADJUDICATOR,
}


class Command(BaseCommand):
    help = (
        "Create demo users (admin superuser, two reviewers, a taxonomy admin, an adjudicator) "
        "and print credentials."
    )

    def handle(self, *args: object, **options: object) -> None:
        path = Path(settings.VAR_DIR) / "demo-credentials.json"
        creds = json.loads(path.read_text()) if path.exists() else {}
        User = get_user_model()
        for username, role in DEMO_USERS.items():
            password = creds.setdefault(username, secrets.token_urlsafe(9))
            user, _ = User.objects.get_or_create(username=username)
            user.is_superuser = user.is_staff = role is None
            user.set_password(password)
            user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(creds, indent=2))
        path.chmod(0o600)
        for username, role in DEMO_USERS.items():
            self.stdout.write(f"  {username:<11} {creds[username]:<14} ({role or 'superuser'})")
