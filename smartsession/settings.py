"""The one settings module, for development, tests and production alike.

Every knob is an environment variable with a default that works on a bare machine
(SQLite under var/, the in-memory channel layer). Importing this module never
connects to anything: DATABASE_URL and REDIS_URL are only parsed here.
"""

from __future__ import annotations

import os
from datetime import timedelta
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


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def envint(name: str, default: int) -> int:
    value = os.getenv(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def envfloat(name: str, default: float) -> float:
    value = os.getenv(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None


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
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# --- Behind a TLS proxy (deploy/nginx): see docs/deployment.md -------------------------------------------------
# Origins (scheme://host[:port]) trusted for unsafe requests from another origin, as Django's CSRF check
# reads them. A page on the server's own origin needs none: nginx passes the browser's Host header through.
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
# Trust X-Forwarded-Proto only when a proxy we run is in front and sets it; a client could send it otherwise.
BEHIND_PROXY = envbool("BEHIND_PROXY", "0")
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Production is HTTPS: cookies only over TLS, and plain-HTTP requests redirected. Liveness and readiness
# probes from the machine itself (systemd, monitoring) talk plain HTTP to a Daphne port, so they are exempt.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "0" if DEBUG else "1")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# HSTS tells browsers to use HTTPS only, for this many seconds. 0 (off) by default: once sent it cannot be
# taken back before it expires, so a school turns it on when HTTPS works (docs/deployment.md suggests a year).
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "1")
# Preloading is a decision for whoever owns the school's whole domain, hard to undo, and meaningless on the
# subdomain SmartSession usually runs on; so no preload, and check --deploy's reminder of it is silenced.
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "0")
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# WebSocket handshakes are accepted from the server's own origin (the Host the browser asked for, if it is in
# ALLOWED_HOSTS, with the scheme of the connection) and from these origins, compared by scheme, host and
# port (smartsession/origins.py). By default: CSRF_TRUSTED_ORIGINS, and http://<host>:<PORT> for each
# ALLOWED_HOSTS name, the address `make run` serves, for scripts that name it.
PORT = envint("PORT", 8000)
WEBSOCKET_ALLOWED_ORIGINS = envlist(
    "WEBSOCKET_ALLOWED_ORIGINS",
    ",".join(
        CSRF_TRUSTED_ORIGINS
        + [f"http://{host}:{PORT}" for host in ALLOWED_HOSTS if not host.startswith((".", "*"))]
    ),
)

# The Content-Security-Policy header on every response (smartsession/csp.py): our own scripts, styles and
# sockets only, no inline script, nothing from elsewhere. Data blocks from json_script are not scripts.
# style-src-attr allows style="" attributes, which cannot run code.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The student page of a class with on-device analysis, and only that page, may compile WebAssembly (the face
# model's runtime). 'wasm-unsafe-eval' allows WebAssembly.compile/instantiate and nothing else: no eval(), no
# inline script. The runtime's files are our own static files, so script-src stays 'self'; it runs on the page's
# own thread. The student page's two workers (its frame clock and JPEG encoder) are our own files too: worker-src
# falls back to script-src 'self'.
CONTENT_SECURITY_POLICY_WEBASSEMBLY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'"
)

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
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files from our own static files: no CDN, so /api/docs/ works offline and visits don't leak.
    "drf_spectacular_sidecar",
    "servestatic",
    "classroom",
    "sessions_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "smartsession.csp.content_security_policy",
    # Static files from the app itself, before anything touches the session or the database; in
    # development (DEBUG) straight from the source folders, in production from collectstatic's STATIC_ROOT.
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The recorder's thread, requests and management commands write at once. IMMEDIATE takes the write lock at
    # the start of a transaction, so a writer waits its turn (up to `timeout` seconds) instead of failing at
    # once with "database is locked" when a read in its transaction turns into a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Unset: one process only, which is all `make run` and most tests need. Set: every Daphne
