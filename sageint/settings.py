"""sageint settings: the one place configuration is read (django-environ, env vars and an optional .env)."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # runtime state of the embedded default (SQLite file, broker folders); git-ignored

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)  # real environment wins over .env

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
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "accounts",
    "connections",
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
    "allauth.account.middleware.AccountMiddleware",
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
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test-db.sqlite3")
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
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
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SITE_URL.startswith("https://"))
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

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
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
# Periodic tasks are added here by the apps that own them (see sageint/celery.py).
CELERY_BEAT_SCHEDULE: dict = {}

# --- Logging: everything to stdout, one line each -------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

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
