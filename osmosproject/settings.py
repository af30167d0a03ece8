"""One settings module, configured from the environment (and `.env` if present).

Out of the box it runs on SQLite with django-q2's ORM broker: nothing to configure.
"""

import os
import sys
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# --- Core --------------------------------------------------------------------
# Under pytest no environment is needed: the dev key is allowed and tasks run inline.
TESTING = env.bool("TESTING", default="pytest" in sys.modules)
# `make run` writes DEBUG=True there for manage.py commands; the suite never reads it, so a
# developer's .env cannot change what the tests check.
if not TESTING:
    environ.Env.read_env(BASE_DIR / ".env")
DEBUG = env.bool("DEBUG", default=False)
DEV_SECRET_KEY = "dev-insecure-0f9c2e6b7d1a4c8e9b3f5a7d2c4e6f8a"
SECRET_KEY = env("SECRET_KEY", default=DEV_SECRET_KEY)
if SECRET_KEY == DEV_SECRET_KEY and not DEBUG and not TESTING:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "Set SECRET_KEY: the development key is refused when DEBUG is off. For development, "
        "DEBUG=True in .env (the first `make run` writes it) allows it."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # First, so that its `runserver` (which reads chunked bodies) wins over staticfiles'.
    "osmosproject",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "connectors",
    "mailbox",
    "pipelines",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Ingest POSTs from senders answered without the rest of this stack (its docstring says why).
    "pipelines.ingest.lane.IngestLaneMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every request is an audit scope: its configuration changes are recorded with its user.
    "connectors.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "osmosproject.urls"
WSGI_APPLICATION = "osmosproject.wsgi.application"

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
                # `role`, `can_edit`, `is_admin`: the pages hide what a role cannot use.
                "connectors.roles.role_context",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Reusing connections saves a connect (and SQLite's PRAGMAs) on every request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL only, for web processes (django-q2 forks its workers; see docs/deploy.md): each
# process lends its threads connections from a psycopg pool of at most this many (fewer
# connections than threads; a request waits for one). 0: one per thread.
DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=0)
if DATABASE_POOL_SIZE:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DATABASE_POOL_SIZE needs a PostgreSQL DATABASE_URL.")
    # Pooled connections go back to the pool after each request, never kept by a thread.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_SIZE),
        "max_size": DATABASE_POOL_SIZE,
        # A request that gets no connection within this time fails (a 500) rather than hang.
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, with write transactions queued on a file lock (see its docstring).
    DATABASES["default"]["ENGINE"] = "osmosproject.sqlite"
    # The web server and the qcluster workers share one SQLite file. WAL lets readers
    # run beside the writer, IMMEDIATE takes the write lock at BEGIN (no lock upgrade
    # deadlock mid-transaction), and the busy timeout makes writers queue instead of
    # failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
    # A file, not memory, so worker and server subprocesses in tests share the test
    # database; one per test process, so concurrent test runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
# Audit log entries older than this are purged daily.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

# --- Internationalisation, static files ---------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development and tests serve static files straight from the finders, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# --- Security when served for real ---------------------------------------------
# With DEBUG off these defaults make `manage.py check --deploy` clean. They expect HTTPS to
# end at a proxy that sets X-Forwarded-Proto; a trial over plain HTTP on one machine sets
# SECURE_SSL_REDIRECT, SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE to False.
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    # The test client speaks plain HTTP; everything else is sent to HTTPS.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not TESTING)
    # Load balancers and Prometheus probe these over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Asking browsers to preload HSTS for a domain is its owner's decision (SECURE_HSTS_PRELOAD).
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Secrets at rest ----------------------------------------------------------
# Comma-separated Fernet keys, newest first; older ones still decrypt (rotation).
FIELD_ENCRYPTION_KEY = env.list("FIELD_ENCRYPTION_KEY", default=[])
# After a signing secret is rotated, requests carry signatures by the old one too, this long.
SIGNING_SECRET_OVERLAP_HOURS = env.int("SIGNING_SECRET_OVERLAP_HOURS", default=24)

# --- Outbound HTTP -------------------------------------------------------------
ALLOW_PRIVATE_DESTINATIONS = env.bool("ALLOW_PRIVATE_DESTINATIONS", default=False)
# Requests one HTTP destination may have in flight at once (across workers) when its connector
# sets no max_concurrency: one slow destination never holds more workers than this.
DELIVERY_DEFAULT_CONCURRENCY = env.int("DELIVERY_DEFAULT_CONCURRENCY", default=2)
# After an attempt runs into its timeout, the destination's other due deliveries wait this long
# (no worker spends a timeout on each of them while other destinations wait).
DELIVERY_SLOW_PAUSE_SECONDS = env.int("DELIVERY_SLOW_PAUSE_SECONDS", default=30)

# --- Templates (mappings, URLs, headers, bodies) ---------------------------------
# Wall-clock time one render may take; a slower one fails that record with a TemplateError.
TEMPLATE_RENDER_BUDGET_MS = env.int("TEMPLATE_RENDER_BUDGET_MS", default=200)
# All the templates of one batch (an ingest request, a pull page) together.
TEMPLATE_BATCH_BUDGET_MS = env.int("TEMPLATE_BATCH_BUDGET_MS", default=5000)

