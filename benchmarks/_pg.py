"""What every PostgreSQL benchmark needs: a throwaway database and Django set up on it.

    with scratch_database(DEFAULT_URL, keep=args.keep_db) as url:
        if url is None:
            return 0  # PostgreSQL is down; scratch_database said so
        django_setup(bench_env(url, scratch, CELERY_BROKER_URL="memory://"))

``BENCH_DATABASE_URL`` overrides the default URL; the database is dropped first and, unless
``keep``, afterwards.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def admin_connect(url: str) -> Any:
    """A connection to the server's ``postgres`` database, or None when the server is down."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    try:
        return psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        print(f"skipped: PostgreSQL not reachable at {parts.hostname}:{parts.port} ({error})")
        return None


def database_recreate(connection: Any, name: str, *, drop_only: bool = False) -> None:
    from psycopg import sql

    connection.execute(
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    )
    if not drop_only:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextmanager
def scratch_database(default_url: str, *, keep: bool = False) -> Iterator[str | None]:
    """Yield the URL of a freshly created database, or None when PostgreSQL is unreachable."""
    url = os.environ.get("BENCH_DATABASE_URL", default_url)
    admin = admin_connect(url)
    if admin is None:
        yield None
        return
    name = urlsplit(url).path.lstrip("/")
    database_recreate(admin, name)
    try:
        yield url
    finally:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        if not keep:
            database_recreate(admin, name, drop_only=True)
        admin.close()


def bench_env(url: str, scratch: Path, **extra: str) -> dict[str, str]:
    """Production-like settings (DEBUG off: no query log), var and media in ``scratch``."""
    return {
        "DJANGO_SETTINGS_MODULE": "taxoloop.settings.base",
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key",
        "TAXOLOOP_VAR_DIR": str(scratch / "var"),
        "MEDIA_ROOT": str(scratch / "media"),
        **extra,
    }


def django_setup(env: dict[str, str]) -> None:
    """Put ``env`` in the environment, set Django up and migrate the scratch database."""
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


@contextmanager
def in_process_django(default_url: str, *, keep: bool = False) -> Iterator[str | None]:
    """A scratch database with Django set up on it for benchmarks that call views through the
    test client in this process: any host allowed, async-unsafe calls allowed, and tasks sent
    to ``memory://`` (unless CELERY_BROKER_URL says otherwise) so label saves never wait on a
    broker connection. Yields None when PostgreSQL is down (``scratch_database`` said so)."""
    with scratch_database(default_url, keep=keep) as url:
        if url is None:
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="taxoloop-bench-") as tmp:
            broker = os.environ.get("CELERY_BROKER_URL", "memory://")
            django_setup(bench_env(url, Path(tmp), CELERY_BROKER_URL=broker))
            os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
            from django.conf import settings

            settings.ALLOWED_HOSTS = ["*"]
            yield url
