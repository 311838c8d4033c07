"""factory_boy factories for the domain model. Build small taxonomies with ``make_tree``."""

from __future__ import annotations

import hashlib
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group

from labeling import models
from labeling.services.api_tokens import api_token_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])


class TaxonomyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Taxonomy
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Taxonomy {n}")


class TaxonomyVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.TaxonomyVersion

    taxonomy = factory.SubFactory(TaxonomyFactory)
    number = factory.Sequence(lambda n: n + 1)
    status = models.TaxonomyVersion.Status.PUBLISHED
    is_current = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Category

    version = factory.SubFactory(TaxonomyVersionFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None
    key = factory.LazyAttribute(lambda c: (c.parent.key + "/" if c.parent else "") + c.name.lower())
    path = factory.LazyAttribute(lambda c: (c.parent.path + " > " if c.parent else "") + c.name)
    depth = factory.LazyAttribute(lambda c: (c.parent.depth + 1) if c.parent else 1)


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Item

    external_id = factory.Sequence(lambda n: f"SKU-{n:06d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    content_hash = factory.LazyAttribute(
        lambda i: hashlib.sha256(f"{i.external_id}|{i.title}".encode()).hexdigest()
    )


def api_token_for(user: AbstractBaseUser, name: str = "test token", **kwargs: Any) -> str:
    """A working API token for ``user`` (``Authorization: Token <it>``); the database keeps
    only its digest. ``expires_at``/``now`` go to the service."""
    return api_token_create(user=user, name=name, **kwargs)[1]


def make_tree(version: models.TaxonomyVersion, spec: dict) -> dict[str, models.Category]:
    """Create categories from a nested dict ``{"Apparel": {"Shirts": {}, "Jeans": {}}}``;
    returns them by path ("Apparel > Shirts")."""
    out: dict[str, models.Category] = {}

    def walk(children: dict, parent: models.Category | None) -> None:
        for name, sub in children.items():
            cat = CategoryFactory(version=version, name=name, parent=parent, is_leaf=not sub)
            out[cat.path] = cat
            walk(sub, cat)

    walk(spec, None)
    return out
