"""Sessions end when the browser closes, and on the server after IMMUNOPORT_SESSION_HOURS."""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from conftest import approved_user
from immunoport.accounts import agreement

PASSWORD = "a long pass phrase"
pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    """A reader signed in through the sign-in form; returns the sign-in response."""
    approved_user("reader")
    response = client.post(
        "/accounts/login/",
        {
            "login": "reader",
            "password": PASSWORD,
            "accept_agreement": "on",
            "agreement_version": agreement.current_agreement().version,
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/workspaces/")
    return response


def age_session(client, seconds: float) -> None:
    """Move the server-side session ``seconds`` into the past, as if time had gone by."""
    session = Session.objects.get(session_key=client.session.session_key)
    session.expire_date -= timedelta(seconds=seconds)
    session.save()


def test_the_session_lasts_eight_hours_unless_configured():
    hours = int(os.environ.get("IMMUNOPORT_SESSION_HOURS", "8"))
    assert hours * 3600 == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_the_session_cookie_ends_with_the_browser(client, signed_in):
    cookie = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value
    assert (cookie["expires"], cookie["max-age"]) == ("", "")
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_the_server_side_session_expires_after_the_configured_age(client, signed_in):
    assert client.session.get_expire_at_browser_close()
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    expires = Session.objects.get(session_key=client.session.session_key).expire_date
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs(expires - expected) < timedelta(minutes=1)


def test_a_session_just_younger_than_the_age_is_still_signed_in(client, signed_in):
    age_session(client, settings.SESSION_COOKIE_AGE - 60)
    assert client.get("/workspaces/").status_code == 200


def test_a_session_as_old_as_the_age_is_signed_out(client, signed_in):
    age_session(client, settings.SESSION_COOKIE_AGE)
    response = client.get("/workspaces/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_browsing_does_not_extend_the_session(client, signed_in):
    """The age counts from sign-in, not from the last request."""
    expires = Session.objects.get(session_key=client.session.session_key).expire_date
    assert client.get("/workspaces/").status_code == 200
    assert Session.objects.get(session_key=client.session.session_key).expire_date == expires