# process shares groups through Redis, so a teacher sees students connected to any process.
REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis, riding out a Redis restart instead of closing every socket (classroom/layers.py).
            "BACKEND": "classroom.layers.ResilientRedisChannelLayer",
            # redis-py 8 times socket reads out after 5 s by default, exactly as long as channels_redis blocks
            # waiting for a message (BZPOPMIN, 5 s): a quiet socket's receive would then fail at random.
            # Its pool allows 100 connections by default; a busy process sending teachers hundreds of updates a
            # second needs more at its peaks (a full pool raises, and those updates are dropped).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 400}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Rate-limit counters (the token endpoint's throttle, join-code guesses) must be shared by every Daphne
# process, so they live in Redis when there is one; one process alone counts in its own memory.
# smartsession.cache lets requests through, uncounted, while Redis is away, rather than failing them.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "smartsession.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "smartsession",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "smartsession"}}

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
    # POST /api/auth/token/ per client address (smartsession/throttles.py); "N/second|minute|hour|day".
    "DEFAULT_THROTTLE_RATES": {"auth_token": os.getenv("SMARTSESSION_TOKEN_RATE", "") or "30/minute"},
    # The client address is REMOTE_ADDR, never a client-sent X-Forwarded-For: behind nginx, Daphne's
    # --proxy-headers already puts the address nginx saw there (deploy/).
    "NUM_PROXIES": 0,
}

# django-axes: after this many failed logins for one username from one address, that pair is refused for the
# lockout time, right password or not. Per pair, because a whole school shares one address behind its NAT:
# locking the address would lock the school out, and locking the name alone lets anyone lock a teacher out
# from anywhere. The attempts are kept in the database (one row per pair, none for good logins), so every
# Daphne process sees them; `manage.py axes_reset_username NAME` lifts a lockout early.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = envint("SMARTSESSION_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("SMARTSESSION_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME <= timedelta(0):
    raise ImproperlyConfigured(
        "SMARTSESSION_LOGIN_FAILURE_LIMIT and SMARTSESSION_LOGIN_LOCKOUT_MINUTES must be at least 1."
    )

# Guesses of a class's join code (classroom/join_limit.py): wrong codes per student, and per client address,
# within the window. The address limit is higher because a class shares one address behind a school's NAT.
SMARTSESSION_JOIN_GUESSES_PER_USER = 10
SMARTSESSION_JOIN_GUESSES_PER_ADDRESS = 100
SMARTSESSION_JOIN_GUESS_WINDOW_S = 600

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
# An active session with no sample for this long belongs to no running stream (a crashed server, a closed laptop)
# and is ended (sessions_app.services.close_stale_sessions). Sampling and resuming must both stay well inside it.
SMARTSESSION_STALE_AFTER_SECONDS = 120
SMARTSESSION_SAMPLE_SECONDS = envint("SMARTSESSION_SAMPLE_SECONDS", 5)
if not 1 <= SMARTSESSION_SAMPLE_SECONDS <= SMARTSESSION_STALE_AFTER_SECONDS // 2:
    raise ImproperlyConfigured(f"SMARTSESSION_SAMPLE_SECONDS must be 1 to {SMARTSESSION_STALE_AFTER_SECONDS // 2}, "
                               f"not {SMARTSESSION_SAMPLE_SECONDS}.")
# A lesson with no student streaming for this long closes itself, at its last stream's end (sessions_app.services).
SMARTSESSION_LESSON_IDLE_MINUTES = envint("SMARTSESSION_LESSON_IDLE_MINUTES", 10)
if SMARTSESSION_LESSON_IDLE_MINUTES < 1:
    raise ImproperlyConfigured(
        f"SMARTSESSION_LESSON_IDLE_MINUTES must be at least 1, not {SMARTSESSION_LESSON_IDLE_MINUTES}."
    )

