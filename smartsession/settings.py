"""The one settings module, for development, tests and production alike.

Every knob is an environment variable with a default that works on a bare machine
(SQLite under var/, the in-memory channel layer). Importing this module never
connects to anything: DATABASE_URL and REDIS_URL are only parsed here.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def envint(name: str, default: int) -> int:
    value = os.getenv(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


# On by default so that `make run` on a fresh clone just works; production sets DEBUG=0.
DEBUG = envbool("DEBUG", "1")

SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off. Set SECRET_KEY to a long random string "
            "(for example the output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`), "
            "or set DEBUG=1 for local development."
        )
    # A fixed, obviously insecure key: only ever used with DEBUG on, so sessions survive restarts in development.
    SECRET_KEY = "django-insecure-smartsession-development-key-never-use-in-production"

# Django's test set-up adds "testserver" itself, so it is not needed here.
ALLOWED_HOSTS = [host.strip() for host in os.getenv("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if host.strip()]

INSTALLED_APPS = [
    # First, so that `runserver` is Daphne's ASGI server rather than Django's WSGI one.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files from our own static files: no CDN, so /api/docs/ works offline and visits don't leak.
    "drf_spectacular_sidecar",
    "classroom",
    "sessions_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "smartsession.urls"
ASGI_APPLICATION = "smartsession.asgi.application"

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
                "classroom.context_processors.roles",
            ],
        },
    },
]

# var/ holds everything the running project makes (the SQLite file, a fetched face model); it is not tracked.
VAR_DIR = BASE_DIR / "var"
_DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASE_URL = os.getenv("DATABASE_URL") or _DEFAULT_DATABASE_URL
if DATABASE_URL == _DEFAULT_DATABASE_URL:
    # SQLite creates the file but not its folder; without this a fresh clone's first migrate fails.
    VAR_DIR.mkdir(exist_ok=True)
# CONN_MAX_AGE stays 0: under ASGI each request may run on a different thread, and Django
# closes per-request connections; persistent connections there would pile up.
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Unset: one process only, which is all `make run` and most tests need. Set: every Daphne
# process shares groups through Redis, so a teacher sees students connected to any process.
REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 times socket reads out after 5 s by default, exactly as long as channels_redis blocks
            # waiting for a message (BZPOPMIN, 5 s): a quiet socket's receive would then fail at random.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Threads for face analysis, apart from the event loop and the shared sync thread (see STYLE.md).
VISION_WORKERS = envint("VISION_WORKERS", os.cpu_count() or 1)
if VISION_WORKERS < 1:
    raise ImproperlyConfigured(f"VISION_WORKERS must be at least 1, not {VISION_WORKERS}.")

# Shown here only so operators find it next to the rest: vision/model.py reads the variable itself,
# because vision/ must not import Django.
SMARTSESSION_FACE_MODEL = os.getenv("SMARTSESSION_FACE_MODEL", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# /api/schema/ and /api/docs/ (drf-spectacular).
SPECTACULAR_SETTINGS = {
    "TITLE": "SmartSession API",
    "DESCRIPTION": "Session records of the classroom engagement monitor. Authenticate with the session cookie "
    "(and its CSRF token) or with `Authorization: Token <key>` from /api/auth/token/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Swagger UI would otherwise send our schema's URL to validator.swagger.io for a badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
}

# Ended sessions and their samples older than this are deleted by `manage.py purge_sessions`
# (run it daily from cron); a year covers a school year with room for the report at its end.
SMARTSESSION_RETENTION_DAYS = envint("SMARTSESSION_RETENTION_DAYS", 365)
if SMARTSESSION_RETENTION_DAYS < 0:
    raise ImproperlyConfigured(f"SMARTSESSION_RETENTION_DAYS must be 0 or more, not {SMARTSESSION_RETENTION_DAYS}.")
# How often the live recorder stores a metric sample of each student's session: 720 rows an hour at 5 s,
# fine enough for a chart of a lesson and small enough for a year of classes.
SMARTSESSION_SAMPLE_SECONDS = envint("SMARTSESSION_SAMPLE_SECONDS", 5)
if SMARTSESSION_SAMPLE_SECONDS < 1:
    raise ImproperlyConfigured(f"SMARTSESSION_SAMPLE_SECONDS must be at least 1, not {SMARTSESSION_SAMPLE_SECONDS}.")
# A lesson with no student streaming for this long closes itself, at its last stream's end (sessions_app.services).
SMARTSESSION_LESSON_IDLE_MINUTES = envint("SMARTSESSION_LESSON_IDLE_MINUTES", 10)
if SMARTSESSION_LESSON_IDLE_MINUTES < 1:
    raise ImproperlyConfigured(
        f"SMARTSESSION_LESSON_IDLE_MINUTES must be at least 1, not {SMARTSESSION_LESSON_IDLE_MINUTES}."
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end packages from npm (package.json, installed by `make setup` with `npm ci`), served as our own
# static files: a CDN would tell a third party each time a student opens a class, and fail offline.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [BASE_DIR / "static"]
if (NODE_MODULES / "uplot" / "dist").is_dir():
    STATICFILES_DIRS.append(("vendor/uplot", NODE_MODULES / "uplot" / "dist"))
# Icons are inlined from single SVG files (classroom/templatetags/icons.py): lucide-static holds thousands.
LUCIDE_ICONS_DIR = NODE_MODULES / "lucide-static" / "icons"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# What the student page sends: frames this many pixels wide (height keeps the camera's aspect), and at most
# this many a second. 10 fps keeps blink counting accurate (README, "Vision engine") at a third of 30 fps's cost.
SMARTSESSION_FRAME_WIDTH = envint("SMARTSESSION_FRAME_WIDTH", 640)
if not 160 <= SMARTSESSION_FRAME_WIDTH <= 1920:
    raise ImproperlyConfigured(f"SMARTSESSION_FRAME_WIDTH must be 160 to 1920, not {SMARTSESSION_FRAME_WIDTH}.")
SMARTSESSION_MAX_FPS = envint("SMARTSESSION_MAX_FPS", 10)
if not 1 <= SMARTSESSION_MAX_FPS <= 30:
    raise ImproperlyConfigured(f"SMARTSESSION_MAX_FPS must be 1 to 30, not {SMARTSESSION_MAX_FPS}.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        # Replaces Django's default "django" logger, which would print to the console only with DEBUG
        # on and, propagating to root as well, print errors twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
