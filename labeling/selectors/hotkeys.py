"""The review page's configurable keys: which actions there are, their default keys, and the
keys one reviewer uses (``HotkeyMap`` rows hold only what a reviewer changed).

The keys the page keeps for everyone are not here: ``1``–``9`` (the candidates), Enter, Esc,
the arrows, Home and End, and ``r`` (send a failed request again, on every page). The rules a
reviewer's keys must follow are ``labeling.services.review.hotkeys``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from labeling.models import HotkeyMap


@dataclass(frozen=True)
class HotkeyAction:
    name: str  # what static/js/review.js calls the action
    default: str
    description: str


HOTKEY_ACTIONS: tuple[HotkeyAction, ...] = (
    HotkeyAction("search", "/", "search the whole taxonomy"),
    HotkeyAction("tree", "t", "browse the tree"),
    HotkeyAction("skip", "s", "skip"),
    HotkeyAction("note", "n", "not in the taxonomy"),
    # A note on the decision itself (any category); "note" above is the proposal's.
    HotkeyAction("comment", "m", "add a note to this decision"),
    HotkeyAction("guides", "g", "open or close the candidates' guidelines"),
    HotkeyAction("undo", "u", "undo the last decision"),
    HotkeyAction("zoom", "z", "zoom the image"),
    HotkeyAction("help", "?", "show or hide the list of keys"),
)
HOTKEY_DEFAULTS: dict[str, str] = {action.name: action.default for action in HOTKEY_ACTIONS}


def hotkeys_for(*, user: AbstractBaseUser | AnonymousUser) -> dict[str, str]:
    """Every action's key for ``user``: theirs where they chose one, else the default. A
    default that one of their own keys took (an action added after they chose) is left
    without a key rather than given twice."""
    stored = HotkeyMap.objects.filter(user_id=user.pk).values_list("keys", flat=True).first()
    chosen = {name: key for name, key in (stored or {}).items() if name in HOTKEY_DEFAULTS and key}
    taken = set(chosen.values())
    return {
        action.name: chosen.get(action.name) or ("" if action.default in taken else action.default)
        for action in HOTKEY_ACTIONS
    }
