"""Qinglang settings. Everything that differs between deployments comes from the
environment (see README "Configuration"); nothing here is edited per site."""

from pathlib import Path

import dj_database_url

from .env import ConfigError, env_bool, env_int, env_line, env_list, env_str, parallel_worker_redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent
DATA_DIR = Path(env_str("QINGLANG_DATA_DIR", str(REPO_DIR / "var")))

DEBUG = env_bool("QINGLANG_DEBUG", False)
TESTING = env_bool("QINGLANG_TESTING", False)
# In a parallel test run (pytest-xdist: workers gw0, gw1, …) each worker, and every process
# it starts, keeps its own Redis database (``env.parallel_worker_redis_url``), media
# directory and audit checkpoints (unless set explicitly); pytest-django gives each worker
# its own test database.
TEST_WORKER = (env_str("PYTEST_XDIST_WORKER", "") or "") if TESTING else ""
_secret = env_str("QINGLANG_SECRET_KEY")
if not _secret:
    if not (DEBUG or TESTING or env_bool("QINGLANG_DEMO", False)):
        raise ConfigError("QINGLANG_SECRET_KEY (or QINGLANG_SECRET_KEY_FILE) must be set")
    _secret = "qinglang-insecure-demo-key-do-not-use-in-production"
SECRET_KEY = _secret
# Key of the audit chain (HMAC), kept outside the database so a database writer cannot
# recompute the chain; signed checkpoints of the chain's head go to a directory outside
# the database too (core/audit.py, docs/architecture.md "Audit").
_audit_key = env_str("QINGLANG_AUDIT_KEY")
if not _audit_key:
    if not (TESTING or env_bool("QINGLANG_DEMO", False)):
        raise ConfigError(
            "QINGLANG_AUDIT_KEY (or QINGLANG_AUDIT_KEY_FILE) must be set: the audit chain's key, kept outside the database"
        )
    _audit_key = "qinglang-demo-audit-key-do-not-use-in-production"
AUDIT_KEY = _audit_key.encode("utf-8")
AUDIT_CHECKPOINT_DIR = Path(env_str("QINGLANG_AUDIT_CHECKPOINT_DIR", str(DATA_DIR / "audit-checkpoints")))
if TEST_WORKER and not env_str("QINGLANG_AUDIT_CHECKPOINT_DIR"):
    AUDIT_CHECKPOINT_DIR = AUDIT_CHECKPOINT_DIR / TEST_WORKER
# Key for encrypting personal data at rest (resident ID numbers, reporters' contacts).
FIELD_ENCRYPTION_KEY = env_str("QINGLANG_FIELD_KEY", SECRET_KEY)

ALLOWED_HOSTS = env_list("QINGLANG_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("QINGLANG_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "huey.contrib.djhuey",
    "ninja",
    "qinglang.core",
    "qinglang.accounts",
    "qinglang.registry",
    "qinglang.funds",
    "qinglang.inspections",
    "qinglang.clues",
    "qinglang.enforcement",
    "qinglang.screening",
    "qinglang.risk",
    "qinglang.analytics",
    "qinglang.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "qinglang.core.middleware.RequestIdMiddleware",
    "qinglang.core.middleware.RequestSizeMiddleware",
    "qinglang.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "qinglang.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "qinglang.accounts.middleware.IdleTimeoutMiddleware",
    "qinglang.accounts.middleware.PasswordChangeRequiredMiddleware",
    "qinglang.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "qinglang.config.urls"
WSGI_APPLICATION = "qinglang.config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "qinglang.accounts.context_processors.actor",
                "qinglang.portal.context_processors.shell",
            ],
        },
    }
]

# --- database: SQLite (WAL) by default, PostgreSQL when QINGLANG_DATABASE_URL is set -----
DATABASE_URL = env_str("QINGLANG_DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=0 if TESTING else env_int("QINGLANG_DB_CONN_MAX_AGE", 60)
        )
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # lets parallel test runs on one server use separate test databases
    if env_str("QINGLANG_TEST_DATABASE_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": env_str("QINGLANG_TEST_DATABASE_NAME")}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("QINGLANG_SQLITE_PATH", str(DATA_DIR / "qinglang.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- cache and jobs: local by default, Redis when QINGLANG_REDIS_URL is set ---------------
# "shared" holds what every process must agree on (version keys: core.division_names): the
# Redis cache when configured, else a table of the database (created by core's migration
# 0004), which every web and job process reads alike.
REDIS_URL = env_str("QINGLANG_REDIS_URL")
if REDIS_URL and TEST_WORKER:
    REDIS_URL = parallel_worker_redis_url(REDIS_URL, TEST_WORKER)
SHARED_CACHE_TABLE = "qinglang_cache"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "qinglang",
        },
        # rate limits and login throttles: one count for every worker (core/ratelimit.py)
        "shared": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "qinglang-shared",
        },
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env_str("QINGLANG_HUEY_NAME", "qinglang"),
        "url": REDIS_URL,
        "immediate": TESTING,
        "consumer": {"workers": env_int("QINGLANG_WORKER_THREADS", 2), "worker_type": "thread"},
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # rate limits, login throttles and version keys (core.division_names): one value for
        # every worker process, in the database (table made by migration core 0004)
        "shared": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": SHARED_CACHE_TABLE},
    }
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "qinglang",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": TESTING,
        "consumer": {"workers": env_int("QINGLANG_WORKER_THREADS", 2), "worker_type": "thread"},
    }

