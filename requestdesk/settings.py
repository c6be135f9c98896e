"""requestdesk settings: every value comes from the environment (django-environ).

Local defaults need nothing: the embedded SecantusDB on EMBEDDED_MONGO_PORT and Redis on
127.0.0.1:6379, both started by `manage.py services start` (or `./dev up`). Production sets
MONGODB_URI, REDIS_URL, SECRET_KEY, FIELD_ENCRYPTION_KEY and DEBUG=0.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / ".data")))


def _checkout_secret_key(path: Path) -> str:
    """A random key made once per checkout and kept in DATA_DIR (like the admin password):
    a key written in the source would let anyone who reads it forge sessions and JWTs.
    Linked into place atomically, so processes starting together agree on one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(get_random_secret_key())
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DEBUG is off and SECRET_KEY is not set")
    SECRET_KEY = _checkout_secret_key(DATA_DIR / "secret-key")
# Fernet key for secrets stored in the database (LLM provider keys, integration credentials).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
if not DEBUG and not FIELD_ENCRYPTION_KEY:
    raise ImproperlyConfigured("DEBUG is off and FIELD_ENCRYPTION_KEY is not set")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "requestdesk.mongo_apps.MongoAdminConfig",
    "requestdesk.mongo_apps.MongoAuthConfig",
    "requestdesk.mongo_apps.MongoContentTypesConfig",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_mongodb_backend",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "requestdesk.mongo_apps.MongoAxesConfig",
    "requestdesk",
    "tenants",
    "events",
    "content",
    "knowledge",
    "scraping",
    "monitoring",
    "plugins",
    "plugins.task_manager",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "requestdesk.api.middleware.JSONNotFoundMiddleware",  # before CommonMiddleware: sees its redirects
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out admin sign-in into a 429
]

ROOT_URLCONF = "requestdesk.urls"
WSGI_APPLICATION = "requestdesk.wsgi.application"

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

# --- MongoDB -------------------------------------------------------------------------
EMBEDDED_MONGO_PORT = env.int("EMBEDDED_MONGO_PORT", default=27117)
# Read as a plain string: django-environ's db_url would map mongodb:// to a wrong ENGINE.
MONGODB_URI = env.str("MONGODB_URI", default="")
EMBEDDED_MONGO = not MONGODB_URI
if EMBEDDED_MONGO:
    MONGODB_URI = f"mongodb://127.0.0.1:{EMBEDDED_MONGO_PORT}/?directConnection=true"
MONGO_TIMEOUT_MS = env.int("MONGO_TIMEOUT_MS", default=5000)

DATABASES = {
    "default": {
        "ENGINE": "requestdesk.db",
        "HOST": MONGODB_URI,
        "NAME": env.str("MONGODB_NAME", default="requestdesk"),
        # PyMongo's pool per process: a web or worker process holds at most maxPoolSize sockets,
        # keeps minPoolSize warm; socketTimeoutMS 0 means no limit on a single operation.
        "OPTIONS": {
            "maxPoolSize": env.int("MONGODB_MAX_POOL_SIZE", default=50),
            "minPoolSize": env.int("MONGODB_MIN_POOL_SIZE", default=0),
            "serverSelectionTimeoutMS": env.int("MONGODB_SERVER_SELECTION_TIMEOUT_MS", default=MONGO_TIMEOUT_MS),
            "connectTimeoutMS": env.int("MONGODB_CONNECT_TIMEOUT_MS", default=MONGO_TIMEOUT_MS),
            "socketTimeoutMS": env.int("MONGODB_SOCKET_TIMEOUT_MS", default=0),
        },
        "TEST": {"NAME": env.str("MONGODB_TEST_NAME", default="test_requestdesk")},
    }
}
DATABASE_ROUTERS = ["django_mongodb_backend.routers.MongoRouter"]
# Flags of requestdesk.db.features forced over what the server says (JSON), e.g. {"cheap_counts": true}.
DATABASE_CAPABILITIES = env.json("DATABASE_CAPABILITIES", default={})
# Where the server pages in windows (the embedded one), the API's cursor lists and the admin's changelists
# read about this long per page at most: a filter few rows match gives a shorter page whose next link reads
# on, instead of a walk over the whole tenant (requestdesk.db.pages).
LIST_READ_SECONDS = env.float("LIST_READ_SECONDS", default=0.5)
DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
MIGRATION_MODULES = {
    "admin": "migrations_mongo.admin",
    "auth": "migrations_mongo.auth",
    "contenttypes": "migrations_mongo.contenttypes",
    "axes": "migrations_mongo.axes",
}

