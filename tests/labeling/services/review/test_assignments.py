"""Assignments: the queue hands a restricted reviewer only matching items, in its query."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from labeling.models import Category, QueueEntry, ReviewAssignment
from labeling.selectors.assignments import Clause, queue_scope_for
from labeling.services.errors import ServiceError
from labeling.services.review.assignments import (
    ASSIGNMENT_UNKNOWN_CATEGORY,
    assignment_set,
    categories_by_path_or_key,
)
from labeling.services.review.leases import review_lease
from tests.factories import UserFactory
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, queue_entry_at

SNEAKERS = "Footwear > Shoes > Sneakers"


@pytest.fixture
def pool(tree):
    """Shirts (uncertain), jeans (novel), sneakers (uncertain), tshirts (audit), best first."""
    return {
        "shirts": queue_entry_at(tree, SHIRTS, "uncertain", 0.9),
        "jeans": queue_entry_at(tree, JEANS, "novel", 0.8),
        "sneakers": queue_entry_at(tree, SNEAKERS, "uncertain", 0.7),
        "tshirts": queue_entry_at(tree, TSHIRTS, "audit", 0.6),
    }


def handed(reviewer, version, count=10) -> set[int]:
    scope = queue_scope_for(user=reviewer, version=version)
    return {e.pk for e in review_lease(reviewer=reviewer, count=count, scope=scope)}


def ids(pool, *names) -> set[int]:
    return {pool[n].pk for n in names}


def test_an_unrestricted_reviewer_gets_everything_in_priority_order(alice, version, pool):
    scope = queue_scope_for(user=alice, version=version)
    assert not scope.restricted
    entries = review_lease(reviewer=alice, count=4, scope=scope)
    assert [e.pk for e in entries] == [
        pool[n].pk for n in ("shirts", "jeans", "sneakers", "tshirts")
    ]


def test_a_subtree_restriction_hands_out_only_items_under_it(alice, version, tree, pool):
    assignment_set(user=alice, categories=[tree["Apparel > Topwear"]], version=version)
    assert handed(alice, version) == ids(pool, "shirts", "tshirts")


def test_a_reason_restriction_hands_out_only_those_reasons(alice, version, pool):
    assignment_set(user=alice, reasons=["novel", "audit"], version=version)
    assert handed(alice, version) == ids(pool, "jeans", "tshirts")


def test_subtrees_and_reasons_must_both_match(alice, version, tree, pool):
    assignment_set(user=alice, categories=[tree["Apparel"]], reasons=["uncertain"], version=version)
    assert handed(alice, version) == ids(pool, "shirts")


def test_a_groups_restriction_applies_to_its_members(alice, version, tree, pool):
    team = Group.objects.create(name="Shoe team")
    alice.groups.add(team)
    assignment_set(group=team, categories=[tree["Footwear"]], version=version)
    assert handed(alice, version) == ids(pool, "sneakers")


def test_own_and_group_restrictions_combine_by_union(alice, version, tree, pool):
    team = Group.objects.create(name="Shoe team")
    alice.groups.add(team)
    assignment_set(group=team, categories=[tree["Footwear"]], version=version)
    assignment_set(user=alice, reasons=["novel"], version=version)
    assert handed(alice, version) == ids(pool, "sneakers", "jeans")


def test_a_stale_category_hands_out_nothing_from_it(alice, version, tree, pool):
    assignment_set(user=alice, categories=[tree["Footwear"]], version=version)
    Category.objects.filter(pk=tree["Footwear"].pk).update(key="gone-in-this-version")
    assert handed(alice, version) == set()
    assert ReviewAssignment.objects.get(user=alice).category_keys == [tree["Footwear"].key]


def test_a_stale_category_is_kept_when_the_assignment_is_saved_again(alice, version, tree, pool):
    assignment_set(user=alice, categories=[tree["Footwear"]], version=version)
    Category.objects.filter(pk=tree["Footwear"].pk).update(key="gone-in-this-version")
    assignment_set(user=alice, categories=[tree["Apparel > Bottomwear"]], version=version)
    assert handed(alice, version) == ids(pool, "jeans")


def test_two_restricted_reviewers_never_get_the_same_leased_item(alice, version, tree, pool):
    other = UserFactory(username="dora")
    for user in (alice, other):
        assignment_set(user=user, categories=[tree["Apparel"]], version=version)
    first, second = handed(alice, version, count=2), handed(other, version, count=2)
    assert first == ids(pool, "shirts", "jeans") and second == ids(pool, "tshirts")
    assert QueueEntry.objects.filter(pk__in=first, lease_holder=alice).count() == 2


def test_a_filter_narrows_within_the_assignment(alice, version, tree, pool):
    assignment_set(user=alice, categories=[tree["Apparel"]], version=version)
    scope = queue_scope_for(user=alice, version=version).narrowed(Clause(("audit",)))
    assert {e.pk for e in review_lease(reviewer=alice, count=5, scope=scope)} == ids(
        pool, "tshirts"
    )


def test_setting_an_assignment_gives_back_the_items_held(alice, version, tree, pool):
    review_lease(reviewer=alice, count=2)
    assignment_set(user=alice, reasons=["audit"], version=version)
    assert not QueueEntry.objects.filter(lease_holder=alice).exists()


def test_an_unknown_category_path_is_refused(version, tree):
    with pytest.raises(ServiceError) as error:
        categories_by_path_or_key(names=["Apparel > Hats"], version=version)
    assert str(error.value) == ASSIGNMENT_UNKNOWN_CATEGORY.format(name="Apparel > Hats")


def test_an_unknown_reason_is_refused(alice, version):
    with pytest.raises(ServiceError):
        assignment_set(user=alice, reasons=["boredom"], version=version)
