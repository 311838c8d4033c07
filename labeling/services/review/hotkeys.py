"""A reviewer's keys for the review page: change them (checked) or go back to the defaults.

The actions and their defaults are ``labeling.selectors.hotkeys``. A key is one printable
character that is not a space; the page's fixed keys stay its own: ``1``–``9`` pick the
candidates and ``r`` sends a failed request again. Two actions never share a key. Letters are
case-sensitive, as the browser reports them (``S`` is Shift+s).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from labeling.models import HotkeyMap
from labeling.selectors.hotkeys import HOTKEY_ACTIONS
from labeling.services.errors import ServiceError

KEY_MISSING = "Choose a key for “{action}”."
KEY_NOT_ONE = (
    "“{key}” is not one key: type a single printable character, such as a letter or a sign "
    "like / or ?."
)
KEY_FOR_CANDIDATES = "“{key}” is taken: the digits 1–9 pick the model's candidates."
KEY_FOR_RETRY = "“r” is taken: it sends a failed request again."
KEY_TWICE = "“{key}” is already the key for “{other}”: give each action its own key."
UNKNOWN_ACTIONS = "No such action: {names}."
RETRY_KEY = "r"


class HotkeyError(ServiceError):
    """The keys were refused; ``errors`` says why for each action that was wrong."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = dict(errors)


def key_problem(key: str, action: str) -> str | None:
    """Why ``key`` cannot be a key on its own (None: it can); ``action`` names it in the
    message."""
    if not key:
        return KEY_MISSING.format(action=action)
    if len(key) != 1 or not key.isprintable() or key.isspace():
        return KEY_NOT_ONE.format(key=key)
    if key in "123456789":
        return KEY_FOR_CANDIDATES.format(key=key)
    if key == RETRY_KEY:
        return KEY_FOR_RETRY
    return None


def _problems(keys: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(keys) - {action.name for action in HOTKEY_ACTIONS})
    errors = {"__all__": UNKNOWN_ACTIONS.format(names=", ".join(unknown))} if unknown else {}
    owner: dict[str, str] = {}
    for action in HOTKEY_ACTIONS:
        key = keys.get(action.name, "")
        problem = key_problem(key, action.description)
        if problem is None and key in owner:
            problem = KEY_TWICE.format(key=key, other=owner[key])
        if problem is not None:
            errors[action.name] = problem
        else:
            owner[key] = action.description
    return errors


@transaction.atomic
def hotkeys_update(*, user: AbstractBaseUser, keys: Mapping[str, str]) -> HotkeyMap:
    """Store ``keys`` (every action's key, by action name) as ``user``'s; raises
    ``HotkeyError`` naming each refused key, and then stores nothing."""
    errors = _problems(keys)
    if errors:
        raise HotkeyError(errors)
    row, _ = HotkeyMap.objects.update_or_create(
        user_id=user.pk, defaults={"keys": {a.name: keys[a.name] for a in HOTKEY_ACTIONS}}
    )
    return row


@transaction.atomic
def hotkeys_reset(*, user: AbstractBaseUser) -> None:
    """``user`` goes back to the default keys."""
    HotkeyMap.objects.filter(user_id=user.pk).delete()
