"""Test settings: Celery eager, fast password hashing, media in a temporary folder.

The database comes from ``DATABASE_URL`` like everywhere else: SQLite by default, PostgreSQL in CI.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")  # noqa: S105
os.environ.setdefault("TAXOLOOP_VAR_DIR", tempfile.mkdtemp(prefix="taxoloop-test-"))

from .base import *  # noqa: E402,F403
from .base import REST_FRAMEWORK, STATIC_ROOT  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# A worker started by the integration tests shares the test process's folder through MEDIA_ROOT.
MEDIA_ROOT = os.environ.get("MEDIA_ROOT") or tempfile.mkdtemp(prefix="taxoloop-media-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "1000/min",
        "user": "100000/min",
    },
}

# Test hooks that slow a worker down so that an integration test can act mid-way (it sets them
# in the worker's environment). Product code reads only these settings, never the environment.
TAXOLOOP = {  # noqa: F405
    **TAXOLOOP,  # noqa: F405
    "TRAIN_EPOCH_DELAY_SECONDS": float(os.environ.get("TAXOLOOP_TRAIN_EPOCH_DELAY") or 0),
    "RESCORE_CHUNK_DELAY_SECONDS": float(os.environ.get("TAXOLOOP_RESCORE_CHUNK_DELAY") or 0),
    # Every label is counted at once: tests save labels faster than once a second.
    "TRAIN_CHECK_INTERVAL_SECONDS": 0.0,
}

# Whitenoise warns at start-up when the static root is missing.
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)

# SQLite: the test database is a file (in the run's own var folder), as in the embedded default,
# not Django's shared in-memory database. In memory, the browser tests' live server thread
# shares the test thread's one connection, and with it its transaction: a page's write and the
# test's read interleaved inside one transaction ("database table is locked", lost rows). On a
# file each thread has its own connection, with WAL and IMMEDIATE transactions as in production.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(os.environ["TAXOLOOP_VAR_DIR"]) / "test.sqlite3")
    }