# Public whitelist search pages are cached this many seconds, invalidated by any change to
# an institution (qinglang/registry/public_cache.py); 0 turns the cache off.
PUBLIC_SEARCH_CACHE_SECONDS = env_int("QINGLANG_PUBLIC_SEARCH_CACHE_SECONDS", 60)

# A resolved API token (user and scope) is kept this many seconds per web process; a change
# to a user, membership or token clears it in the process that made it, and other processes
# see it within this time. 0: every call reads the database.
API_TOKEN_CACHE_SECONDS = env_int("QINGLANG_API_TOKEN_CACHE_SECONDS", 5)
# an API token stops working this many days after it was made (make a new one)
API_TOKEN_MAX_AGE_DAYS = env_int("QINGLANG_API_TOKEN_MAX_AGE_DAYS", 365)

# --- authentication -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Tests create many users; a fast hasher keeps them quick. Argon2 stays first in
    # production (asserted by a test that reads these settings without TESTING).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "display_name", "email")},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Per client address, across usernames: after this many different usernames failed from
# one address within the window, that address may not try again until the window ends
# (the lockout above stays per account). Generous: a county office shares one address.
LOGIN_IP_MAX_USERNAMES = env_int("QINGLANG_LOGIN_IP_MAX_USERNAMES", 20)
LOGIN_IP_WINDOW_SECONDS = env_int("QINGLANG_LOGIN_IP_WINDOW_SECONDS", 15 * 60)
# Public receipt checks (/verify/…, /api/public/receipts/…) per client address and minute,
# counted by every worker together (core/ratelimit.py)
RECEIPT_VERIFY_PER_MINUTE = env_int("QINGLANG_RECEIPT_VERIFY_PER_MINUTE", 30)
# The header a reverse proxy sets to the client's address (e.g. X-Real-IP), for the
# per-address limits; unset: the connection's address (REMOTE_ADDR).
CLIENT_IP_HEADER = env_str("QINGLANG_CLIENT_IP_HEADER", "")

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours: 15 minutes
AXES_LOCKOUT_PARAMETERS = ["username"]
# Lock the account, not the address: county offices share one NAT address, and locking it
# would shut a whole office out because of one person's typing.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLED = env_bool("QINGLANG_AXES_ENABLED", True)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("QINGLANG_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# behind HTTPS (secure cookies on): HSTS, and the proxy header that says a request came
# over HTTPS (e.g. QINGLANG_PROXY_SSL_HEADER=X-Forwarded-Proto, set only when the proxy
# always sets or strips it)
SECURE_HSTS_SECONDS = env_int("QINGLANG_HSTS_SECONDS", 31536000 if SESSION_COOKIE_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
_proxy_header = env_str("QINGLANG_PROXY_SSL_HEADER", "")
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SESSION_COOKIE_AGE = 14 * 24 * 3600
STAFF_IDLE_TIMEOUT_SECONDS = env_int("QINGLANG_STAFF_IDLE_SECONDS", 30 * 60)
# a staff session ends this long after sign-in, however active (absolute, not idle)
STAFF_SESSION_MAX_SECONDS = env_int("QINGLANG_STAFF_SESSION_MAX_SECONDS", 8 * 3600)
# Two-factor sign-in (TOTP, django-otp): required of the platform admin and regulator
# leaders (they must enrol before anything else), optional for other staff; whoever has
# enrolled is always asked for a code. Required by default in production; off by default
# with QINGLANG_DEMO / QINGLANG_TESTING (the demo and the browser tests sign in with a
# password), and settable either way with QINGLANG_2FA_REQUIRED.
TWO_FACTOR_REQUIRED = env_bool(
    "QINGLANG_2FA_REQUIRED", not (TESTING or env_bool("QINGLANG_DEMO", False) or DEBUG)
)
OTP_TOTP_ISSUER = "清朗监管平台"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- i18n ------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
# The deploying unit named in every page's header (主办单位), e.g. "成都市武侯区教育局".
HOST_UNIT = env_line("QINGLANG_HOST_UNIT")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and uploaded files ------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("QINGLANG_STATIC_ROOT", str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = REPO_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
STATICFILES_DIRS = [d for d in STATICFILES_DIRS if d[1].exists()]
MEDIA_ROOT = Path(env_str("QINGLANG_MEDIA_ROOT", str(DATA_DIR / "media")))  # outside the web root
if TEST_WORKER and not env_str("QINGLANG_MEDIA_ROOT"):
    MEDIA_ROOT = MEDIA_ROOT / TEST_WORKER
WHITENOISE_USE_FINDERS = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# the largest multipart request (the hotline import takes 50 MB files): larger is a 413
QINGLANG_MAX_UPLOAD_BYTES = env_int("QINGLANG_MAX_UPLOAD_BYTES", 60 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("QINGLANG_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50

# The deployment's home division: the public site offers its townships in the area filter.
PUBLIC_DIVISION = env_str("QINGLANG_PUBLIC_DIVISION", "510107")
