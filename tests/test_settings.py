"""Settings come from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; import os; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
    " 'broker': s.CELERY_BROKER_URL, 'media': str(s.MEDIA_ROOT), 'debug': s.DEBUG,"
    " 'hf': os.environ.get('HF_HUB_OFFLINE')}))"
)


def _run(module: str, code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "DATABASE_URL",
                "CELERY_",
                "CACHE_URL",
                "SECRET",
                "DEBUG",
                "HF_",
                "TAXOLOOP_",
                "DJANGO_ALLOW_ASYNC_UNSAFE",
            )
        )
    }
    clean.update({"DJANGO_SETTINGS_MODULE": module, "TAXOLOOP_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_embedded_default_needs_no_services(tmp_path):
    out = json.loads(_run("taxoloop.settings.dev", PROBE, tmp_path).stdout)
    assert out["db"] == "django.db.backends.sqlite3"
    assert out["name"] == str(tmp_path / "taxoloop.sqlite3")
    assert out["broker"] == "filesystem://"
    assert out["media"] == str(tmp_path / "media")
    assert out["hf"] == "1"


def test_database_and_broker_come_from_the_environment(tmp_path):
    result = _run(
        "taxoloop.settings.dev",
        PROBE,
        tmp_path,
        DATABASE_URL="postgres://u@db.example:5432/tl",
        CELERY_BROKER_URL="redis://r:6379/0",
    )
    out = json.loads(result.stdout)
    assert out["db"] == "django.db.backends.postgresql"
    assert out["name"] == "tl"
    assert out["broker"] == "redis://r:6379/0"


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run("taxoloop.settings.production", PROBE, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    code = (
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )
    result = _run(
        "taxoloop.settings.production",
        code,
        tmp_path,
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="taxoloop.example",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_cache_is_per_process_by_default_and_redis_when_configured(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "c = s.CACHES['default']; print(c['BACKEND'], c.get('LOCATION', ''))"
    )
    assert _run("taxoloop.settings.dev", code, tmp_path).stdout.split() == [
        "django.core.cache.backends.locmem.LocMemCache"
    ]
    shared = _run("taxoloop.settings.dev", code, tmp_path, CACHE_URL="redis://cache:6379/1")
    assert shared.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://cache:6379/1",
    ]


def test_worker_delay_hooks_come_from_settings_not_the_environment_in_product_code():
    """Test-only delays (issue 15): only the test settings read the environment."""
    product = [REPO_ROOT / "labeling", REPO_ROOT / "classifier"]
    for root in product:
        for path in root.rglob("*.py"):
            text = path.read_text()
            for name in ("TAXOLOOP_TRAIN_EPOCH_DELAY", "TAXOLOOP_RESCORE_CHUNK_DELAY"):
                assert name not in text, f"{path} reads {name}"


def test_the_test_settings_take_the_worker_delays_from_the_environment():
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "t = settings.TAXOLOOP; "
        "print(t['TRAIN_EPOCH_DELAY_SECONDS'], t['RESCORE_CHUNK_DELAY_SECONDS'])"
    )
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "taxoloop.settings.test",
        "TAXOLOOP_TRAIN_EPOCH_DELAY": "0.1",
        "TAXOLOOP_RESCORE_CHUNK_DELAY": "0.3",
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert out.stdout.split() == ["0.1", "0.3"], out.stderr[-500:]