# --- Redis, cache, Celery ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "requestdesk.cache.RedisCache",  # Django's, a client per pool
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "rd",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# --- Email (events.services.notification_email: notifications, sent by Celery tasks) -------
# Printed to the console in development; SMTP otherwise. The password only from the environment.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="requestdesk <noreply@localhost>")
NOTIFICATION_EMAIL_RETRY_SECONDS = env.int("NOTIFICATION_EMAIL_RETRY_SECONDS", default=60)
NOTIFICATION_EMAIL_MAX_ATTEMPTS = env.int("NOTIFICATION_EMAIL_MAX_ATTEMPTS", default=6)

# --- Auth ----------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
# Axes first: a locked-out account is refused before its password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "tenants.authentication.ActiveCompanyBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
JWT_ACCESS_LIFETIME = timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15))
JWT_REFRESH_LIFETIME = timedelta(days=env.int("JWT_REFRESH_DAYS", default=14))
# Invitations (tenants.services.invitations): how long a mailed invitation works, and the link
# in the mail ("{token}" is replaced by the invitation's token; the page posts it to
# /api/v1/auth/invitations/accept/ with the username and password the invitee chooses).
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
INVITATION_ACCEPT_URL = env.str(
    "INVITATION_ACCEPT_URL", default="http://127.0.0.1:8000/accept-invitation/?token={token}"
)
# Not default=SECRET_KEY: django-environ reads a value starting with "$" as the name of another
# variable, and a generated key starts with "$" one time in 50.
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY
# How long a process caches an authenticated key/user and its company (tenants.services.principals); 0: off.
AUTH_CACHE_SECONDS = env.float("AUTH_CACHE_SECONDS", default=5)
# How long a process keeps what changelists show of their rows' foreign keys (a result's project and
# target) and the superadmin's company filter (requestdesk.admin_lists); a change made elsewhere shows
# within that. 0: read with every page.
ADMIN_RELATED_SECONDS = env.float("ADMIN_RELATED_SECONDS", default=5)
# How long a process keeps the admin dashboard's figures (requestdesk.dashboard); 0: off.
DASHBOARD_CACHE_SECONDS = env.float("DASHBOARD_CACHE_SECONDS", default=30)
LOGIN_URL = "/admin/login/"
# Sign-in with Google / GitHub (tenants.services.oauth): a provider is on when its client id and secret
# are set. The endpoint URLs are the providers' own; tests point them at a local provider.
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
GOOGLE_DISCOVERY_URL = env.str(
    "GOOGLE_DISCOVERY_URL", default="https://accounts.google.com/.well-known/openid-configuration"
)
GITHUB_CLIENT_ID = env.str("GITHUB_CLIENT_ID", default="")
GITHUB_CLIENT_SECRET = env.str("GITHUB_CLIENT_SECRET", default="")
GITHUB_AUTHORIZE_URL = env.str("GITHUB_AUTHORIZE_URL", default="https://github.com/login/oauth/authorize")
GITHUB_TOKEN_URL = env.str("GITHUB_TOKEN_URL", default="https://github.com/login/oauth/access_token")
GITHUB_USER_URL = env.str("GITHUB_USER_URL", default="https://api.github.com/user")
GITHUB_EMAILS_URL = env.str("GITHUB_EMAILS_URL", default="https://api.github.com/user/emails")
OAUTH_TIMEOUT_SECONDS = env.float("OAUTH_TIMEOUT_SECONDS", default=10)

