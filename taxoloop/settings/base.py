"""Settings for every environment, read from the environment (django-environ).

The defaults are the embedded, service-free set-up: SQLite under ``var/``, Celery on kombu's
filesystem transport under ``var/``, media under ``var/media``. Production sets ``DEBUG=0``,
``SECRET_KEY``, ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("TAXOLOOP_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

# No code path may reach a model hub at run time: encoders ship inside PyPI packages.
os.environ.setdefault("HF_HUB_OFFLINE", env.str("HF_HUB_OFFLINE", default="1"))
os.environ.setdefault("TRANSFORMERS_OFFLINE", os.environ["HF_HUB_OFFLINE"])

DEBUG = env.bool("DEBUG", default=False)
_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off (e.g. export SECRET_KEY=$(openssl rand -hex 32))"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "labeling",
]

MIDDLEWARE = [
    "labeling.server_timing.ServerTimingMiddleware",
    # Database down → 503, media disk full → 507, with a message and Retry-After (not a 500).
    "labeling.unavailable.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out login's answer into the lockout page/429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "taxoloop.urls"
WSGI_APPLICATION = "taxoloop.wsgi.application"
ASGI_APPLICATION = "taxoloop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'taxoloop.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# A reused connection is tested before a request uses it: after a PostgreSQL restart the first
# request reconnects instead of failing on the dead socket.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default has a web process and workers writing one file at once:
    # - WAL lets the web server read while a worker writes;
    # - the busy timeout rides out another process's write transaction;
    # - IMMEDIATE takes the write lock when a transaction begins. A deferred transaction that
    #   reads and then writes fails at once with "database is locked" when another process
    #   committed in between (SQLite cannot wait there: its snapshot is stale), whatever the
    #   timeout. That lost a review decision while a worker promoted a model (issue 14).
    # Workers keep their write transactions short (no model or queue computation inside one).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=30),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins (django-axes, hooks in labeling/login_lockout.py): after LOGIN_FAILURE_LIMIT
# failures for one (address, username), each within LOGIN_FAILURE_WINDOW_SECONDS of the
# previous, that pair is refused, even with the right password, until the window has passed
# since its last failure. Counted in the database, which every web process shares (the
# default cache is per process); `manage.py axes_reset_username NAME` unlocks early.
AUTHENTICATION_BACKENDS = [
    "labeling.login_lockout.LockoutBackend",  # first: refuses a locked pair before any check
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_FAILURE_WINDOW_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_USERNAME_CALLABLE = "labeling.login_lockout.lockout_username"
AXES_LOCKOUT_CALLABLE = "labeling.login_lockout.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True  # a success clears the pair's count
# Attempts while locked are refused without extending the lock, so the wait shown holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# REMOTE_ADDR only, whatever axes would take from django-ipware: a forwarded header could be
# forged to dodge the count. Behind a proxy all clients share its address: the lock is per name.
AXES_CLIENT_IP_CALLABLE = "labeling.login_lockout.lockout_address"
AXES_DISABLE_ACCESS_LOG = env.bool("AXES_DISABLE_ACCESS_LOG", default=True)  # no row per login
AXES_VERBOSE = False  # no banner on every manage.py start; lockouts are still logged

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploaded files are stored, never executed or rendered: no HTML sniffing by browsers.
SECURE_CONTENT_TYPE_NOSNIFF = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=20 * 1024 * 1024)

# -- Celery ---------------------------------------------------------------------------------
# Cache: shared by the API throttles (and anything else that caches). Per-process memory by
# default; set CACHE_URL=redis://host:6379/1 when several web processes run, or each counts alone.
_CACHE_URL = env.str("CACHE_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
        if _CACHE_URL.startswith(("redis://", "rediss://"))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

_BROKER_DIR = VAR_DIR / "broker"
# Saving a label must not stall on a broker that is down: a publish fails at once (kombu would
# otherwise retry a refused connection for ~6 s, and redis-py wait forever on a dead socket)
# and the periodic tasks re-send what was lost. The worker's own reconnection is governed by
# broker_connection_max_retries and is not affected.
REDIS_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "max_retries": 0,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "out"),
        "data_folder_out": str(_BROKER_DIR / "out"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),  # kombu's default is ./control
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True

# -- Taxoloop ---------------------------------------------------------------------------------
TAXOLOOP = {
    # With several taxonomies, the one pages, training and the queue work on when none is named
    # (labeling.selectors.taxonomy.current_version); empty: the newest published one.
    "TAXONOMY": env.str("TAXOLOOP_TAXONOMY", default=""),
    "TEXT_ENCODER": env.str("TAXOLOOP_TEXT_ENCODER", default="minilm-l6"),
    "IMAGE_ENCODER": env.str("TAXOLOOP_IMAGE_ENCODER", default="effnet-lite0"),
    "DECISION_THRESHOLD": env.float("TAXOLOOP_DECISION_THRESHOLD", default=0.85),
    "MAX_IMAGE_BYTES": env.int("TAXOLOOP_MAX_IMAGE_BYTES", default=20 * 1024 * 1024),
    "MAX_IMAGE_PIXELS": env.int("TAXOLOOP_MAX_IMAGE_PIXELS", default=40_000_000),
    "BULK_CREATE_LIMIT": 1000,
    "QUEUE_LEASE_SECONDS": env.int("TAXOLOOP_QUEUE_LEASE_SECONDS", default=600),
    # A reviewer's skip keeps the item away from them, across sessions and logins, this long.
    "SKIP_REMEMBER_HOURS": env.float("TAXOLOOP_SKIP_REMEMBER_HOURS", default=7 * 24),
    "TRAIN_EVERY_N_LABELS": env.int("TAXOLOOP_TRAIN_EVERY_N_LABELS", default=50),
    # A web process counts the labels towards that at most this often (per taxonomy version).
    "TRAIN_CHECK_INTERVAL_SECONDS": env.float("TAXOLOOP_TRAIN_CHECK_INTERVAL_SECONDS", default=1.0),
    # The learning loop (issue: the loop). Beat's default schedule is in taxoloop/celery.py.
    "TRAIN_EVERY_MINUTES": env.int("TAXOLOOP_TRAIN_EVERY_MINUTES", default=10),
    # The bound on label-to-model latency: beat checks every minute and trains once the oldest
    # label no finished training has seen is this old (0: off; then N labels or the 10 minutes).
    "TRAIN_MAX_LABEL_WAIT_SECONDS": env.int("TAXOLOOP_TRAIN_MAX_LABEL_WAIT_SECONDS", default=120),
    "MIN_LABELS_TO_TRAIN": env.int("TAXOLOOP_MIN_LABELS_TO_TRAIN", default=20),
    # A candidate is promoted unless it is worse than the active model with confidence: the
    # upper end of the 95 % paired-bootstrap interval of its hierarchical F1 minus the active
    # model's, on the same held-out labels, is below minus this margin (0: any sure loss).
    "PROMOTION_MARGIN": env.float("TAXOLOOP_PROMOTION_MARGIN", default=0.0),
    "EMBED_CHUNK_SIZE": env.int("TAXOLOOP_EMBED_CHUNK_SIZE", default=256),
    "RESCORE_CHUNK_SIZE": env.int("TAXOLOOP_RESCORE_CHUNK_SIZE", default=5000),
    # A full rescore is split into up to this many id ranges that workers score in parallel
    # (each of at least two chunks). SQLite takes one writer at a time: one shard there.
    "RESCORE_SHARDS": env.int(
        "TAXOLOOP_RESCORE_SHARDS",
        default=1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 4,
    ),
    "QUEUE_SIZE": env.int("TAXOLOOP_QUEUE_SIZE", default=2000),
    # Items scored one by one (API, item form) wait this long for a queue rebuild, which then
    # takes every item scored meanwhile (labeling/services/review/queue_refresh.py).
    "QUEUE_REFRESH_DELAY_SECONDS": env.int("TAXOLOOP_QUEUE_REFRESH_DELAY_SECONDS", default=15),
    "QUEUE_QUOTAS": {
        "uncertain": 0.35,
        "disagreement": 0.15,
        "boundary": 0.2,
        "novel": 0.1,
        "audit": 0.1,
        "re-review": 0.1,
    },
    # The share of the ranked reasons' part (uncertain, disagreement, boundary, novel) that
    # goes to "typical" (coverage of unlabelled regions): "auto" = the model's expected error
    # on the pool (1 - mean confidence), or a fixed number in [0, 1]; 0 turns it off.
    "QUEUE_TYPICAL": env.str("TAXOLOOP_QUEUE_TYPICAL", default="auto"),
    # A running TrainingRun whose heartbeat is older than this is marked failed by the reaper.
    "STALE_RUN_SECONDS": env.int("TAXOLOOP_STALE_RUN_SECONDS", default=900),
    # A rescore shard silent this long (no chunk finished) lost its worker: beat sends it again.
    "STALE_SHARD_SECONDS": env.int("TAXOLOOP_STALE_SHARD_SECONDS", default=600),
}

# -- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request then gets 401 with "WWW-Authenticate: Token" (DRF
    # takes that header from the first class; SessionAuthentication has none, which gives 403).
    # Session auth still works for the browser and the docs page, with CSRF on unsafe methods.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "labeling.api.authentication.ApiTokenAuthentication",  # hashed, named, expiring
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's three parsers, with JSON nested too deeply refused as a 400 (not a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "labeling.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        # Views with a throttle_scope (labeling/api/throttling.py) are also held to its rate.
        "labeling.api.throttling.ScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
        "login": env.str("THROTTLE_LOGIN", default="10/min"),  # POST /api/token/ per address
        "items-write": env.str("THROTTLE_ITEMS_WRITE", default="600/min"),
        "items-bulk": env.str("THROTTLE_ITEMS_BULK", default="60/min"),  # <= 1,000 items each
        "labels-write": env.str("THROTTLE_LABELS_WRITE", default="1200/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Taxoloop API",
    "DESCRIPTION": "Catalog items, taxonomy versions, the label ledger, predictions and models.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Issue 17: the prediction status is a field of several components (predictions, catalog).
    "ENUM_NAME_OVERRIDES": {"PredictionStatusEnum": "labeling.models.Prediction.Status"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
