"""Quorum settings: every knob reads an environment variable and has a default that works on a laptop."""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QUORUM_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default)
    if value not in ("True", "False"):
        raise ImproperlyConfigured(f"{name} must be 'True' or 'False', got {value!r}")
    return value == "True"


def envint(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


DEBUG = envbool("DEBUG", "False")
# Production refuses to start without a secret from the environment; the laptop default is marked unsafe.
PRODUCTION = envbool("QUORUM_PRODUCTION", "False")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when QUORUM_PRODUCTION=True")
    SECRET_KEY = "insecure-development-key-only-for-local-use-" + "x" * 20
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = os.environ.get("SITE_URL", "")  # empty: export links come from each request's host and port

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    # Lowest first: each app may use the ones above it in this list, never the ones below (docs/architecture.md).
    "core",
    "learning",
    "labeling",
    "data",
    "review",
    "health",
    "projects",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "quorum.urls"
WSGI_APPLICATION = "quorum.wsgi.application"

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
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'quorum.sqlite3'}", conn_max_age=envint("DB_CONN_MAX_AGE", 60)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the timeout waits out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:projects"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"

# Uploads: anything above this gets HTTP 413 at once.
QUORUM_MAX_UPLOAD_BYTES = envint("QUORUM_MAX_UPLOAD_MB", 512) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_MB", 64) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None
QUORUM_MAX_IMAGE_PIXELS = envint("QUORUM_MAX_IMAGE_PIXELS", 40_000_000)
QUORUM_LEASE_SECONDS = envint("QUORUM_LEASE_SECONDS", 600)

# Celery: with no broker configured, a filesystem broker under var/ needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "celery"
    for _sub in ("out", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Kombu's default control folder is ./control, relative to wherever the worker starts: keep it in var/.
        "control_folder": str(_queue_dir / "control"),
        "data_folder_in": str(_queue_dir / "out"),
        "data_folder_out": str(_queue_dir / "out"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only (with a nesting limit): form encodings would turn every value into a string the schema does not
    # allow. The upload endpoints add multipart, JSONL and CSV themselves.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JsonParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Quorum API",
    "DESCRIPTION": "Projects, items, labels, flags, model versions, predictions and exports.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from the vendored sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.document_limits"],
}

SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "True" if PRODUCTION else "False")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Production defaults pass `manage.py check --deploy` (W004, W008, W021); a laptop keeps plain http.
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "True" if PRODUCTION else "False")
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
# A 403 (role too low) is logged as one warning line, without a traceback.
LOGGING["filters"] = {"no_403_traceback": {"()": "quorum.lib.logfilters.NoTracebackFor403"}}
LOGGING["handlers"]["console"]["filters"] = ["no_403_traceback"]

# ---- Production: fault handling and hardening -----------------------------------------------------------
MIDDLEWARE += [
    "quorum.middleware.UploadLimitMiddleware",  # 413 from Content-Length before anything reads the body
    "quorum.middleware.DatabaseUnavailableMiddleware",  # 503 page / API error when the database is down
    # Last, as django-axes asks: turns a locked-out login (any form, the admin's included) into HTTP 429.
    "axes.middleware.AxesMiddleware",
]
# A RUNNING job whose worker has been silent this long is taken to be dead and may be resumed.
QUORUM_JOB_STALE_SECONDS = envint("QUORUM_JOB_STALE_SECONDS", 300)
# A job whose worker died is started again by the beat task at most this many times in all, then failed.
QUORUM_JOB_MAX_ATTEMPTS = envint("QUORUM_JOB_MAX_ATTEMPTS", 3)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # An unacknowledged message (worker killed) goes back to the queue after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600),
        "unacked_restore_interval": min(10, envint("CELERY_VISIBILITY_TIMEOUT", 3600)),
        "unacked_restore_throttle": 1,
    }
CELERY_BEAT_SCHEDULE = {
    "resend-stale-jobs": {"task": "core.tasks.resend_stale_jobs", "schedule": 60.0},
}
# A retrain queued longer than this (or whose send failed) shows "ranking is paused" to annotators.
QUORUM_RANKING_PAUSED_AFTER_SECONDS = envint("QUORUM_RANKING_PAUSED_AFTER_SECONDS", 120)
# Project dashboards: up to this many items a project is counted on every view; above it the page shows a
# snapshot that a background task recounts when it is older than QUORUM_STATS_MAX_AGE_SECONDS.
QUORUM_STATS_EXACT_MAX_ITEMS = envint("QUORUM_STATS_EXACT_MAX_ITEMS", 2000)
QUORUM_STATS_MAX_AGE_SECONDS = envint("QUORUM_STATS_MAX_AGE_SECONDS", 30)

# ---- Item features (issue 15) -----------------------------------------------------------------------------
# Embedder for projects that do not choose one: "default" (HOG+LBP+colour descriptors for images, TF-IDF +
# wordllama for text), "pixels", "descriptors", "tfidf", "tfidf+wordllama", or an ONNX image encoder:
# "onnx:/models/x.onnx?size=224&mean=0.485,0.456,0.406&std=0.229,0.224,0.225". Never downloads anything.
QUORUM_EMBEDDER = os.environ.get("QUORUM_EMBEDDER", "default")

