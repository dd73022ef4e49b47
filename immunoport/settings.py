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
    "django_tasks",
    "django_tasks_db",
    "immunoport.core",
    "immunoport.accounts",
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
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("IMMUNOPORT_LOG_LEVEL", "INFO")},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspaces:list"
LOGOUT_REDIRECT_URL = "portal:home"
