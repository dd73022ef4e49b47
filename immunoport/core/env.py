"""Typed readers for settings taken from the environment.

Each helper returns a working default when the variable is unset and raises
``ImproperlyConfigured`` naming the variable when it is set to something unusable,
so a bad deployment fails at start instead of at the first request.
"""

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).resolve() if raw else default.resolve()


def storage_from_url(url: str) -> dict:
    """The default file storage named by STORAGE_URL.

    Empty: the local folder (MEDIA_ROOT). ``s3://BUCKET[/PREFIX]?endpoint_url=…&region=…``:
    an S3-compatible object store through django-storages; credentials come from the
    usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables (or an instance role).
    """
    if not url:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    parsed = urlsplit(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ImproperlyConfigured(
            f"STORAGE_URL={url!r} is not usable; use s3://bucket[/prefix]?endpoint_url=…"
        )
    query = dict(parse_qsl(parsed.query))
    unknown = set(query) - {"endpoint_url", "region"}
    if unknown:
        raise ImproperlyConfigured(
            f"STORAGE_URL has unknown options {sorted(unknown)}; known: endpoint_url, region"
        )
    options = {
        "bucket_name": parsed.netloc,
        "location": parsed.path.strip("/"),
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": True,
    }
    if "endpoint_url" in query:
        options["endpoint_url"] = query["endpoint_url"]
    if "region" in query:
        options["region_name"] = query["region"]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
