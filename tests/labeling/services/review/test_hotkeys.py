"""A reviewer's keys: the rules a key follows, what is stored, and the keys read back."""

from __future__ import annotations

import pytest

from labeling.models import HotkeyMap
from labeling.selectors.hotkeys import HOTKEY_ACTIONS, HOTKEY_DEFAULTS, hotkeys_for
from labeling.services.review import hotkeys as svc

pytestmark = pytest.mark.django_db


def keys(**changed: str) -> dict[str, str]:
    return HOTKEY_DEFAULTS | changed


def test_the_defaults_are_todays_keys_and_one_key_each():
    assert HOTKEY_DEFAULTS == {
        "search": "/",
        "tree": "t",
        "skip": "s",
        "note": "n",
        "comment": "m",  # a note on the decision (issue 16, notes)
        "guides": "g",  # the candidates' guidelines (issue 16, guidelines)
        "undo": "u",
        "zoom": "z",
        "help": "?",
    }
    assert len(set(HOTKEY_DEFAULTS.values())) == len(HOTKEY_ACTIONS)


def test_a_reviewer_without_keys_of_their_own_gets_the_defaults(alice):
    assert hotkeys_for(user=alice) == HOTKEY_DEFAULTS


def test_the_keys_are_stored_and_read_back(alice):
    svc.hotkeys_update(user=alice, keys=keys(skip="k", search="f"))
    svc.hotkeys_update(user=alice, keys=keys(skip="K"))  # a second save replaces the first
    assert HotkeyMap.objects.get(user=alice).keys == keys(skip="K")
    assert hotkeys_for(user=alice) == keys(skip="K")


def test_keys_can_be_swapped_in_one_save(alice):
    svc.hotkeys_update(user=alice, keys=keys(skip="u", undo="s"))
    assert hotkeys_for(user=alice)["skip"] == "u"


@pytest.mark.parametrize("key", ["", "ab", " ", "\t", "1", "9", "r", "Enter"])
def test_a_key_that_is_not_one_free_printable_character_is_refused(alice, key):
    with pytest.raises(svc.HotkeyError) as refused:
        svc.hotkeys_update(user=alice, keys=keys(zoom=key))
    assert set(refused.value.errors) == {"zoom"} and not HotkeyMap.objects.exists()


def test_each_refused_key_is_named_with_its_reason(alice):
    with pytest.raises(svc.HotkeyError) as refused:
        svc.hotkeys_update(user=alice, keys=keys(undo="s", zoom="5", help=""))
    assert refused.value.errors == {
        "undo": svc.KEY_TWICE.format(key="s", other="skip"),
        "zoom": svc.KEY_FOR_CANDIDATES.format(key="5"),
        "help": svc.KEY_MISSING.format(action="show or hide the list of keys"),
    }


def test_an_unknown_action_is_refused(alice):
    with pytest.raises(svc.HotkeyError, match="No such action: jump"):
        svc.hotkeys_update(user=alice, keys=keys(jump="j"))


def test_zero_and_signs_are_keys_too(alice):
    svc.hotkeys_update(user=alice, keys=keys(skip="0", note="#", zoom="é"))
    assert hotkeys_for(user=alice) == keys(skip="0", note="#", zoom="é")


def test_reset_goes_back_to_the_defaults(alice):
    svc.hotkeys_update(user=alice, keys=keys(skip="k"))
    svc.hotkeys_reset(user=alice)
    assert hotkeys_for(user=alice) == HOTKEY_DEFAULTS


def test_a_default_that_a_reviewers_own_key_took_is_left_without_a_key(alice):
    # as after a release adds an action whose default one of the reviewer's keys already is
    HotkeyMap.objects.create(user=alice, keys={"skip": "?", "gone": "g"})
    assert hotkeys_for(user=alice) == keys(skip="?", help="")