# Per-account lockout (django-axes) after LOGIN_FAILURE_LIMIT wrong passwords in a row, for
# LOGIN_LOCKOUT_MINUTES, counted in the cache (Redis) whichever address they come from; a
# success resets the count. The API's sign-in and the admin's login share it.
AXES_HANDLER = "requestdesk.api.throttling.FailOpenAxesHandler"
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "requestdesk.api.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "tenants.authentication.lockout_response"
AXES_ENABLE_ADMIN = False  # attempts live in Redis, not in collections to browse
AXES_VERBOSE = False
# Not per address too: behind an unconfigured proxy every client shares one; the "auth"
# throttle limits each address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Proxies in front of the app. 0 (the default): X-Forwarded-For and X-Forwarded-Proto are
# ignored, since any client can send them; N: the Nth address from the right of
# X-Forwarded-For is the client (DRF's NUM_PROXIES), and X-Forwarded-Proto says HTTPS.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
if NUM_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiKeyAuthentication",
        "tenants.api.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.api.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "requestdesk.api.pagination.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "requestdesk.api.filters.FilterBackend",
        "requestdesk.api.filters.SearchFilter",
        "requestdesk.api.filters.OrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "requestdesk.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "requestdesk.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "requestdesk.api.schema.AutoSchema",  # JSON bodies; no inherited docstrings
    "DEFAULT_THROTTLE_CLASSES": [
        "requestdesk.api.throttling.AnonRateThrottle",
        "requestdesk.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="1200/min"),
        "auth": env.str("THROTTLE_AUTH", default="20/min"),
        # Writes of usernames and emails, per caller: each answers whether one is taken anywhere.
        "accounts": env.str("THROTTLE_ACCOUNTS", default="60/hour"),
    },
    "EXCEPTION_HANDLER": "requestdesk.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "requestdesk API",
    "DESCRIPTION": "Multi-tenant AI content, knowledge and monitoring backend.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A ticket's priority and an alert rule's ticket_priority are one choice set, one name.
    "ENUM_NAME_OVERRIDES": {"PriorityEnum": "content.models.TicketPriority"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "requestdesk.api.schema.postprocess_schema",  # ObjectId path ids; 400/401/403/404/409/415/429
    ],
}

# --- Outbound HTTP -------------------------------------------------------------------
# Webhooks, scrape targets and connectors refuse private/loopback addresses; tests allow loopback.
OUTBOUND_ALLOW_LOOPBACK = env.bool("OUTBOUND_ALLOW_LOOPBACK", default=False)

# --- Webhooks (events.services.webhooks) ---------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=5)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=10)  # 10, 20, 40, ...
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=5)  # consecutive failed deliveries

# --- Scraping (scraping.services) -----------------------------------------------------
SCRAPING_MAX_BYTES = env.int("SCRAPING_MAX_BYTES", default=5 * 1024 * 1024)  # a bigger page is refused
SCRAPING_MAX_REDIRECTS = env.int("SCRAPING_MAX_REDIRECTS", default=5)
SCRAPING_RETRY_BASE_SECONDS = env.float("SCRAPING_RETRY_BASE_SECONDS", default=1.0)  # 1, 2, 4, ...
SCRAPING_MAX_RETRY_AFTER_SECONDS = env.float("SCRAPING_MAX_RETRY_AFTER_SECONDS", default=60.0)
SCRAPING_DOMAIN_CONCURRENCY = env.int("SCRAPING_DOMAIN_CONCURRENCY", default=2)  # across all workers
SCRAPING_ROBOTS_CACHE_SECONDS = env.int("SCRAPING_ROBOTS_CACHE_SECONDS", default=3600)
SCRAPING_LEASE_SECONDS = env.int("SCRAPING_LEASE_SECONDS", default=600)  # a lost worker's job is taken over after
SCRAPING_RECOVER_SECONDS = env.float("SCRAPING_RECOVER_SECONDS", default=60.0)  # how often lost jobs are looked for
SCRAPING_SEARCH_COUNT_CAP = env.int(
    "SCRAPING_SEARCH_COUNT_CAP", default=200
)  # client-side: a project/target filter with at most this many results reads them all
SCRAPING_SEARCH_MAX_CANDIDATES = env.int(
    "SCRAPING_SEARCH_MAX_CANDIDATES", default=5000
)  # client-side: results read per query
# client-side: a company's results per day (they size the search's date windows) are kept this long per
# process, and its words' empty posting weights too when Redis is unreachable (a result stored by another
# process is then found within it; otherwise they are kept as the pages below are)
SCRAPING_SEARCH_DENSITY_SECONDS = env.float("SCRAPING_SEARCH_DENSITY_SECONDS", default=10.0)
# client-side: the pages its searches walked (ranked ids and count) are kept in Redis until the company's
# results change, at most this long (0: nothing kept)
SCRAPING_SEARCH_PAGE_SECONDS = env.float("SCRAPING_SEARCH_PAGE_SECONDS", default=300.0)
# client-side: the search index's upkeep (beat, this often) rebuilds stale indexes and merges a company's
# segments once this many were written since the last merge (scraping.services.search_index)
SCRAPING_SEARCH_INDEX_SECONDS = env.float("SCRAPING_SEARCH_INDEX_SECONDS", default=60.0)
SCRAPING_SEARCH_SEGMENTS_MERGE = env.int("SCRAPING_SEARCH_SEGMENTS_MERGE", default=500)
# client-side: each process keeps the index's segments of the words it searched, up to this many bytes
# (as long as a page at most; a company's 100,000 results hold ~14 MB of them)
SCRAPING_SEARCH_SEGMENTS_MEMORY = env.int("SCRAPING_SEARCH_SEGMENTS_MEMORY", default=64 << 20)