# ---- Ranking fan-out and experiment tracking ------------------------------------------------------------
# Open items are ranked by a Celery chord of chunk tasks of this many items (one task when fewer).
QUORUM_RANK_CHUNK = envint("QUORUM_RANK_CHUNK", 20_000)
# Completed multi-annotator items between two fits of the annotator model (learning.annotators), besides each retrain.
QUORUM_ANNOTATOR_REFIT_EVERY = envint("QUORUM_ANNOTATOR_REFIT_EVERY", 200)
# A chord needs a result backend: Redis when the broker is Redis (chords counted natively), else files
# under var/ (no server; Celery's chord_unlock task then polls the chunk results once a second).
if not CELERY_RESULT_BACKEND:
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        CELERY_RESULT_BACKEND = CELERY_BROKER_URL
    else:
        (VAR_DIR / "celery" / "results").mkdir(parents=True, exist_ok=True)
        CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'celery' / 'results'}"
CELERY_TASK_IGNORE_RESULT = True  # only the chunk tasks keep a result, for their chord
CELERY_RESULT_EXPIRES = 24 * 3600
# Each model version is also logged to MLflow when this is set and the optional mlflow extra is installed.
MLFLOW_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI", "")
MLFLOW_EXPERIMENT_NAME = os.environ.get("MLFLOW_EXPERIMENT_NAME", "quorum")

# Shared cache (every gunicorn worker sees the same entries): Redis when CACHE_URL is set.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "quorum.lib.cache.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
if CACHE_URL:
    # Sessions are read from the shared cache and written through to the database: one query less per
    # request. Only with a shared cache: a per-process cache would let one worker miss another's logout.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
QUORUM_INVITE_DAYS = envint("QUORUM_INVITE_DAYS", 7)
# Import from URLs is off unless switched on; even then never to private, loopback or link-local addresses.
QUORUM_ALLOW_URL_IMPORT = envbool("QUORUM_ALLOW_URL_IMPORT", "False")
QUORUM_URL_IMPORT_MAX_BYTES = envint("QUORUM_URL_IMPORT_MAX_MB", 100) * 1024 * 1024

SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "True" if SECURE_HSTS_SECONDS else "False")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "True" if PRODUCTION and SECURE_HSTS_SECONDS else "False")
if envbool("SECURE_PROXY_SSL_HEADER", "False"):  # behind a TLS-terminating proxy that sets X-Forwarded-Proto
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# ---- Security: login throttle, client address, content security policy, fast-failing task sends ----------
from datetime import timedelta  # noqa: E402
from ipaddress import ip_network  # noqa: E402


def envnetworks(name: str) -> list:
    """Comma-separated addresses or CIDR networks, e.g. ``10.0.0.5,172.18.0.0/16``."""
    networks = []
    for part in filter(None, (p.strip() for p in os.environ.get(name, "").split(","))):
        try:
            networks.append(ip_network(part, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {part!r} is not an IP address or network ({exc})") from exc
    return networks


# X-Forwarded-For is believed only when the request comes from one of these (the reverse proxy); otherwise
# the client address is REMOTE_ADDR, whatever headers the client sends (quorum.lib.client_ip).
QUORUM_TRUSTED_PROXIES = envnetworks("QUORUM_TRUSTED_PROXIES")
# One throttle for every login form (ours and the admin's), by django-axes: a user name is locked out only
# from the address that failed, so an attacker cannot lock a user out everywhere.
QUORUM_LOGIN_MAX_FAILURES = envint("QUORUM_LOGIN_MAX_FAILURES", 10)
QUORUM_LOGIN_WINDOW_SECONDS = envint("QUORUM_LOGIN_WINDOW_SECONDS", 15 * 60)
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = QUORUM_LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = timedelta(seconds=QUORUM_LOGIN_WINDOW_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "quorum.lib.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "quorum.middleware.login_locked_out"
AXES_USERNAME_CALLABLE = "quorum.middleware.login_username"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # counts shared by every web worker
AXES_VERBOSE = False

# Content-Security-Policy (django-csp): scripts only from our own origin, no inline script, no eval (htmx runs
# with allowEval off, see templates/base.html). Inline style attributes stay allowed: the templates use them
# for layout and they cannot run code. Images may be data: URLs. Item images add their own sandbox policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# Broker down: a task send gives up at once (no publish retry, one short connect attempt) so a request that
# enqueues work answers in well under a second; core.jobs records the job as waiting for the queue.
CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS.update({
        "max_retries": 0, "connect_retries_timeout": 0.5, "socket_connect_timeout": 0.5, "socket_timeout": 5,
    })
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 0.5
    CELERY_REDIS_SOCKET_TIMEOUT = 5
# URL imports: the whole download (redirects, headers, body) must end within this many seconds, and after the
# grace period its average rate must stay above the minimum, so a server dripping bytes cannot hold a worker.
QUORUM_URL_IMPORT_DEADLINE_SECONDS = envint("QUORUM_URL_IMPORT_DEADLINE_SECONDS", 600)
QUORUM_URL_IMPORT_MIN_BYTES_PER_SECOND = envint("QUORUM_URL_IMPORT_MIN_BYTES_PER_SECOND", 10 * 1024)
QUORUM_URL_IMPORT_RATE_GRACE_SECONDS = envint("QUORUM_URL_IMPORT_RATE_GRACE_SECONDS", 10)

# Who may create projects: "staff" (staff accounts only), "managers" (staff and anyone who already manages a
# project; the default) or "everyone" (any signed-in user). Others do not see the button and get a 403.
QUORUM_PROJECT_CREATORS = os.environ.get("QUORUM_PROJECT_CREATORS", "managers")
if QUORUM_PROJECT_CREATORS not in ("staff", "managers", "everyone"):
    raise ImproperlyConfigured(f"QUORUM_PROJECT_CREATORS must be staff, managers or everyone, got {QUORUM_PROJECT_CREATORS!r}")
