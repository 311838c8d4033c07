"""The production stack definition is valid and complete."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE = REPO_ROOT / "docker-compose.yml"


def _compose_command() -> list[str] | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_the_compose_file_defines_the_whole_stack():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"db", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "taxoloop", "worker"]


def test_docker_compose_validates_the_file():
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    env = {**os.environ, "SECRET_KEY": "x", "POSTGRES_PASSWORD": "y"}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_run_without_secrets():
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "POSTGRES_PASSWORD")}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr


# -- production settings: headers, cookies, the health endpoint, the docs ---------------------

PRODUCTION_PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from django.test import Client
c = Client()
secure = c.get("/login/", secure=True, HTTP_HOST="taxoloop.example")
plain = c.get("/login/", HTTP_HOST="taxoloop.example")
health = c.get("/health/", {"components": "database"}, HTTP_HOST="taxoloop.example")
cookie = secure.cookies[s.CSRF_COOKIE_NAME]
print(json.dumps({
    "headers": {k: secure.get(k) for k in ("Strict-Transport-Security", "X-Content-Type-Options",
                "Referrer-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy")},
    "csrf_cookie": {"secure": bool(cookie["secure"]), "samesite": cookie["samesite"]},
    "session": [s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE],
    "plain": [plain.status_code, plain.get("Location")],
    "health": [health.status_code, health.json()],
    "backends": s.AUTHENTICATION_BACKENDS,
}))
"""


def _production(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    keep = ("DATABASE_URL", "CELERY_", "CACHE_URL", "SECRET", "DEBUG", "TAXOLOOP_", "DJANGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(keep)}
    env.update(
        DJANGO_SETTINGS_MODULE="taxoloop.settings.production",
        TAXOLOOP_VAR_DIR=str(tmp_path),
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="taxoloop.example",
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    result = _production(PRODUCTION_PROBE, tmp_path_factory.mktemp("production"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_sends_the_security_headers(production):
    assert production["headers"] == {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def test_production_cookies_are_secure_and_same_site(production):
    assert production["csrf_cookie"] == {"secure": True, "samesite": "Lax"}
    assert production["session"] == [True, True, "Lax"]


def test_production_redirects_plain_http_except_the_health_check(production):
    assert production["plain"] == [301, "https://taxoloop.example/login/"]
    assert production["health"] == [200, {"status": "ok", "components": {"database": "ok"}}]


def test_every_password_check_goes_through_the_login_lockout_first(production):
    assert production["backends"] == [
        "labeling.login_lockout.LockoutBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]


def test_the_web_service_is_health_checked_on_the_health_endpoint():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    check = " ".join(services["web"]["healthcheck"]["test"])
    assert "/health/" in check
    assert "components=database,broker" in check  # a stopped worker must not fail the web


def _settings_env_names() -> set[str]:
    """Every variable the settings read with env.<type>("NAME", ...) or os.environ.get."""
    pattern = re.compile(r"""(?:env(?:\.\w+)?|os\.environ\.(?:get|setdefault))\(\s*"([A-Z_]+)""")
    names: set[str] = set()
    for module in (REPO_ROOT / "taxoloop" / "settings").glob("*.py"):
        names |= set(pattern.findall(module.read_text()))
    return names


def test_the_deployment_docs_name_every_environment_variable():
    docs = (REPO_ROOT / "docs" / "deployment.md").read_text()
    names = _settings_env_names()
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "LOGIN_FAILURE_LIMIT"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in docs)
    assert missing == [], f"docs/deployment.md does not document {missing}"


def test_the_readme_links_the_deployment_docs():
    assert "(docs/deployment.md)" in (REPO_ROOT / "README.md").read_text()
