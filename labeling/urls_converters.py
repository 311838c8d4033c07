"""The range of a database id and the ``<id:…>`` path converter that keeps to it.

Ids are BigAutoFields: signed 64-bit integers on SQLite and PostgreSQL, and never below 1.
Django's ``<int:…>`` matches any run of digits, so ``/reports/rows/99999999999999999999/``
used to reach the database, where SQLite cannot even bind the number (``OverflowError``, a
500). ``<id:…>`` does not match such a path: the resolver goes on and answers 404 (for the
API, the JSON 404 of ``labeling.api.views.not_found``), as for any id that names nothing.

Every URL module that uses ``<id:…>`` imports this one, which registers the converter.
Overriding ``int`` itself is deprecated since Django 5.1 (an error in Django 6).
"""

from __future__ import annotations

from django.urls import register_converter

ID_MIN = 1
ID_MAX = 2**63 - 1
# Any value an integer column can hold (BigIntegerField), for parameters that are not ids.
DB_INT_MIN = -(2**63)
DB_INT_MAX = 2**63 - 1


class IdConverter:
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)  # a ValueError (past 4,300 digits, too) means: no match
        if number > ID_MAX:
            raise ValueError(f"{value} is past the largest id")
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
