"""sageint settings: the one place configuration is read (django-environ, env vars and an optional .env)."""

import base64
import hashlib
import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# The real environment wins over the .env file (SAGEINT_ENV_FILE points elsewhere, e.g. for a second instance).
environ.Env.read_env(env.str("SAGEINT_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

# Runtime state of the embedded default (SQLite file, broker and result folders); git-ignored.
VAR_DIR = Path(env.str("SAGEINT_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)

# A development key is only acceptable while DEBUG is on; production must bring its own.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable (or add it to .env); "
            "a development key is only used when DEBUG=1."
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
# Public base URL of this deployment: the OAuth redirect URL and connect links are built from it.
# Default: where `make run` serves (HOST and PORT, 127.0.0.1:8000 unless set).
SITE_URL = env.str(
    "SITE_URL", default=f"http://{env.str('HOST', default='127.0.0.1')}:{env.int('PORT', default=8000)}"
).rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
# The branded "form could not be sent" page (templates/403_csrf.html) instead of Django's developer page.
CSRF_FAILURE_VIEW = "sageint.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before whitenoise: its `runserver` reads chunked request bodies (sageint/request_bodies.py).
    "sageint",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "django_celery_beat",
    "accounts",
    "connections",
    "api",
    "projects",
    "health",
    "workflows",
    "records",
    "webhooks",
    "agents",
    "metrics",  # before django_prometheus: it names the per-process metric files first
    "django_prometheus",
]

MIDDLEWARE = [
    "health.middleware.ProbeMiddleware",  # /healthz, /readyz, /metrics: before host checks and redirects
    "sageint.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "api.middleware.TokenProxyCallMiddleware",  # proxied calls with a user token: none of the browser's below
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "sageint.urls"
WSGI_APPLICATION = "sageint.wsgi.application"

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
                "sageint.context_processors.sandbox",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet; SQLite will not create it
    # Web, worker and beat share one SQLite file: WAL lets readers run beside a writer, the busy
    # timeout waits for a lock instead of failing, and IMMEDIATE transactions take the write lock at
    # BEGIN so two writers never deadlock upgrading a read lock ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
    # A file (not :memory:) so threads of live-server tests take real locks; one per test process, so
    # concurrent runs never share it.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")
# Persistent connections for every engine: opening one (and, on SQLite, running the PRAGMAs above) on each
# request cost more than the rest of a proxied call.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL: a connection pool per process (psycopg_pool) instead of a persistent connection per thread. The pool
# opens connections only while they are in use at once, and the Sage client hands its thread's connection back
# while it waits on Sage (100-300 ms against about a millisecond of queries), so the web server's many threads need
# few connections (see gunicorn.conf.py). The cap defaults to one per web thread: threads waiting for a token
# refresh's row lock each hold theirs, and none may starve the thread that holds the lock. 0: no pool.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=env.int("WEB_THREADS", default=32))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX_SIZE > 0:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        # A thread that cannot get a connection in this time fails its request (500) instead of queueing forever.
        "timeout": env.float("DATABASE_POOL_TIMEOUT_SECONDS", default=10.0),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # pooled connections go back to the pool after each request
    # Django's backend, with a pooled connection's health check that needs no query (sageint/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "sageint.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts (django-allauth) ----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="sageint@localhost")

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
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic` first (production); development serves sources as they are.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SITE_URL.startswith("https://"))
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Plain-http requests are redirected to https when the site is served over https. Probes and the metrics
    # scraper often call the server directly over http: their paths are exempt.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SITE_URL.startswith("https://"))
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    # HSTS makes browsers refuse plain http for this long; browsers remember it, so it is switched on by choice
    # (start small, e.g. 3600, then 31536000). `manage.py check --deploy` passes with no warning once these
    # three are set.
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# --- Celery -----------------------------------------------------------------------------------------
# Embedded default: kombu's filesystem transport, so `make run` needs no server yet work still runs in
# a separate worker process. Production: CELERY_BROKER_URL=redis://…
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "celery" / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
        # Exchange tables of fanout (remote control) messages; kombu's default is ./control in the working folder.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=CELERY_BROKER_URL
    if CELERY_BROKER_URL.startswith("redis")
    else f"file://{VAR_DIR / 'celery' / 'results'}",
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Several sageint instances (or a test run beside a development run) can share one Redis database by each using
# their own queue name.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Beat keeps its schedule (and each entry's last run) in the database (django-celery-beat), so it needs no writable
# folder and any machine can run it; exactly one beat per installation. Entries below are written to the database
# when beat starts; periodic tasks can also be added in the admin (Periodic tasks).
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Only for `celery beat -S celery.beat:PersistentScheduler`, which keeps its state in a file.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
# Periodic tasks are added here by the apps that own them (see sageint/celery.py).
CELERY_BEAT_SCHEDULE: dict = {}
# Beat sends health.heartbeat this often and a worker runs it: /readyz reads both stamps (health/heartbeats.py).
SAGEINT_HEARTBEAT_SECONDS = env.int("SAGEINT_HEARTBEAT_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["health.heartbeat"] = {
    "task": "health.heartbeat",
    "schedule": SAGEINT_HEARTBEAT_SECONDS,
    # A heartbeat that waited longer than its interval proves nothing: drop it rather than run a backlog.
    "options": {"expires": SAGEINT_HEARTBEAT_SECONDS},
}

# --- Logging: everything to stdout, one line each -------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one JSON object per line (time, level, logger, message, request_id, …) for log collectors; plain: for
# people reading a terminal. Every record carries the request id of the web request (or of the request that
# started the Celery task) it belongs to; sageint/logs.py.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "sageint.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "()": "sageint.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s",
        },
        "json": {"()": "sageint.logs.JsonFormatter"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Metrics (Prometheus, /metrics) ---------------------------------------------------------------------
# Every web and worker process writes its counters under this folder and /metrics adds them up (prometheus_client's
# multiprocess mode); the processes of one machine (or containers sharing it as a volume) must share it. Empty: each
# process serves only its own numbers.
SAGEINT_METRICS_DIR = env.str("SAGEINT_METRICS_DIR", default=str(VAR_DIR / "metrics"))
# prometheus_client reads its folder from the environment, in every process that records metrics.
if SAGEINT_METRICS_DIR:
    Path(SAGEINT_METRICS_DIR).mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = SAGEINT_METRICS_DIR
else:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# /metrics answers only with `Authorization: Bearer <token>` when set; without it, only in DEBUG (404 otherwise).
SAGEINT_METRICS_TOKEN = env.str("SAGEINT_METRICS_TOKEN", default="")
# Optionally also only from these networks (comma-separated, e.g. 10.0.0.0/8).
SAGEINT_METRICS_ALLOWED_IPS = env.list("SAGEINT_METRICS_ALLOWED_IPS", default=[])
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- Production web server (gunicorn.conf.py reads these) -------------------------------------------------
# Calls through the proxy spend almost all their time waiting on Sage (100-300 ms, up to the read timeout), so
# each worker process runs many threads: callers waiting on Sage must not queue behind each other.
WEB_BIND = env.str("WEB_BIND", default=f"0.0.0.0:{env.int('PORT', default=8000)}")
WEB_WORKERS = env.int("WEB_WORKERS", default=max(2, os.cpu_count() or 1))
WEB_THREADS = env.int("WEB_THREADS", default=32)
# Keep idle client connections open this long; above a load balancer's own idle timeout (often 60 s).
WEB_KEEPALIVE_SECONDS = env.int("WEB_KEEPALIVE_SECONDS", default=75)
# Restart a worker after this many requests (plus jitter), gracefully; 0 never.
WEB_MAX_REQUESTS = env.int("WEB_MAX_REQUESTS", default=20000)
# Proxies trusted for X-Forwarded-For/-Proto (comma-separated addresses, or * behind a private load balancer).
WEB_FORWARDED_ALLOW_IPS = env.str("WEB_FORWARDED_ALLOW_IPS", default="127.0.0.1,::1")

# Demo data: `bootstrap_demo` prints the demo credentials only in DEBUG or when asked (--print-credentials).
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="sageint-admin")
DEMO_USER_PASSWORD = env.str("DEMO_USER_PASSWORD", default="sageint-demo")

# --- Sage sandbox -------------------------------------------------------------------------------------
# The built-in Sage emulator (sandbox/) is served under /sandbox/ in development and tests; in production
# only when asked for. Its tables always exist so switching it on needs no migration.
SAGE_SANDBOX_ENABLED = env.bool("SAGE_SANDBOX_ENABLED", default=DEBUG)
INSTALLED_APPS.append("sandbox")
# The sandbox's built-in OAuth app: the "development keys" the product falls back to. Its secret is derived
# from SECRET_KEY so no credential is committed; both the sandbox and the product read these two settings.
SAGE_SANDBOX_CLIENT_ID = env.str("SAGE_SANDBOX_CLIENT_ID", default="sageint-sandbox-dev")
SAGE_SANDBOX_CLIENT_SECRET = env.str(
    "SAGE_SANDBOX_CLIENT_SECRET",
    default=__import__("hashlib").sha256(f"sandbox-client:{SECRET_KEY}".encode()).hexdigest()[:40],
)
# Where the sandbox is reached over HTTP (the product never imports it): SITE_URL/sandbox by default.
SAGE_SANDBOX_URL = env.str("SAGE_SANDBOX_URL", default=f"{SITE_URL}/sandbox").rstrip("/")
# Callback URLs registered for the built-in sandbox app (exact match, as at Sage).
SAGE_SANDBOX_CALLBACK_URLS = env.list(
    "SAGE_SANDBOX_CALLBACK_URLS", default=[f"{SITE_URL}/connect/sageaccounting/callback/"]
)
# Sandbox lifetimes default to Sage's; tests shorten them instead of sleeping.
SAGE_SANDBOX_CODE_SECONDS = env.int("SAGE_SANDBOX_CODE_SECONDS", default=60)
SAGE_SANDBOX_ACCESS_TOKEN_SECONDS = env.int("SAGE_SANDBOX_ACCESS_TOKEN_SECONDS", default=300)
SAGE_SANDBOX_REFRESH_TOKEN_SECONDS = env.int("SAGE_SANDBOX_REFRESH_TOKEN_SECONDS", default=2678400)
# Sage-like throttling (requests per 60 s per business); 0 switches it off.
SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = env.int("SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE", default=0)

# Tests that need PostgreSQL, Redis, a Celery worker or chromium fail instead of skipping when this is on (CI's
# second run sets it).
REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)
# Sage's own API description (Swagger files), read only by the sandbox's conformance tests. It is Sage's text,
# kept outside the repository: beside the checkout (../shared/sage-openapi), or one level further up for a git
# worktree kept in a folder of its own. Missing, those tests skip, or fail when REQUIRE_SERVICES is on.
_SAGE_OPENAPI_CANDIDATES = [
    folder / "shared" / "sage-openapi" for folder in (BASE_DIR.parent, BASE_DIR.parent.parent)
]
SAGE_OPENAPI_DIR = Path(
    env.str(
        "SAGE_OPENAPI_DIR",
        default=str(
            next((path for path in _SAGE_OPENAPI_CANDIDATES if path.exists()), _SAGE_OPENAPI_CANDIDATES[0])
        ),
    )
)

# --- Sage connections (connections/) ------------------------------------------------------------------
# Sage's production endpoints; they apply to custom credentials and to development keys from the
# environment. The built-in sandbox mode always uses the sandbox's URLs under SAGE_SANDBOX_URL.
SAGE_AUTH_URL = env.str("SAGE_AUTH_URL", default="https://www.sageone.com/oauth2/auth/central?filter=apiv3.1")
SAGE_TOKEN_URL = env.str("SAGE_TOKEN_URL", default="https://oauth.accounting.sage.com/token")
SAGE_REVOKE_URL = env.str("SAGE_REVOKE_URL", default="https://oauth.accounting.sage.com/revoke")
SAGE_API_URL = env.str("SAGE_API_URL", default="https://api.accounting.sage.com/v3.1").rstrip("/")
# Development keys: used when the admin leaves client ID and secret blank. Unset → the built-in sandbox app.
SAGE_DEV_CLIENT_ID = env.str("SAGE_DEV_CLIENT_ID", default="")
SAGE_DEV_CLIENT_SECRET = env.str("SAGE_DEV_CLIENT_SECRET", default="")

# Fernet keys for secrets at rest (client secret, tokens): comma-separated, newest first. Rotate by putting
# a new key in front and running `manage.py rotate_encryption_keys`; drop the old key afterwards.
SAGEINT_ENCRYPTION_KEYS = env.list("SAGEINT_ENCRYPTION_KEYS", default=[])
if not SAGEINT_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            'SAGEINT_ENCRYPTION_KEYS is not set. Generate a key with `python -c "from cryptography.fernet '
            'import Fernet; print(Fernet.generate_key().decode())"` and set it (comma-separated, newest '
            "first); a development key is only derived when DEBUG=1."
        )
    SAGEINT_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"sageint-encryption:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]

# Connect links: the company signs a JWT for its own user (claims: sub, exp). HS256 with the shared secret
# and/or RS256 with the company's public key (PEM); either may be left unset.
SAGEINT_USER_TOKEN_SECRET = env.str("SAGEINT_USER_TOKEN_SECRET", default="")
# In DEBUG (make run) a development secret is derived when none is set, so `manage.py user_token` and connect links
# work on a fresh clone. Anyone can derive it from the development SECRET_KEY, so its marker prefix is refused with
# DEBUG off (a value copied from a laptop into production would let anyone act for every user).
DEV_USER_TOKEN_SECRET_PREFIX = "dev-only-user-token-"
if SAGEINT_USER_TOKEN_SECRET.startswith(DEV_USER_TOKEN_SECRET_PREFIX) and not DEBUG:
    raise ImproperlyConfigured(
        "SAGEINT_USER_TOKEN_SECRET holds a development secret, which is only accepted when DEBUG=1. Set a secret "
        'of your own (e.g. `python -c "import secrets; print(secrets.token_urlsafe(48))"`).'
    )
SAGEINT_USER_TOKEN_SECRET_IS_DEV = DEBUG and not SAGEINT_USER_TOKEN_SECRET
if SAGEINT_USER_TOKEN_SECRET_IS_DEV:
    SAGEINT_USER_TOKEN_SECRET = (
        DEV_USER_TOKEN_SECRET_PREFIX + hashlib.sha256(f"sageint-user-token:{SECRET_KEY}".encode()).hexdigest()
    )
SAGEINT_USER_TOKEN_PUBLIC_KEY = env.str("SAGEINT_USER_TOKEN_PUBLIC_KEY", multiline=True, default="")
# Longest lifetime (exp minus now) a user token may have; longer-lived tokens are refused. A week: connect links
# are often e-mailed and opened days later (the management API mints them for up to this long).
SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS = env.int(
    "SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS", default=7 * 24 * 3600
)
# How long a browser session opened with a connect link stays bound to that end user.
SAGEINT_CONNECT_LINK_SESSION_SECONDS = env.int("SAGEINT_CONNECT_LINK_SESSION_SECONDS", default=3600)
# Connect sessions (POST /api/v1/connect/sessions): how long their single-use token may wait to be opened.
SAGEINT_CONNECT_SESSION_SECONDS = env.int("SAGEINT_CONNECT_SESSION_SECONDS", default=600)
# The connect portal (the pages users of the company's app see) wears the company's name, logo and colour.
SAGEINT_BRAND_NAME = env.str("SAGEINT_BRAND_NAME", default="")[:100]
SAGEINT_BRAND_LOGO_URL = env.str("SAGEINT_BRAND_LOGO_URL", default="")
SAGEINT_BRAND_COLOR = env.str("SAGEINT_BRAND_COLOR", default="#00815d")
# Both end up in the page (an <img src> and a CSS colour): anything but a plain colour or URL is a mistake.
if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", SAGEINT_BRAND_COLOR):
    raise ImproperlyConfigured(
        f"SAGEINT_BRAND_COLOR must be a hex colour like #00815d, not {SAGEINT_BRAND_COLOR!r}."
    )
if SAGEINT_BRAND_LOGO_URL and not re.match(
    r"(https?://[^\s\"'<>]+|/[^/\s\"'<>][^\s\"'<>]*)$", SAGEINT_BRAND_LOGO_URL
):
    raise ImproperlyConfigured("SAGEINT_BRAND_LOGO_URL must be an http(s) URL or a path starting with '/'.")
# Connect links and OAuth states live in sessions: expired sessions are deleted daily.
CELERY_BEAT_SCHEDULE["accounts.prune_expired_sessions"] = {
    "task": "accounts.prune_expired_sessions",
    "schedule": 24 * 60 * 60,
}
# Connect sessions no browser can be bound to any more are deleted daily (they hold no secret, only a hash).
CELERY_BEAT_SCHEDULE["connections.delete_finished_connect_sessions"] = {
    "task": "connections.delete_finished_connect_sessions",
    "schedule": 24 * 60 * 60,
}
# OAuth `state` lifetime (single use, bound to the browser session).
SAGE_OAUTH_STATE_SECONDS = env.int("SAGE_OAUTH_STATE_SECONDS", default=600)

# Outgoing HTTP to Sage: (connect, read) timeouts and the pool shared by every caller in a process.
SAGE_CONNECT_TIMEOUT_SECONDS = env.float("SAGE_CONNECT_TIMEOUT_SECONDS", default=5.0)
SAGE_READ_TIMEOUT_SECONDS = env.float("SAGE_READ_TIMEOUT_SECONDS", default=30.0)
# One pooled connection per web thread: a thread waiting on Sage beyond the pool's size would have its connection
# discarded afterwards, and the next call would pay a new TCP and TLS handshake.
SAGE_HTTP_POOL_SIZE = env.int("SAGE_HTTP_POOL_SIZE", default=max(20, WEB_THREADS))
# Outgoing proxy for every call to Sage (e.g. http://proxy.internal:3128). HTTP(S)_PROXY in the environment is
# not consulted: the Sage sessions take no configuration from the environment.
SAGE_HTTP_PROXY = env.str("SAGE_HTTP_PROXY", default="")
# Retry policy (connections/retries.py): 5xx and errors after sending are retried for GET/HEAD only; failures to
# connect (nothing sent) for any method; 429 for any method, honouring Retry-After, while the call's total
# wait stays within SAGE_RETRY_MAX_WAIT_SECONDS (a longer Retry-After returns the 429 at once).
SAGE_RETRY_MAX_ATTEMPTS = env.int("SAGE_RETRY_MAX_ATTEMPTS", default=3)
SAGE_RETRY_BACKOFF_SECONDS = env.float("SAGE_RETRY_BACKOFF_SECONDS", default=0.5)
SAGE_RETRY_MAX_WAIT_SECONDS = env.float("SAGE_RETRY_MAX_WAIT_SECONDS", default=10.0)
# Token lifecycle (connections/tokens.py).
SAGE_REFRESH_AHEAD_SECONDS = env.int("SAGE_REFRESH_AHEAD_SECONDS", default=60)
SAGE_REFRESH_MAX_FAILURES = env.int("SAGE_REFRESH_MAX_FAILURES", default=5)
SAGE_REFRESH_LOCK_SECONDS = env.int("SAGE_REFRESH_LOCK_SECONDS", default=60)
# After a failed refresh, wait this long (doubling per consecutive failure, at most 6 h) before trying again;
# SAGE_REFRESH_MAX_FAILURES failures in a row move the connection to "reconnect needed".
SAGE_REFRESH_FAILURE_BACKOFF_SECONDS = env.int("SAGE_REFRESH_FAILURE_BACKOFF_SECONDS", default=300)
# Keep-alive: connections whose refresh token was last rotated longer ago than this are refreshed by beat.
SAGE_KEEPALIVE_AFTER_SECONDS = env.int("SAGE_KEEPALIVE_AFTER_SECONDS", default=20 * 3600)
SAGE_KEEPALIVE_INTERVAL_SECONDS = env.int("SAGE_KEEPALIVE_INTERVAL_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE["connections-keep-alive"] = {
    "task": "connections.keep_connections_alive",
    "schedule": SAGE_KEEPALIVE_INTERVAL_SECONDS,
}
# oauthlib refuses http:// endpoints; the local sandbox is plain http, so allow it only in that case.
SAGE_OAUTH_ALLOW_HTTP = env.bool(
    "SAGE_OAUTH_ALLOW_HTTP", default=SAGE_SANDBOX_ENABLED and SAGE_SANDBOX_URL.startswith("http://")
)
if SAGE_OAUTH_ALLOW_HTTP:
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
# Sage may answer with a scope spelled differently from the request; we record what it granted.
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
# requests-oauthlib logs token bodies at DEBUG: keep its loggers quiet whatever LOG_LEVEL says.
LOGGING["loggers"].update({"requests_oauthlib": {"level": "WARNING"}, "oauthlib": {"level": "WARNING"}})
# The MCP SDK logs the start and stop of its (stateless) session manager at INFO on every /mcp request.
LOGGING["loggers"]["mcp"] = {"level": "WARNING"}

# --- Proxy API (api/) ------------------------------------------------------------------------------------
# Largest request body the proxy accepts (bytes); bigger bodies get 413 before anything is sent to Sage.
SAGEINT_PROXY_MAX_BODY_BYTES = env.int("SAGEINT_PROXY_MAX_BODY_BYTES", default=2 * 1024 * 1024)
# Request-log rows older than this many days are deleted by the daily beat task api.prune_request_log.
SAGEINT_REQUEST_LOG_RETENTION_DAYS = env.int("SAGEINT_REQUEST_LOG_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["api.prune_request_log"] = {"task": "api.prune_request_log", "schedule": 24 * 60 * 60}

# --- Agent tools (HTTP tools API and MCP) -----------------------------------------------------------------
# Largest tool output handed to a model, in bytes of JSON: longer pages lose items from their end.
SAGEINT_TOOL_OUTPUT_MAX_BYTES = env.int("SAGEINT_TOOL_OUTPUT_MAX_BYTES", default=16384)

# --- Workflows (workflows/) ---------------------------------------------------------------------------------
# A "running" run whose heartbeat (written at every step) is older than this is taken as stalled (its worker
# died): it is resumed from its unfinished step, or failed "outcome unknown" when that step was a write already
# on its way. Keep it above the longest step (Sage timeouts times attempts, plus retry waits).
SAGEINT_WORKFLOW_STALL_SECONDS = env.int("SAGEINT_WORKFLOW_STALL_SECONDS", default=300)
SAGEINT_WORKFLOW_RECOVERY_INTERVAL_SECONDS = env.int("SAGEINT_WORKFLOW_RECOVERY_INTERVAL_SECONDS", default=60)
# Finished runs older than this many days are deleted by the daily beat task workflows.prune_runs.
SAGEINT_WORKFLOW_RUN_RETENTION_DAYS = env.int("SAGEINT_WORKFLOW_RUN_RETENTION_DAYS", default=30)
# Sage answers larger than this are not kept on the step run (a marker says so).
SAGEINT_WORKFLOW_MAX_RESPONSE_BYTES = env.int("SAGEINT_WORKFLOW_MAX_RESPONSE_BYTES", default=256 * 1024)
# First wait of a step's opt-in automatic retries (doubling per attempt).
SAGEINT_WORKFLOW_RETRY_BACKOFF_SECONDS = env.float("SAGEINT_WORKFLOW_RETRY_BACKOFF_SECONDS", default=2.0)
# A run held back by "one run at a time per user" is looked at again after this many seconds.
SAGEINT_WORKFLOW_BUSY_RETRY_SECONDS = env.float("SAGEINT_WORKFLOW_BUSY_RETRY_SECONDS", default=2.0)
# Celery queue of workflow runs (blank: the default queue), e.g. to give runs their own workers.
SAGEINT_WORKFLOW_QUEUE = env.str("SAGEINT_WORKFLOW_QUEUE", default="")
CELERY_BEAT_SCHEDULE["workflows.recover_stalled_runs"] = {
    "task": "workflows.recover_stalled_runs",
    "schedule": SAGEINT_WORKFLOW_RECOVERY_INTERVAL_SECONDS,
}
CELERY_BEAT_SCHEDULE["workflows.prune_runs"] = {"task": "workflows.prune_runs", "schedule": 24 * 60 * 60}
# --- Mirrored records and syncs (records/) -----------------------------------------------------------------
# Beat starts a sync of every active connection this often (incremental once a full sync succeeded).
RECORDS_SYNC_INTERVAL_SECONDS = env.int("RECORDS_SYNC_INTERVAL_SECONDS", default=15 * 60)
CELERY_BEAT_SCHEDULE["records.sync_all_connections"] = {
    "task": "records.sync_all_connections",
    "schedule": RECORDS_SYNC_INTERVAL_SECONDS,
}
# Start a sync right after a user connects (a full one) or switches business.
RECORDS_SYNC_ON_CONNECT = env.bool("RECORDS_SYNC_ON_CONNECT", default=True)
# Items per list call (Sage's maximum is 200).
RECORDS_SYNC_ITEMS_PER_PAGE = env.int("RECORDS_SYNC_ITEMS_PER_PAGE", default=200)
# Ask Sage for the next page while the current one is written (a second thread per sync step).
RECORDS_SYNC_READ_AHEAD = env.bool("RECORDS_SYNC_READ_AHEAD", default=True)
# Incremental syncs ask for changes since the last successful sync's start less this margin.
RECORDS_SYNC_OVERLAP_SECONDS = env.int("RECORDS_SYNC_OVERLAP_SECONDS", default=120)
# The per-connection sync lock lapses after this long without progress (a worker that died).
RECORDS_SYNC_LEASE_SECONDS = env.int("RECORDS_SYNC_LEASE_SECONDS", default=300)
# Request budget of syncs per Sage business, shared by every worker: at most N calls per window (0 = off).
# Sage allows about 100 calls a minute per business; the rest is left to live proxy calls.
RECORDS_SYNC_BUDGET_REQUESTS = env.int("RECORDS_SYNC_BUDGET_REQUESTS", default=50)
RECORDS_SYNC_BUDGET_WINDOW_SECONDS = env.float("RECORDS_SYNC_BUDGET_WINDOW_SECONDS", default=60.0)
# Where the budget is counted: Redis when set (default: the broker when it is Redis), the database otherwise.
RECORDS_SYNC_BUDGET_REDIS_URL = env.str(
    "RECORDS_SYNC_BUDGET_REDIS_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "",
)
# A sync step waits out Sage's 429s (per Retry-After) for at most this long in all before failing.
RECORDS_SYNC_MAX_THROTTLE_WAIT_SECONDS = env.float("RECORDS_SYNC_MAX_THROTTLE_WAIT_SECONDS", default=600.0)
# Celery queue of the sync tasks (empty: the default queue), to give syncs their own workers.
RECORDS_SYNC_QUEUE = env.str("RECORDS_SYNC_QUEUE", default="")
# --- Webhooks (webhooks/) --------------------------------------------------------------------------------
# Development only: let endpoints on loopback/private/link-local addresses receive webhooks (never in production).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=DEBUG)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_READ_TIMEOUT_SECONDS = env.float("WEBHOOK_READ_TIMEOUT_SECONDS", default=10.0)
# Waits after each failed attempt (seconds): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, about 27.6 h in all; then
# the delivery is marked failed (Resend in the admin starts again).
WEBHOOK_RETRY_SCHEDULE_SECONDS = env.list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS", cast=int, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
# An endpoint whose attempts have all failed for this long is disabled (with a notice in the admin).
WEBHOOK_DISABLE_AFTER_SECONDS = env.int("WEBHOOK_DISABLE_AFTER_SECONDS", default=5 * 24 * 3600)
# How often beat queues due deliveries (retries, and rows written while the broker was down).
WEBHOOK_DISPATCH_INTERVAL_SECONDS = env.int("WEBHOOK_DISPATCH_INTERVAL_SECONDS", default=15)
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["webhooks.dispatch_due"] = {
    "task": "webhooks.dispatch_due",
    "schedule": WEBHOOK_DISPATCH_INTERVAL_SECONDS,
    # Sweeps that waited (worker down) are dropped: the next one finds every due row anyway.
    "options": {"expires": WEBHOOK_DISPATCH_INTERVAL_SECONDS},
}
CELERY_BEAT_SCHEDULE["webhooks.prune"] = {"task": "webhooks.prune", "schedule": 24 * 60 * 60}
