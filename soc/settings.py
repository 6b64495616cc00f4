"""Settings for every profile, read from the environment (see soc/env.py).

SOC_PROFILE picks the profile: ``production`` (the default: no defaults for
secrets or hosts; passes ``manage.py check --deploy``), ``dev`` (safe local
defaults, DEBUG on; chosen by ``make dev``) or ``test`` (the real services,
isolated by SOC_NAMESPACE; chosen by ``make test`` and pytest). Failing closed:
a process started without a profile is a production one and refuses to start
without its secrets, rather than serving with DEBUG on and a public key.
"""

from __future__ import annotations

import os
from pathlib import Path

import django_stubs_ext

from soc.env import env_bool, env_int, env_list, env_str

# Lets admin.ModelAdmin[Model] and friends be subscripted at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
PROFILE = env_str("SOC_PROFILE", "production")
PRODUCTION = PROFILE == "production"
# Keeps concurrent test runs (and checkouts) apart on shared Redis/ES/PostgreSQL.
NAMESPACE = env_str("SOC_NAMESPACE", "soc")

if PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise RuntimeError("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must hold at least 50 characters in the "
                           "production profile, the default; for a local run choose a profile: SOC_PROFILE=dev")
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-" + "x" * 40)
DEBUG = env_bool("DJANGO_DEBUG", PROFILE == "dev")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    raise RuntimeError("DJANGO_ALLOWED_HOSTS (or DJANGO_ALLOWED_HOSTS_FILE) must name the hosts this site answers "
                       "to; for a local run choose a profile: SOC_PROFILE=dev")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "soc.apps.SocConfig",
    "organisations",
    "incidents",
    "collectors",
    "detection",
    "readiness",
    "accounts",
    "console",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "soc.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "organisations.middleware.AccessReadOncePerRequestMiddleware",
    "accounts.middleware.UserPreferenceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Threads per web process for synchronous views (soc/asgi.py); processes: SOC_WEB_WORKERS (soc/serve.py).
WEB_THREADS = env_int("SOC_WEB_THREADS", 8)

ROOT_URLCONF = "soc.urls"
ASGI_APPLICATION = "soc.asgi.application"
WSGI_APPLICATION = None

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
                "notifications.context_processors.unread",
            ],
        },
    },
]

_POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": env_str("POSTGRES_DB", "soc"),
    "USER": env_str("POSTGRES_USER", "soc"),
    "PASSWORD": env_str("POSTGRES_PASSWORD", ""),
    "HOST": env_str("POSTGRES_HOST", "127.0.0.1"),
    "PORT": env_str("POSTGRES_PORT", "5432"),
    # Connections come from a pool per process (psycopg_pool), returned at the end of each request: no
    # connection setup per request, and at most POSTGRES_POOL_MAX_SIZE per process whatever the load (a request
    # waits up to POSTGRES_POOL_TIMEOUT seconds for one). Size it against max_connections (docs/scaling.md): the
    # web threads, the async views' database threads (which keep theirs) and two spare. A connection is checked
    # as it leaves the pool, so one that died with a PostgreSQL restart or failover is replaced, not handed out.
    "CONN_MAX_AGE": 0,
    "OPTIONS": {"pool": {"min_size": env_int("POSTGRES_POOL_MIN_SIZE", 1),
                         "max_size": env_int("POSTGRES_POOL_MAX_SIZE",
                                             WEB_THREADS + env_int("SOC_ASYNC_DB_THREADS", 2) + 2),
                         "timeout": env_int("POSTGRES_POOL_TIMEOUT", 20)}},
    "CONN_HEALTH_CHECKS": True,  # with a pool, Django passes ConnectionPool.check_connection as its check
    "TEST": {"NAME": f"test_{NAMESPACE}"},
}
if env_str("SOC_DATABASE", "postgres") == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
else:
    DATABASES = {"default": _POSTGRES}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
ELASTICSEARCH_URL = env_str("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
# Every index this deployment owns starts with this prefix (tests use their own).
ES_INDEX_PREFIX = env_str("SOC_ES_PREFIX", f"{NAMESPACE}-")
ES_REPLICAS = env_int("SOC_ES_REPLICAS", 0)
# Primary shards of each daily events index: 1 on one node, ~1 per 30-50 GB a day on a cluster.
ES_SHARDS = env_int("SOC_ES_SHARDS", 1)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": NAMESPACE,
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{NAMESPACE}:asgi"},
    }
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
# Longer than any countdown or ETA we use; soc.tasks.OnceTask covers the rest.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{NAMESPACE}:",
    "visibility_timeout": env_int("SOC_CELERY_VISIBILITY_TIMEOUT", 3600),
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{NAMESPACE}:"}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

if PROFILE == "test":
    # Tests create many users; a fast hash keeps the suite short (never used outside the test profile).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Outside production, serve static files straight from the source folders.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
MEDIA_ROOT = Path(env_str("SOC_MEDIA_ROOT", str(BASE_DIR / "media")))