# --- Ingest ----------------------------------------------------------------------
INGEST_MAX_BODY_BYTES = env.int("INGEST_MAX_BODY_BYTES", default=10 * 1024 * 1024)
INGEST_MAX_RECORDS = env.int("INGEST_MAX_RECORDS", default=10_000)
# Django's own cap would answer 400 before our 413; ingest enforces its own limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = None
INGEST_THROTTLE_RATE = env("INGEST_THROTTLE_RATE", default="6000/min")
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=48)
RUN_RETENTION_DAYS = env.int("RUN_RETENTION_DAYS", default=30)
# Delivered deliveries (their payloads and attempt logs) are kept as long as runs by default.
DELIVERY_RETENTION_DAYS = env.int("DELIVERY_RETENTION_DAYS", default=RUN_RETENTION_DAYS)

# --- REST framework --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # `Authorization: Token <key>`, keys stored hashed (connectors/api_tokens.py).
        "connectors.api_tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Reads need the viewer role, changes the editor role; a view may declare `required_role`.
    "DEFAULT_PERMISSION_CLASSES": ["connectors.roles.RolePermission"],
    # DRF's JSON parser, refusing documents nested deeper than records may be (a 400, not a 500).
    "DEFAULT_PARSER_CLASSES": [
        "connectors.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "ingest": INGEST_THROTTLE_RATE,
        "mailbox": env("MAILBOX_THROTTLE_RATE", default="6000/min"),
        "user": env("API_THROTTLE_RATE", default="6000/min"),
        # POST /api/v1/tokens/ checks a password: few tries per client address.
        "tokens": env("TOKEN_THROTTLE_RATE", default="20/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Super Connector API",
    "DESCRIPTION": "Move records between any HTTP API and any other.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Responses leave out settings that do not apply to a connector's kind.
    "COMPONENT_NO_READ_ONLY_REQUIRED": True,
    # Swagger UI and Redoc from our own static files: the docs work without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Redis carries django-q2's queue when set (else the ORM broker) and the cache below.
REDIS_URL = env("REDIS_URL", default="")

# --- Cache (throttle counters) ---------------------------------------------------
# A connector's rate limit must be one limit, not one per web process: the cache is shared
# by every process. CACHE_URL when given; else the Redis of the workers; else files beside
# the SQLite database (one host, like SQLite itself). Tests keep theirs in memory.
if env("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "superconnector-cache",
        }
    }
else:
    _database = DATABASES["default"]
    _beside = (
        Path(f"{_database['NAME']}-cache")
        if _database["ENGINE"] == "osmosproject.sqlite"
        else BASE_DIR / ".cache"
    )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(_beside),
        }
    }
    # Rate limits are checked on every ingest and mailbox request: their state lives in one
    # memory-mapped file rather than a file per write (connectors/rate_slots.py).
    THROTTLE_STATE_FILE = f"{_beside}.throttle"
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache" and isinstance(
    CACHES["default"]["LOCATION"], str
):
    # With a Redis cache, rate limits live in that Redis as one script per request: exact
    # across hosts, one round trip (connectors/rate_redis.py).
    THROTTLE_REDIS_URL = CACHES["default"]["LOCATION"]

# --- Email (alert channels) -------------------------------------------------------
# EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.com:587) or the EMAIL_HOST family;
# neither set: emails are printed to the console.
if env("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
elif env("EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default=env("EMAIL_USER", default=""))
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default=env("EMAIL_PASSWORD", default=""))
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="alerts@localhost")
EMAIL_TIMEOUT = 10

# --- Background work (django-q2) ---------------------------------------------------
Q_CLUSTER = {
    "name": "superconnector",
    # Two cores: two worker processes; deliveries mostly wait on the network.
    "workers": env.int("Q_WORKERS", default=2),
    # A task that outlives `timeout` is killed; `retry` must be larger or django-q2
    # hands the same task to a second worker while the first still runs.
    "timeout": 1800,  # a long paginated pull; deliveries take seconds
    "retry": 1860,
    # Our tasks record their own failures; django-q2's re-run is only a safety net.
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 250,
    "queue_limit": 50,
    "catch_up": False,
    "poll": 0.5,
    "label": "Workers",
    "sync": env.bool("Q_SYNC", default=TESTING),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Logging and health -------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line, with the ids of runs and deliveries as keys.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("LOG_FORMAT is plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "osmosproject.logs.JsonLinesFormatter"},
    },
    # Every line passes through the redaction of connectors' secrets (docs/security.md).
    "filters": {"secrets": {"()": "osmosproject.logs.RedactSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django-q": {"level": env("Q_LOG_LEVEL", default="WARNING")},
        # urllib3 logs every request's URL, query string (and an API key in it) included, at
        # DEBUG; connectors.http logs each request with its host only.
        "urllib3": {"level": "INFO"},
    },
}
# /healthz fails when no worker finished a task for this long (the sweeper runs every minute).
HEALTHZ_WORKER_MAX_AGE_SECONDS = env.int("HEALTHZ_WORKER_MAX_AGE_SECONDS", default=180)
# When set, /metrics wants `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
