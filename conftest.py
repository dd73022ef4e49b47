"""Fixtures shared by every app's tests."""

import os
import shutil
import time

import pyotp
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth.models import User
from django.core.cache import cache

from immunoport.accounts import agreement
from immunoport.accounts.mfa import mfa_required
from immunoport.accounts.models import DataUseAgreement
from immunoport.releases.tests.demo import released_demo
from immunoport.workspaces.models import Workspace

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session", autouse=True)
def _files_in_a_temporary_folder(tmp_path_factory):
    """Stored files (snapshots, documents) of the whole run go to a temporary folder,
    never to the checkout's var/ of a developer's own data."""
    from django.conf import settings

    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("files"))


@pytest.fixture(autouse=True)
def _database_baseline(request):
    """Every test that uses the database starts from what migrations leave there.

    The cache (sign-in counts, cached figures) lives in the database and is emptied;
    the data-use agreement that a migration publishes is put back, since tests that
    commit (live server, browser) end by flushing every table.
    """
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if names & {"transactional_db", "live_server"} or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker:
        request.getfixturevalue("db")
    else:
        return
    cache.clear()
    DataUseAgreement.objects.get_or_create(
        version=1, defaults={"text": "Use the data for research only; never re-identify anyone."}
    )


@pytest.fixture(scope="module")
def demo_release(tmp_path_factory, django_db_setup, django_db_blocker):
    """The demo studies released as DR1, once per test module (see released_demo)."""
    yield from released_demo(tmp_path_factory, django_db_blocker)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is slow on purpose; tests that are not about hashing use a fast hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def workspace(db) -> Workspace:
    return Workspace.objects.create(name="Provider lab")


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(name="Other lab")


def approved_user(username: str, password: str = "a long pass phrase", **fields) -> User:
    """An account as staff approval leaves it: active, with a confirmed e-mail address."""
    user = User.objects.create_user(
        username, email=f"{username}@example.org", password=password, **fields
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def enrol_totp(user) -> str:
    """Give ``user`` a TOTP authenticator; returns its secret for computing codes."""
    secret = pyotp.random_base32()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def sign_in(db):
    """Sign a test client in as ``user`` the way a finished sign-in leaves the session:
    the current agreement accepted and, where required, a second factor enrolled."""

    def sign_in(client, user) -> None:
        if mfa_required(user) and not is_mfa_enabled(user):
            enrol_totp(user)
        client.force_login(user)
        session = client.session
        session[agreement.SESSION_KEY] = agreement.current_agreement().version
        session.save()

    return sign_in


def fresh_code(secret: str, used: set[str] | None = None) -> str:
    """The authenticator's current code, as a person would type it: never one already
    used (allauth refuses a code twice) and not in the last seconds of its window
    (allauth accepts only the current one)."""
    totp = pyotp.TOTP(secret)
    while True:
        code = totp.now()
        if code not in (used or ()) and totp.interval - time.time() % totp.interval > 3:
            if used is not None:
                used.add(code)
            return code
        time.sleep(1)


def sign_in_with_browser(page, username: str, password: str, totp_secret: str | None = None):
    """Fill in the sign-in page the page is on: credentials, the agreement, then a code."""
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("I accept the data-use agreement").check()
    page.get_by_role("button", name="Sign in").click()
    if totp_secret:
        page.wait_for_url("**/accounts/2fa/authenticate/")
        page.get_by_label("Code").fill(fresh_code(totp_secret))
        page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="session")
def s3_server():
    """A local S3-compatible server (moto in server mode), for the STORAGE_URL=s3:// path."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings, monkeypatch, request):
    """Default storage switched to a fresh bucket on the local S3 server."""
    import boto3

    from immunoport.core.env import storage_from_url

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = "test-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_from_url(f"s3://{bucket}/files?endpoint_url={s3_server}"),
    }
    return bucket


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; never a downloaded browser.

    Skipped with a reason where no Chromium is installed, except under CI=true,
    where browser tests are required.
    """
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is not installed (apt-get install chromium); browser test skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(message.replace("skipped", "required under CI=true"))
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the Django calls made
    # by fixtures alongside it are ordinary synchronous ones.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    yield context.new_page()
    context.close()