REST_FRAMEWORK = {
    # Deny by default: every view states who may use it.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Integrations and service accounts: hashed tokens (organisations.models.ApiToken).
        "organisations.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "soc.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "National SOC platform API",
    "VERSION": "1.0.0",
    # The schema is served to logged-in users and tokens only: no view is AllowAny.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Status",
        "RequestStatusEnum": "incidents.models.RequestStatus",
        "RuleKindEnum": "detection.models.RuleKind",
        "ObservableKindEnum": "incidents.models.ObservableKind",
        "NotificationKindEnum": "notifications.models.Kind",
        "OrganisationKindEnum": "organisations.models.Kind",
    },
}

# Ingest limits: a request over the byte limit is refused before it is read.
INGEST_MAX_BODY_BYTES = env_int("SOC_INGEST_MAX_BODY_BYTES", 10 * 1024 * 1024)
INGEST_MAX_EVENTS = env_int("SOC_INGEST_MAX_EVENTS", 5000)
INGEST_MAX_EVENT_BYTES = env_int("SOC_INGEST_MAX_EVENT_BYTES", 256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES
# The trust boundary (collectors.boundary, collectors.ingest): one event's leaf fields are bounded, and the
# nesting of one the ingest rewrites (dotted keys); the index allows 2,000 fields and 20 levels for everyone. An
# event dated further ahead than the tolerance is refused; one older than the live days (before the start of the
# UTC day that many days back) is back-fill, stored in the arrival month's index.
INGEST_MAX_EVENT_FIELDS = env_int("SOC_INGEST_MAX_EVENT_FIELDS", 1000)
INGEST_MAX_EVENT_DEPTH = env_int("SOC_INGEST_MAX_EVENT_DEPTH", 16)
INGEST_FUTURE_TOLERANCE_SECONDS = env_int("SOC_INGEST_FUTURE_TOLERANCE_SECONDS", 900)
INGEST_BACKFILL_AFTER_DAYS = env_int("SOC_INGEST_BACKFILL_AFTER_DAYS", 3)
# A log file uploaded in the console to be detected on (collectors.BackfillUpload); at most MAX_REQUEST_BYTES.
# Larger sets go through the agent (``--evtx``/``--file`` with ``--once``), which has no such bound.
BACKFILL_UPLOAD_MAX_BYTES = env_int("SOC_BACKFILL_UPLOAD_MAX_BYTES", 25 * 1024 * 1024)
# The console's bulk form posts one field per checked incident (up to incidents.forms.BULK_MAX = 5,000).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5_100
# No request body larger than this is read at all (soc/asgi_limits.py): the
# largest legitimate one is an evidence upload or an ingest batch.
MAX_REQUEST_BYTES = env_int("SOC_MAX_REQUEST_BYTES", 30 * 1024 * 1024)
# Token buckets in events per second (0: no limit), holding INGEST_RATE_BURST_SECONDS of events, so one
# noisy collector or province cannot starve the others; over the limit the answer is 429 with Retry-After.
INGEST_RATE_PER_COLLECTOR = env_int("SOC_INGEST_RATE_PER_COLLECTOR", 5000)
INGEST_RATE_PER_PROVINCE = env_int("SOC_INGEST_RATE_PER_PROVINCE", 20000)
INGEST_RATE_BURST_SECONDS = env_int("SOC_INGEST_RATE_BURST_SECONDS", 5)
# A web process trusts a collector credential it checked for this long (collectors.credentials): a revocation
# holds in every process within this many seconds (at once in the one that made it). 0: checked every request.
INGEST_CREDENTIAL_CACHE_SECONDS = env_int("SOC_INGEST_CREDENTIAL_CACHE_SECONDS", 10)
# Ingest batches a web process decodes and stores at once; the others wait their turn with their bodies unread.
INGEST_BATCHES_IN_FLIGHT = env_int("SOC_INGEST_BATCHES_IN_FLIGHT", 32)
# Threads per web process that keep a PostgreSQL connection for async views' short queries (soc.aio.database).
ASYNC_DB_THREADS = env_int("SOC_ASYNC_DB_THREADS", 2)
# Collector health: no heartbeat for this long is offline; no events for this long is a silent source.
COLLECTOR_OFFLINE_SECONDS = env_int("SOC_COLLECTOR_OFFLINE_SECONDS", 60)
COLLECTOR_SILENT_SECONDS = env_int("SOC_COLLECTOR_SILENT_SECONDS", 3600)
COLLECTOR_DEGRADED_LAG_SECONDS = env_int("SOC_COLLECTOR_DEGRADED_LAG_SECONDS", 300)
# Whole daily event indices older than this are deleted (global: see collectors.services retention).
EVENT_RETENTION_DAYS = env_int("SOC_EVENT_RETENTION_DAYS", 180)
# The published readiness summary (scores and levels of the periods the central lead released) is served to
# anyone, for public announcement; set to false to keep it behind the console login.
READINESS_PUBLIC_SUMMARY = env_bool("SOC_READINESS_PUBLIC_SUMMARY", True)
DETECTION_INTERVAL_SECONDS = env_int("SOC_DETECTION_INTERVAL_SECONDS", 5)
# Each rule search stops on the server after this long (the run is recorded as timed out and its window read
# again); the client gives up on a whole batch (_msearch of up to 50 rules) after the request timeout.
DETECTION_SEARCH_TIMEOUT_SECONDS = env_int("SOC_DETECTION_SEARCH_TIMEOUT_SECONDS", 10)
DETECTION_REQUEST_TIMEOUT_SECONDS = env_int("SOC_DETECTION_REQUEST_TIMEOUT_SECONDS", 60)
# Back-filled events are read by arrival this long after it: the ingest stamps event.ingested before it writes.
DETECTION_BACKFILL_SETTLE_SECONDS = env_int("SOC_DETECTION_BACKFILL_SETTLE_SECONDS", 30)
# Sigma and indicator runs re-read their look-back only for events that arrived this recently (or are dated after
# the last run): longer than an event takes from its arrival stamp to being searchable (write + refresh).
DETECTION_ARRIVAL_SLACK_SECONDS = env_int("SOC_DETECTION_ARRIVAL_SLACK_SECONDS", 60)
# Rule runs are kept one row each this long; older ones are folded into one row per rule and day.
DETECTION_RUN_KEEP_DAYS = env_int("SOC_DETECTION_RUN_KEEP_DAYS", 7)

# Console (issue 6): export size, sign-in hardening, outgoing mail.
SOC_EXPORT_MAX_ROWS = env_int("SOC_EXPORT_MAX_ROWS", 100_000)
# One export at a time per user: the lock lives this long after the export's last page (a crashed process frees
# it by itself); each page read renews it.
SOC_EXPORT_LOCK_SECONDS = env_int("SOC_EXPORT_LOCK_SECONDS", 120)
# Every user search (console, exports, dashboards, API) stops on the server after this long and returns what it
# found so far, marked partial; the client gives up a few seconds later and does not retry.
SOC_SEARCH_TIMEOUT_SECONDS = env_int("SOC_SEARCH_TIMEOUT_SECONDS", 15)
# Result pages the console keeps open per user between requests (points in time, 5 minutes each); opening one
# more closes the oldest, whose "older events" link then asks for a new search.
SOC_SEARCH_PITS_PER_USER = env_int("SOC_SEARCH_PITS_PER_USER", 3)
# /healthz shows each component (and its error) to staff and to callers with this bearer token (empty: none);
# everyone else gets the overall status only.
SOC_HEALTHZ_TOKEN = env_str("SOC_HEALTHZ_TOKEN", "")
# /metrics (Prometheus, soc/metrics.py) answers only callers with this bearer token; empty: the endpoint is 404.
# Its answer is computed from Elasticsearch, PostgreSQL and Redis at most once per this many seconds, for all replicas.
SOC_METRICS_TOKEN = env_str("SOC_METRICS_TOKEN", "")
SOC_METRICS_CACHE_SECONDS = env_int("SOC_METRICS_CACHE_SECONDS", 0 if PROFILE == "test" else 10)
# Users with the same scope share dashboard figures this long (0: always computed; the test default).
SOC_DASHBOARD_CACHE_SECONDS = env_int("SOC_DASHBOARD_CACHE_SECONDS", 0 if PROFILE == "test" else 15)
# Header a trusted reverse proxy sets with the client address (e.g. X-Forwarded-For); empty: REMOTE_ADDR.
SOC_TRUSTED_PROXY_HEADER = env_str("SOC_TRUSTED_PROXY_HEADER", "")
# One door (accounts): roles whose users must sign in with a second factor (staff always must; unknown names
# fail `manage.py check`). The Django admin signs no one in itself (it sends staff to the console's sign-in)
# and is not routed at all in production unless SOC_ADMIN_ENABLED turns it on.
SOC_TOTP_REQUIRED_ROLES = env_list("SOC_TOTP_REQUIRED_ROLES", "central_lead,central_analyst,auditor,provincial_admin"
                                   if PRODUCTION else "")
SOC_ADMIN_ENABLED = env_bool("SOC_ADMIN_ENABLED", not PRODUCTION)
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION
                        else "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("SMTP_HOST", "localhost")
EMAIL_PORT = env_int("SMTP_PORT", 587)
EMAIL_HOST_USER = env_str("SMTP_USER", "")
EMAIL_HOST_PASSWORD = env_str("SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SMTP_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("SOC_FROM_EMAIL", "soc@localhost")

# Sessions read from Redis on every request, written through to PostgreSQL (which outlives a Redis flush):
# an ORM query less on every page. Ending a session (logout, deactivation) deletes it from both.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # TLS ends at the load balancer, which sets this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SOC_LOG_LEVEL", "INFO")},
    "loggers": {
        # One line per Elasticsearch request drowns everything else.
        "elastic_transport": {"level": "WARNING"},
        # The client's request trace: it turns itself off (propagate False, no handler), but configuring its parent
        # above turns an already imported child back on, and then every request decodes its whole body and answer
        # into a debug message that is dropped (9 % of an ingest worker's time under the capacity benchmark).
        "elastic_transport.node": {"level": "WARNING", "propagate": False},
    },
}
