"""Model instances from written-out SQL, for the review page's hot path.

Composing a query with the ORM (joins, ``select_related``, subqueries) costs more Python time
than PostgreSQL takes to run it: on "decide and get the next item" the ORM's compiling was a
third of the server's time (issue 16). Where a query's shape never changes, the page writes it
out and turns each row back into model instances here, exactly as the ORM would: every
column through the same converters (``connection.ops.get_db_converters`` and the field's own,
e.g. JSON text to Python on PostgreSQL, text to datetime on SQLite), ``Model.from_db``, and
related rows put in the related object cache as ``select_related`` does.

    sql = f"SELECT {columns(Item, 'i')}, {columns(Prediction, 'p')} FROM … "
    item, prediction = split_row(row, Item, Prediction)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]
# Per database vendor and model: each column's converters, and the fields' attribute names.
_CONVERTERS: dict[tuple[str, type[Model]], tuple[list[tuple[Any, list[Converter]]], list[str]]] = {}


def table(model: type[Model]) -> str:
    """``model``'s table name, quoted for written-out SQL."""
    return str(connection.ops.quote_name(model._meta.db_table))


def columns(model: type[Model], alias: str) -> str:
    """``model``'s concrete columns, in field order, qualified by ``alias``."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def _converters(model: type[Model]) -> tuple[list[tuple[Any, list[Converter]]], list[str]]:
    key = (connection.vendor, model)
    if key not in _CONVERTERS:
        table = model._meta.db_table
        found = []
        for field in model._meta.concrete_fields:
            col = field.get_col(table)
            found.append(
                (
                    col,
                    [*connection.ops.get_db_converters(col), *field.get_db_converters(connection)],
                )
            )
        _CONVERTERS[key] = (found, [f.attname for f in model._meta.concrete_fields])
    return _CONVERTERS[key]


def instance(model: type[Model], values: Sequence[Any]) -> Model:
    """One ``model`` instance from its columns' raw values (in ``columns`` order)."""
    found, names = _converters(model)
    converted = []
    for (col, converters), value in zip(found, values, strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


def split_row(row: Sequence[Any], *models: type[Model]) -> list[Model | None]:
    """The instances of ``models`` from a row of their ``columns`` side by side; None for a
    model whose columns are all NULL (the far side of a LEFT JOIN that found nothing)."""
    out: list[Model | None] = []
    start = 0
    for model in models:
        values = row[start : start + width(model)]
        start += width(model)
        out.append(None if all(v is None for v in values) else instance(model, values))
    return out


def cache_related(obj: Model, name: str, related: Model | None) -> None:
    """Put ``related`` where ``obj.<name>`` finds it without a query (``select_related``'s
    cache; a None on a reverse one-to-one makes the attribute raise DoesNotExist, as there)."""
    obj._meta.get_field(name).set_cached_value(obj, related)