# A student whose socket drops and comes back to the same server process within this long continues their
# stream (blink count, baselines, neutral pose, session); after it their session ends with its totals.
SMARTSESSION_RESUME_SECONDS = envfloat("SMARTSESSION_RESUME_SECONDS", 30.0)
if not 0 <= SMARTSESSION_RESUME_SECONDS <= SMARTSESSION_STALE_AFTER_SECONDS / 2:
    raise ImproperlyConfigured(f"SMARTSESSION_RESUME_SECONDS must be 0 to {SMARTSESSION_STALE_AFTER_SECONDS // 2}, "
                               f"not {SMARTSESSION_RESUME_SECONDS}.")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The school's time zone (an IANA name such as Europe/Berlin) for dates on pages; storage is always UTC.
TIME_ZONE = os.getenv("TIME_ZONE", "") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `manage.py collectstatic` puts the files a production server serves (ServeStatic, or nginx).
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", "") or VAR_DIR / "static")
# ServeStaticMiddleware: with DEBUG on, files straight from the source folders, re-read on change; off, the
# files in STATIC_ROOT, read once at start-up.
SERVESTATIC_USE_FINDERS = SERVESTATIC_AUTOREFRESH = DEBUG
# With DEBUG off: names with a content hash (cached for a year, safely, since a change is a new name),
# plus gzip copies. JavaScript modules' imports are rewritten to the hashed names too.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "smartsession.storage.HashedStaticFilesStorage"
    },
}
# Front-end packages from npm (package.json, installed by `make setup` with `npm ci`), served as our own
# static files: a CDN would tell a third party each time a student opens a class, and fail offline.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [BASE_DIR / "static"]
if (NODE_MODULES / "uplot" / "dist").is_dir():
    STATICFILES_DIRS.append(("vendor/uplot", NODE_MODULES / "uplot" / "dist"))
# The face model for the browser (on-device analysis): MediaPipe's ES module and its WebAssembly, SIMD and
# no-SIMD builds with their loaders; the package's other 30 MB stay out (smartsession/staticfinders.py).
TASKS_VISION_DIR = NODE_MODULES / "@mediapipe" / "tasks-vision"
STATIC_PACKAGE_FILES = {
    "vendor/tasks-vision": (
        TASKS_VISION_DIR,
        [
            "vision_bundle.mjs",
            "wasm/vision_wasm_internal.js",
            "wasm/vision_wasm_internal.wasm",
            "wasm/vision_wasm_nosimd_internal.js",
            "wasm/vision_wasm_nosimd_internal.wasm",
        ],
    ),
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "smartsession.staticfinders.PackageFilesFinder",
]
# Icons are inlined from single SVG files (classroom/templatetags/icons.py): lucide-static holds thousands.
LUCIDE_ICONS_DIR = NODE_MODULES / "lucide-static" / "icons"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# What the student page sends: frames this many pixels wide (height keeps the camera's aspect), and at most
# this many a second. 10 fps keeps blink counting accurate (docs/vision.md) at a third of 30 fps's cost.
SMARTSESSION_FRAME_WIDTH = envint("SMARTSESSION_FRAME_WIDTH", 640)
if not 160 <= SMARTSESSION_FRAME_WIDTH <= 1920:
    raise ImproperlyConfigured(f"SMARTSESSION_FRAME_WIDTH must be 160 to 1920, not {SMARTSESSION_FRAME_WIDTH}.")
SMARTSESSION_MAX_FPS = envint("SMARTSESSION_MAX_FPS", 10)
if not 1 <= SMARTSESSION_MAX_FPS <= 30:
    raise ImproperlyConfigured(f"SMARTSESSION_MAX_FPS must be 1 to 30, not {SMARTSESSION_MAX_FPS}.")

# Logs go to stderr (journald keeps them under systemd). LOG_FORMAT=json writes one JSON object a line for a
# log collector. Our own loggers are named smartsession.<area> (docs/deployment.md lists them).
LOG_FORMAT = os.getenv("LOG_FORMAT", "") or "plain"
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not one of plain, json.")
LOG_LEVEL = (os.getenv("LOG_LEVEL", "") or "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
        "json": {"()": "smartsession.logs.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default "django" logger, which would print to the console only with DEBUG
        # on and, propagating to root as well, print errors twice.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Failed logins and lockouts (WARNING), with username and address; not every good login (INFO).
        "axes": {"level": "WARNING"},
    },
}
