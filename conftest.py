"""Fixtures shared by every app's tests."""

import os
import shutil

import pytest
from django.core.cache import cache

from immunoport.workspaces.models import Workspace

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached figures from one test must not answer the next."""
    cache.clear()


@pytest.fixture
def workspace(db) -> Workspace:
    return Workspace.objects.create(name="Provider lab")


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(name="Other lab")


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