# --- Knowledge (knowledge app): LLM providers, embeddings, connectors, sync ---------------
KNOWLEDGE_LLM_TIMEOUT_SECONDS = env.float("KNOWLEDGE_LLM_TIMEOUT_SECONDS", default=60)
KNOWLEDGE_LLM_MAX_RETRIES = env.int("KNOWLEDGE_LLM_MAX_RETRIES", default=1)
KNOWLEDGE_EMBEDDING_BATCH = env.int("KNOWLEDGE_EMBEDDING_BATCH", default=256)  # texts per embeddings call
KNOWLEDGE_TORCH_THREADS = env.int("KNOWLEDGE_TORCH_THREADS", default=1)  # per process, for MiniLM
KNOWLEDGE_CROSS_ENCODER_PATH = env.str("KNOWLEDGE_CROSS_ENCODER_PATH", default="")  # local reranker model folder
KNOWLEDGE_CONNECTOR_TIMEOUT_SECONDS = env.float("KNOWLEDGE_CONNECTOR_TIMEOUT_SECONDS", default=30)
KNOWLEDGE_CONNECTOR_MAX_PAGES = env.int("KNOWLEDGE_CONNECTOR_MAX_PAGES", default=1000)
KNOWLEDGE_UPLOAD_MAX_BYTES = env.int("KNOWLEDGE_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
KNOWLEDGE_ATTACHMENT_MAX_BYTES = env.int("KNOWLEDGE_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
KNOWLEDGE_CONVERSATION_SEARCH_MAX_CANDIDATES = env.int("KNOWLEDGE_CONVERSATION_SEARCH_MAX_CANDIDATES", default=5000)
KNOWLEDGE_VECTOR_INDEX_DIMENSIONS = env.int("KNOWLEDGE_VECTOR_INDEX_DIMENSIONS", default=384)  # Atlas only
KNOWLEDGE_VECTOR_CACHE_MB = env.int("KNOWLEDGE_VECTOR_CACHE_MB", default=512)  # per process
KNOWLEDGE_SYNC_LEASE_SECONDS = env.int("KNOWLEDGE_SYNC_LEASE_SECONDS", default=600)  # renewed as items come in
KNOWLEDGE_SYNC_RECOVER_SECONDS = env.float("KNOWLEDGE_SYNC_RECOVER_SECONDS", default=60.0)  # lost syncs looked for
KNOWLEDGE_INGEST_BATCH_ITEMS = env.int("KNOWLEDGE_INGEST_BATCH_ITEMS", default=32)  # items embedded and stored at once
# Stored items an incremental sync asks its source about at once (are they gone?).
KNOWLEDGE_INGEST_GONE_BATCH = env.int("KNOWLEDGE_INGEST_GONE_BATCH", default=500)
# A scraping-sourced collection's sync reads the results new or changed since its previous sync
# began, less this margin (a result stamped just before that moment but stored after it).
MONITORING_SYNC_OVERLAP_SECONDS = env.float("MONITORING_SYNC_OVERLAP_SECONDS", default=60.0)
# A sentiment alert being fired (ticket, notification, event) is taken over by the next
# evaluation when its worker has not finished it within this.
MONITORING_ALERT_FIRING_LEASE_SECONDS = env.float("MONITORING_ALERT_FIRING_LEASE_SECONDS", default=120.0)

# --- Content (content app): the generative pipeline's workers, retention ------------------
CONTENT_LEASE_SECONDS = env.int("CONTENT_LEASE_SECONDS", default=300)  # a dead worker's context is taken over after
# Progress of a running context is written at most this often, as steps and LLM sections end:
# what a dead worker did more than this long before it died is kept for its successor.
CONTENT_CHECKPOINT_SECONDS = env.float("CONTENT_CHECKPOINT_SECONDS", default=1.0)
CONTENT_MAX_RETRIES = env.int("CONTENT_MAX_RETRIES", default=3)  # retries after a failure that may pass
CONTENT_RETRY_BASE_SECONDS = env.float("CONTENT_RETRY_BASE_SECONDS", default=5)  # x 2 ** retry_count
# How long a content worker trusts a pipeline, template, provider or "no webhook listens" it read.
CONTENT_CONFIG_CACHE_SECONDS = env.float("CONTENT_CONFIG_CACHE_SECONDS", default=5)
CONTENT_PENDING_LIMIT = env.int("CONTENT_PENDING_LIMIT", default=100)  # contexts per process_pending run
CONTENT_MAX_BATCH_SIZE = env.int("CONTENT_MAX_BATCH_SIZE", default=500)
CONTENT_RETENTION_DAYS = env.int("CONTENT_RETENTION_DAYS", default=90)
CONTENT_RETENTION_ARCHIVE = env.bool("CONTENT_RETENTION_ARCHIVE", default=True)  # False: remove without archive
# The worker registry (content.services.workers): each task-running process heartbeats into Redis
# this often; it shows as stale after CONTENT_WORKER_STALE_SECONDS without one and is pruned
# after CONTENT_WORKER_EXPIRE_SECONDS (its key expires).
CONTENT_WORKER_HEARTBEAT_SECONDS = env.float("CONTENT_WORKER_HEARTBEAT_SECONDS", default=15)
CONTENT_WORKER_STALE_SECONDS = env.float("CONTENT_WORKER_STALE_SECONDS", default=45)
CONTENT_WORKER_EXPIRE_SECONDS = env.int("CONTENT_WORKER_EXPIRE_SECONDS", default=60)
BACKUP_RETENTION_DAYS = env.float("BACKUP_RETENTION_DAYS", default=7)  # `manage.py backup` prunes older backups
# Soft-deleted rows (requestdesk.soft_delete) are removed for good this many days after their delete.
SOFT_DELETE_RETENTION_DAYS = env.int("SOFT_DELETE_RETENTION_DAYS", default=30)

# --- Beat: every periodic task, in one place ------------------------------------------
# Beat runs a static schedule; what is due is decided by our own schedule documents
# (events.services.scheduling, run by the dispatch-schedules tick). Task names are the
# registered ones (the events tasks and purge_soft_deleted keep their tenants.tasks names).
CELERY_BEAT_SCHEDULE = {
    "dispatch-schedules": {
        "task": "tenants.tasks.dispatch_schedules",
        "schedule": env.float("SCHEDULE_TICK_SECONDS", default=30.0),
    },
    "retry-due-webhook-deliveries": {"task": "tenants.tasks.retry_due_webhook_deliveries", "schedule": 60.0},
    "email-digests-daily": {"task": "tenants.tasks.send_email_digests", "schedule": 86400.0, "args": ["daily"]},
    "email-digests-weekly": {"task": "tenants.tasks.send_email_digests", "schedule": 604800.0, "args": ["weekly"]},
    "retry-due-notification-emails": {"task": "tenants.tasks.retry_due_notification_emails", "schedule": 60.0},
    "scraping-recover-lost-jobs": {"task": "scraping.tasks.recover_lost_jobs", "schedule": SCRAPING_RECOVER_SECONDS},
    "scraping-keep-search-index": {
        "task": "scraping.tasks.keep_search_index",
        "schedule": SCRAPING_SEARCH_INDEX_SECONDS,
    },
    "knowledge-recover-lost-syncs": {
        "task": "knowledge.tasks.recover_lost_syncs",
        "schedule": KNOWLEDGE_SYNC_RECOVER_SECONDS,
    },
    "content-process-pending": {
        "task": "content.tasks.process_pending",
        "schedule": env.float("CONTENT_POLL_SECONDS", default=30.0),
    },
    "content-archive-old": {"task": "content.tasks.archive_old_content", "schedule": 86400.0},
    "purge-soft-deleted": {"task": "tenants.tasks.purge_soft_deleted", "schedule": 86400.0},
    "monitoring-evaluate-alert-rules": {
        "task": "monitoring.tasks.evaluate_rules",
        "schedule": env.float("MONITORING_ALERT_TICK_SECONDS", default=300.0),
    },
}

# --- i18n, static --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_AUTOREFRESH = DEBUG  # serve from the finders in development; no collectstatic needed
# With DEBUG=0 before `manage.py collectstatic` (a checkout run by hand), serve the apps' own
# files under their plain names (requestdesk.staticfiles) instead of failing every page.
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "staticfiles.json").exists()
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "requestdesk.staticfiles.StaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Content archives and backups (requestdesk.archive_storage): a directory, ARCHIVE_ROOT (a named
# volume under docker-compose), or S3-compatible object storage when ARCHIVE_S3_BUCKET is set;
# its credentials come from boto3's own environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
ARCHIVE_ROOT = Path(env.str("ARCHIVE_ROOT", default=str(DATA_DIR / "archives")))
ARCHIVE_S3_BUCKET = env.str("ARCHIVE_S3_BUCKET", default="")
STORAGES["archives"] = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": ARCHIVE_ROOT}}
if ARCHIVE_S3_BUCKET:
    STORAGES["archives"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ARCHIVE_S3_BUCKET,
            "location": env.str("ARCHIVE_S3_PREFIX", default=""),
            "endpoint_url": env.str("ARCHIVE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ARCHIVE_S3_REGION", default="") or None,
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": False,
            "object_parameters": env.json("ARCHIVE_S3_OBJECT_PARAMETERS", default={}),
        },
    }
