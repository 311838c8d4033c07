"""Overlaps for the API, ledger and export tests: blind answers written through the service."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from labeling.models import Category, Item, Overlap
from labeling.roles import ADJUDICATOR, REVIEWER
from labeling.services.review.overlap import AnswerOutcome, overlap_answer
from tests.factories import ItemFactory, UserFactory

SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
_keys = count()


def answer(
    user: AbstractBaseUser, item: Item, category: Category, *, audit: bool = False
) -> AnswerOutcome:
    """``user``'s blind answer to ``item`` (locked, as a decision locks it): an overlap of two
    reviewers, as a sample (``audit``: the answer is on an audit item)."""
    with transaction.atomic():
        return overlap_answer(
            item=Item.objects.select_for_update().get(pk=item.pk),
            reviewer=user,
            category=category,
            needed=2,
            why="sample",
            model_version=None,
            prediction_shown={},
            is_audit=audit,
            note=f"{user.get_username()}'s reason",
            idempotency_key=f"overlap-test-{next(_keys)}",
        )


@dataclass
class Overlaps:
    """alice and carol disagree on D (disputed), agree on A (agreed); only carol answered O."""

    carol: AbstractBaseUser
    dora: AbstractBaseUser  # an adjudicator
    disputed: Overlap
    agreed: Overlap
    open: Overlap


def make_overlaps(alice: AbstractBaseUser, tree: dict[str, Category]) -> Overlaps:
    carol = UserFactory(username="carol", roles=[REVIEWER])
    dora = UserFactory(username="dora", roles=[ADJUDICATOR])
    d, a, o = (ItemFactory(external_id=f"SKU-{x}", title=f"Shirt {x}") for x in "DAO")
    answer(alice, d, tree[SHIRTS])
    disputed = answer(carol, d, tree[TSHIRTS]).overlap
    answer(alice, a, tree[SHIRTS])
    agreed = answer(carol, a, tree[SHIRTS]).overlap
    opened = answer(carol, o, tree[SHIRTS]).overlap
    assert (disputed.status, agreed.status, opened.status) == ("disputed", "agreed", "open")
    return Overlaps(carol, dora, disputed, agreed, opened)
