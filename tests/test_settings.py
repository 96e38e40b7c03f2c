"""smartsession/settings.py, imported fresh in a subprocess with exactly the environment each test gives.

A subprocess because settings are read once per process, and because "no services" has to
mean a clean environment, not whatever the shell running the tests happens to export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Prints the settings the tests look at, as JSON.
PRINT_SETTINGS = """
import json
from smartsession import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SECRET_KEY": s.SECRET_KEY,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "DATABASE": {"ENGINE": s.DATABASES["default"]["ENGINE"], "NAME": str(s.DATABASES["default"]["NAME"]),
                 "HOST": s.DATABASES["default"]["HOST"], "PORT": s.DATABASES["default"]["PORT"]},
    "CHANNEL_LAYERS": s.CHANNEL_LAYERS,
    "VISION_WORKERS": s.VISION_WORKERS,
    "INSTALLED_APPS": s.INSTALLED_APPS,
    "ASGI_APPLICATION": s.ASGI_APPLICATION,
    "USE_TZ": s.USE_TZ,
    "TIME_ZONE": s.TIME_ZONE,
    "CSRF_TRUSTED_ORIGINS": s.CSRF_TRUSTED_ORIGINS,
    "SECURE_PROXY_SSL_HEADER": getattr(s, "SECURE_PROXY_SSL_HEADER", None),
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "WEBSOCKET_ALLOWED_ORIGINS": s.WEBSOCKET_ALLOWED_ORIGINS,
    "STATIC_ROOT": str(s.STATIC_ROOT),
    "CACHE_BACKEND": s.CACHES["default"]["BACKEND"],
}))
"""


def import_settings(**env: str) -> subprocess.CompletedProcess:
    clean_env = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=REPO_ROOT, env=clean_env, capture_output=True, text=True, timeout=60
    )


def load_settings(**env: str) -> dict:
    result = import_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_imports_with_no_environment_at_all():
    settings = load_settings()
    assert settings["DEBUG"] is True
    assert settings["DATABASE"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["DATABASE"]["NAME"] == str(REPO_ROOT / "var" / "db.sqlite3")
    assert settings["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert settings["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert settings["USE_TZ"] is True
    assert settings["TIME_ZONE"] == "UTC"


def test_it_imports_without_connecting_to_the_configured_services():
    # Port 1 has nothing listening: an import that tried to connect would fail.
    settings = load_settings(DATABASE_URL="postgres://nobody@127.0.0.1:1/none", REDIS_URL="redis://127.0.0.1:1/0")
    assert settings["DATABASE"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings["CHANNEL_LAYERS"]["default"]["BACKEND"] == "classroom.layers.ResilientRedisChannelLayer"


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    result = import_settings(DEBUG="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr


def test_it_uses_the_given_secret_key_when_debug_is_off():
    settings = load_settings(DEBUG="0", SECRET_KEY="a-real-secret-from-the-environment")
    assert settings["DEBUG"] is False
    assert settings["SECRET_KEY"] == "a-real-secret-from-the-environment"


def test_it_uses_an_insecure_development_key_only_in_debug():
    settings = load_settings(DEBUG="1")
    assert settings["SECRET_KEY"].startswith("django-insecure-")


def test_it_rejects_a_debug_value_that_is_not_a_boolean():
    result = import_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_it_uses_the_redis_channel_layer_when_redis_url_is_set():
    settings = load_settings(REDIS_URL="redis://127.0.0.1:6379/3")
    assert settings["CHANNEL_LAYERS"]["default"] == {
        "BACKEND": "classroom.layers.ResilientRedisChannelLayer",
        "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:6379/3", "socket_timeout": 15, "max_connections": 400}]},
    }


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("postgres://postgres@127.0.0.1:5432/test", "django.db.backends.postgresql"),
        ("sqlite:////tmp/elsewhere.sqlite3", "django.db.backends.sqlite3"),
    ],
)
def test_it_uses_the_database_in_database_url(url, engine):
    settings = load_settings(DATABASE_URL=url)
    assert settings["DATABASE"]["ENGINE"] == engine


def test_it_reads_postgres_host_port_and_name_from_database_url():
    database = load_settings(DATABASE_URL="postgres://postgres@db.internal:6543/smartsession")["DATABASE"]
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 6543, "smartsession")


def test_it_reads_allowed_hosts_as_a_comma_separated_list():
    settings = load_settings(ALLOWED_HOSTS="class.example.org, .school.example ,")
    assert settings["ALLOWED_HOSTS"] == ["class.example.org", ".school.example"]


def test_it_defaults_vision_workers_to_the_cpu_count():
    assert load_settings()["VISION_WORKERS"] == (os.cpu_count() or 1)


def test_it_reads_vision_workers():
    assert load_settings(VISION_WORKERS="3")["VISION_WORKERS"] == 3


@pytest.mark.parametrize("value", ["0", "lots"])
def test_it_rejects_a_bad_vision_workers(value):
    result = import_settings(VISION_WORKERS=value)
    assert result.returncode != 0
    assert "VISION_WORKERS" in result.stderr


def test_it_installs_daphne_first_and_serves_asgi():
    settings = load_settings()
    assert settings["INSTALLED_APPS"][0] == "daphne"
    assert {"channels", "rest_framework", "rest_framework.authtoken", "classroom", "sessions_app"} <= set(
        settings["INSTALLED_APPS"]
    )
    assert settings["ASGI_APPLICATION"] == "smartsession.asgi.application"


def test_it_is_development_by_default_and_production_with_debug_off():
    development = load_settings()
    assert not development["SESSION_COOKIE_SECURE"] and not development["SECURE_SSL_REDIRECT"]
    production = load_settings(DEBUG="0", SECRET_KEY="a-real-secret-from-the-environment")
    assert production["SESSION_COOKIE_SECURE"] and production["CSRF_COOKIE_SECURE"]
    assert production["SECURE_SSL_REDIRECT"]
    assert production["SECURE_HSTS_SECONDS"] == 0


def test_it_trusts_x_forwarded_proto_only_behind_a_proxy():
    assert load_settings()["SECURE_PROXY_SSL_HEADER"] is None
    assert load_settings(BEHIND_PROXY="1")["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_it_reads_the_production_variables():
    settings = load_settings(
        CSRF_TRUSTED_ORIGINS="https://class.example.org, https://other.example.org:8443",
        SECURE_HSTS_SECONDS="3600", TIME_ZONE="Europe/Berlin", STATIC_ROOT="/srv/static",
    )
    assert settings["CSRF_TRUSTED_ORIGINS"] == ["https://class.example.org", "https://other.example.org:8443"]
    assert settings["SECURE_HSTS_SECONDS"] == 3600
    assert settings["TIME_ZONE"] == "Europe/Berlin"
    assert settings["STATIC_ROOT"] == "/srv/static"


def test_it_derives_the_websocket_origins_from_the_trusted_origins_hosts_and_port():
    assert load_settings()["WEBSOCKET_ALLOWED_ORIGINS"] == [
        "http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000"
    ]
    settings = load_settings(ALLOWED_HOSTS="class.example.org,.example.org", PORT="9000",
                             CSRF_TRUSTED_ORIGINS="https://class.example.org")
    assert settings["WEBSOCKET_ALLOWED_ORIGINS"] == ["https://class.example.org", "http://class.example.org:9000"]
    explicit = load_settings(WEBSOCKET_ALLOWED_ORIGINS="https://a.example.org:8443")
    assert explicit["WEBSOCKET_ALLOWED_ORIGINS"] == ["https://a.example.org:8443"]


def test_it_keeps_rate_limit_counters_in_redis_when_there_is_one():
    assert load_settings()["CACHE_BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert load_settings(REDIS_URL="redis://127.0.0.1:6379/3")["CACHE_BACKEND"] == "smartsession.cache.FailOpenRedisCache"


@pytest.mark.parametrize("variable", ["LOG_FORMAT", "SMARTSESSION_LOGIN_FAILURE_LIMIT"])
def test_it_rejects_a_bad_logging_or_lockout_value(variable):
    result = import_settings(**{variable: "0" if variable.endswith("LIMIT") else "xml"})
    assert result.returncode != 0
    assert variable in result.stderr


@pytest.mark.parametrize("variable, value", [("SMARTSESSION_RESUME_SECONDS", "90"), ("SMARTSESSION_SAMPLE_SECONDS", "61")])
def test_it_refuses_sampling_or_resuming_slower_than_the_stale_session_check(variable, value):
    # A session with no sample for 2 minutes is ended as stale: a stream must sample, and a student resume, well
    # inside that, or a live session would be ended under the student.
    result = import_settings(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and f"{variable} must be" in result.stderr