# Message attachments (knowledge.services.attachments): a directory, ATTACHMENTS_ROOT, or an
# S3-compatible bucket, ATTACHMENTS_S3_BUCKET (same credentials and options as the archives).
ATTACHMENTS_ROOT = Path(env.str("ATTACHMENTS_ROOT", default=str(DATA_DIR / "attachments")))
ATTACHMENTS_S3_BUCKET = env.str("ATTACHMENTS_S3_BUCKET", default="")
STORAGES["attachments"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": ATTACHMENTS_ROOT},
}
if ATTACHMENTS_S3_BUCKET:
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            "location": env.str("ATTACHMENTS_S3_PREFIX", default=""),
            "endpoint_url": env.str("ARCHIVE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ARCHIVE_S3_REGION", default="") or None,
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": False,
        },
    }

SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
# Sessions in the database, read from the cache (no round trip per admin page); see the module.
SESSION_ENGINE = "requestdesk.sessions"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
# HTTPS=1: the site is served over TLS (by this process or by a proxy, NUM_PROXIES): plain
# HTTP is redirected and browsers are told to use HTTPS only (HSTS), with DEBUG=0.
HTTPS = env.bool("HTTPS", default=False)
if HTTPS and not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_REDIRECT_EXEMPT = [r"^health/"]  # the orchestrator's probes speak plain HTTP

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pymongo": {"level": "WARNING"}, "django.db.backends": {"level": "WARNING"}},
}
