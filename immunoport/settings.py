"""Django settings, read from the environment.

With nothing set, immunoport runs embedded: SQLite and uploaded files under ./var/
and a task worker started inside `immunoport serve`. DATABASE_URL, STORAGE_URL and
IMMUNOPORT_TASK_BACKEND select the scale path (PostgreSQL, S3-compatible storage,
workers on other machines) with the same code.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

from immunoport.core.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_path,
    env_str,
    storage_from_url,
)

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = env_path("IMMUNOPORT_VAR_DIR", Path.cwd() / "var")


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in ./var/."""
    key = env_str("IMMUNOPORT_SECRET_KEY", "")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("IMMUNOPORT_DEBUG", False)
ALLOWED_HOSTS = env_list("IMMUNOPORT_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("IMMUNOPORT_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "immunoport.accounts",  # before allauth: its templates override allauth's
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.orcid",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "immunoport.core",
    "immunoport.tus",
    "immunoport.workspaces",
    "immunoport.schema",
    "immunoport.studies",
    "immunoport.validation",
    "immunoport.ingest",
    "immunoport.curation",
    "immunoport.releases",
    "immunoport.portal",
    "immunoport.api",
    "immunoport.analysis",
    "immunoport.demo",
    "ninja",  # serves the API docs' Swagger UI from our own static files
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
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "immunoport.accounts.middleware.account_gate",
]

ROOT_URLCONF = "immunoport.urls"
WSGI_APPLICATION = "immunoport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "immunoport.core.navigation.navigation",
                "immunoport.curation.permissions.curation_link",
            ],
        },
    },
]

# Database: SQLite under ./var/ unless DATABASE_URL names another (postgresql://...).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'immunoport.sqlite3'}"),
        conn_max_age=env_int("IMMUNOPORT_DB_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so concurrent writers queue
    # on the busy timeout instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("IMMUNOPORT_SQLITE_TIMEOUT", 30, minimum=1),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The SQLite test database is a real file so threads (live server, concurrent
    # writers) share it; one per process so parallel test runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# File storage: local folder by default; STORAGE_URL=s3://bucket?endpoint_url=... for S3.
MEDIA_ROOT = env_path("IMMUNOPORT_FILES_DIR", VAR_DIR / "files")
MEDIA_URL = "/files/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"  # filled by `immunoport serve` (collectstatic)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": storage_from_url(env_str("STORAGE_URL", "")),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Background tasks: a database queue by default, drained by the worker that
# `immunoport serve` starts (or by `immunoport worker` on other machines).
TASK_BACKEND = env_choice("IMMUNOPORT_TASK_BACKEND", "database", ("database", "immediate"))
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }[TASK_BACKEND],
    }
}

# Uploads: the tus server asks the ingest app who may upload to which package, how much a
# workspace may hold (IMMUNOPORT_WORKSPACE_QUOTA_GB, 0 = no limit), and where a file goes.
TUS_AUTHORIZE = "immunoport.ingest.services.tus_authorize"
TUS_QUOTA = "immunoport.ingest.services.tus_quota"
TUS_ON_COMPLETE = "immunoport.ingest.services.tus_on_complete"
IMMUNOPORT_WORKSPACE_QUOTA_GB = env_int("IMMUNOPORT_WORKSPACE_QUOTA_GB", 0, minimum=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Argon2 for new passwords; older hashes still verify and are upgraded at sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("IMMUNOPORT_LOG_LEVEL", "INFO")},
}

# Caches hold sign-in rate limits and lockouts, so they live in the database that
# every web process and machine shares (created by `migrate`'s createcachetable).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "immunoport_cache",
    },
    # The API's rate-limit counts: in each process's memory by default, so counting
    # never writes to the database; "database" shares them between processes and machines.
    "throttle": (
        {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "immunoport_cache"}
        if env_str("IMMUNOPORT_API_RATE_CACHE", "memory") == "database"
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"}
    ),
}
# Requests per client to the Shared Data API (per IP address anonymously, per token
# or user when signed in): "<number>/<s|m|h|d>".
API_RATE_ANONYMOUS = env_str("IMMUNOPORT_API_RATE_ANONYMOUS", "300/m")
API_RATE_SIGNED_IN = env_str("IMMUNOPORT_API_RATE_SIGNED_IN", "1200/m")

# E-mail: written to files under ./var/mail/ unless an SMTP host is set.
DEFAULT_FROM_EMAIL = env_str("IMMUNOPORT_FROM_EMAIL", "immunoport <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("IMMUNOPORT_SMTP_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("IMMUNOPORT_SMTP_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("IMMUNOPORT_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = env_str("IMMUNOPORT_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("IMMUNOPORT_SMTP_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# Accounts (django-allauth): a username and a confirmed e-mail; new accounts stay
# inactive (pending) until staff approve them.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "workspaces:list"
LOGOUT_REDIRECT_URL = "portal:home"
REGISTRATION_OPEN = env_bool("IMMUNOPORT_REGISTRATION_OPEN", True)
ACCOUNT_ADAPTER = "immunoport.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "immunoport.accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "immunoport.accounts.forms.RegistrationForm"
ACCOUNT_FORMS = {"login": "immunoport.accounts.signin.AgreementLoginForm"}
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[immunoport] "
# Lockout: after 5 failed sign-ins for one account, 15 minutes before the next try.
ACCOUNT_RATE_LIMITS = {
    "login_failed": (
        f"10/m/ip,{env_int('IMMUNOPORT_LOGIN_ATTEMPTS', 5, minimum=1)}"
        f"/{env_int('IMMUNOPORT_LOCKOUT_MINUTES', 15, minimum=1)}m/key"
    ),
}
SOCIALACCOUNT_AUTO_SIGNUP = False  # social sign-ups fill in the registration form too
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False


def _social_providers() -> dict:
    """Google and ORCID sign-in, each switched on by its client ID and secret."""
    providers = {}
    for name, scope in (("google", ["profile", "email"]), ("orcid", ["/authenticate"])):
        client_id = env_str(f"IMMUNOPORT_{name.upper()}_CLIENT_ID", "")
        if client_id:
            providers[name] = {
                "APPS": [
                    {
                        "client_id": client_id,
                        "secret": env_str(f"IMMUNOPORT_{name.upper()}_SECRET", ""),
                    }
                ],
                "SCOPE": scope,
            }
    if "orcid" in providers:
        providers["orcid"]["BASE_DOMAIN"] = env_str("IMMUNOPORT_ORCID_DOMAIN", "orcid.org")
    return providers


SOCIALACCOUNT_PROVIDERS = _social_providers()

# Multi-factor sign-in: TOTP with recovery codes; required of staff and of everyone
# who may write to a workspace, and of every user with IMMUNOPORT_MFA_FOR_ALL=true.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("IMMUNOPORT_SITE_NAME", "immunoport")
MFA_REQUIRED_FOR_ALL = env_bool("IMMUNOPORT_MFA_FOR_ALL", False)

# The data-use agreement is accepted at every sign-in; see accounts.agreement.

# Sessions and cookies: sessions end with the browser or after SESSION_HOURS.
SESSION_COOKIE_AGE = env_int("IMMUNOPORT_SESSION_HOURS", 8, minimum=1) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Behind HTTPS (set IMMUNOPORT_HTTPS=true) cookies are sent only over TLS and
# browsers are told to keep to HTTPS. The embedded default serves plain HTTP on
# 127.0.0.1, where secure cookies would make signing in impossible.
HTTPS = env_bool("IMMUNOPORT_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # the TOTP QR code is a data: URI
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
