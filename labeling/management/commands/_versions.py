"""The current taxonomy version a loop command works on (not a command: the name starts with _)."""

from __future__ import annotations

from django.core.management.base import CommandError

from labeling.models import TaxonomyVersion

NO_CURRENT = "There is no current version of taxonomy {name!r}."
NO_CURRENT_ANY = "There is no current taxonomy version: import or publish one first."
SEVERAL_CURRENT = "Several taxonomies have a current version ({names}); pass --taxonomy NAME."


def current_version_named(name: str) -> TaxonomyVersion:
    """The current version of taxonomy ``name``, or the only current one when ``name`` is empty."""
    current = TaxonomyVersion.objects.filter(is_current=True).select_related("taxonomy")
    if name:
        version = current.filter(taxonomy__name=name).first()
        if version is None:
            raise CommandError(NO_CURRENT.format(name=name))
        return version
    versions = list(current)
    if not versions:
        raise CommandError(NO_CURRENT_ANY)
    if len(versions) > 1:
        names = ", ".join(sorted(v.taxonomy.name for v in versions))
        raise CommandError(SEVERAL_CURRENT.format(names=names))
    return versions[0]
