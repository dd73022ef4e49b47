"""Sign-in with Google and ORCID, through allauth's real OAuth 2 / OpenID Connect code.

Only the network edge is fake: every session allauth asks our social account adapter
for gets a ``requests`` transport adapter mounted that plays Google and ORCID. allauth
builds and sends the real token and record requests; the fake provider checks them
(client ID, secret, code, redirect URI), answers like the real one (Google with an
RS256-signed id_token) and keeps what it received so tests can look at it.

allauth checks the issuer, audience and expiry of the id_token it gets from Google's
token endpoint but, as OpenID Connect allows for a token received directly over TLS,
not its signature; the signature is checked, against the certificates the fake
publishes, when an id_token is posted to us (Google's sign-in-by-token endpoint).
"""

import datetime
import json
import re
import secrets
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.contrib.auth.models import User
from django.core import mail
from requests.adapters import BaseAdapter

from conftest import approved_user
from immunoport.accounts import agreement
from immunoport.accounts.adapters import SocialAccountAdapter
from immunoport.accounts.models import AgreementAcceptance, Profile
from immunoport.accounts.registration import decide
from immunoport.accounts.tests.test_registration import REGISTRATION as PASSWORD_REGISTRATION
from immunoport.settings import _social_providers

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/accounts/{provider}/login/callback/"
GOOGLE_ID = "1234-immunoport.apps.googleusercontent.com"
GOOGLE_SECRET = "google-client-secret"
GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
GOOGLE_CERTS = "https://www.googleapis.com/oauth2/v1/certs"
ORCID_ID = "APP-IMMUNOPORT0001"
ORCID_SECRET = "orcid-client-secret"
ORCID_AUTHORIZE = "https://orcid.org/oauth/authorize"
ORCID_TOKEN = "https://pub.orcid.org/oauth/token"
ORCID_ID_OF_ADA = "0000-0002-1825-0097"
ORCID_RECORD = f"https://pub.orcid.org/v3.0/{ORCID_ID_OF_ADA}/record"

# The registration form without the password fields: a social account has none.
REGISTRATION = {
    field: value
    for field, value in PASSWORD_REGISTRATION.items()
    if field not in ("password1", "password2")
}

Handler = Callable[[requests.PreparedRequest], tuple[int, dict]]


class FakeNetwork(BaseAdapter):
    """The providers' side of the wire: answers by method and URL, keeps each request."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[tuple[str, str], Handler] = {}
        self.received: list[requests.PreparedRequest] = []
        self.timeouts: list[object] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.received.append(request)
        self.timeouts.append(timeout)
        url = str(request.url).split("?")[0]
        handler = self.routes.get((str(request.method), url))
        if handler is None:
            raise requests.ConnectionError(f"nothing answers {request.method} {url}")
        status, body = handler(request)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json; charset=utf-8"
        response.encoding = "utf-8"
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass

    def sent_to(self, url: str) -> list[requests.PreparedRequest]:
        return [r for r in self.received if str(r.url).split("?")[0] == url]


class FakeOAuthProvider:
    """An authorization server: hands out one-time codes bound to a client and a
    redirect URI, and exchanges them at its token endpoint for the client's secret."""

    def __init__(self, network: FakeNetwork, token_url: str, client_id: str, secret: str):
        self.client_id, self.secret = client_id, secret
        self.codes: dict[str, dict] = {}
        network.routes[("POST", token_url)] = self.token

    def authorize(self, authorize_url: str, user: dict) -> dict[str, str]:
        """The person signs in at the provider and consents: the redirect back to us."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["client_id"] == self.client_id
        assert query["response_type"] == "code"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": query["redirect_uri"], "user": user}
        return {"code": code, "state": query["state"]}

    def token(self, request: requests.PreparedRequest) -> tuple[int, dict]:
        form = {k: v[0] for k, v in parse_qs(str(request.body)).items()}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.secret
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return 400, {"error": "invalid_grant"}
        return 200, self.grant(grant["user"])

    def grant(self, user: dict) -> dict:
        raise NotImplementedError


class FakeGoogle(FakeOAuthProvider):
    """Google's token endpoint answers with an id_token signed by a key of its own,
    whose certificate it publishes at the certificates URL."""

    def __init__(self, network: FakeNetwork) -> None:
        super().__init__(network, GOOGLE_TOKEN, GOOGLE_ID, GOOGLE_SECRET)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        network.routes[("GET", GOOGLE_CERTS)] = lambda request: (200, {self.kid: self._cert()})
        self.audience = GOOGLE_ID

    def _cert(self) -> str:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.google.com")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def id_token(self, user: dict) -> str:
        now = int(time.time())
        claims = {
            "iss": "https://accounts.google.com",
            "azp": self.client_id,
            "aud": self.audience,
            "iat": now,
            "exp": now + 3600,
            "jti": secrets.token_hex(8),
            **user,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def grant(self, user: dict) -> dict:
        return {
            "access_token": secrets.token_urlsafe(24),
            "expires_in": 3599,
            "scope": "openid https://www.googleapis.com/auth/userinfo.email",
            "token_type": "Bearer",
            "id_token": self.id_token(user),
        }


class FakeOrcid(FakeOAuthProvider):
    """ORCID's token endpoint names the ORCID iD; the public API serves its record."""

    def __init__(self, network: FakeNetwork) -> None:
        super().__init__(network, ORCID_TOKEN, ORCID_ID, ORCID_SECRET)
        network.routes[("GET", ORCID_RECORD)] = self.record

    def grant(self, user: dict) -> dict:
        return {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "bearer",
            "refresh_token": secrets.token_urlsafe(24),
            "expires_in": 631138518,
            "scope": "/authenticate",
            "name": "Ada Lovelace",
            "orcid": user["orcid"],
        }

    def record(self, request: requests.PreparedRequest) -> tuple[int, dict]:
        if request.headers.get("accept") != "application/orcid+json":
            return 406, {"error": "not acceptable"}
        return 200, {
            "orcid-identifier": {
                "uri": f"https://orcid.org/{ORCID_ID_OF_ADA}",
                "path": ORCID_ID_OF_ADA,
                "host": "orcid.org",
            },
            "person": {
                "name": {"given-names": {"value": "Ada"}, "family-name": {"value": "Lovelace"}},
                "emails": {"email": []},  # ORCID keeps addresses private by default
            },
        }


@pytest.fixture
def network(monkeypatch) -> FakeNetwork:
    """Mount the fake on every requests session allauth obtains from our adapter."""
    fake = FakeNetwork()
    make_session = SocialAccountAdapter.get_requests_session

    def get_requests_session(self):
        session = make_session(self)
        session.mount("https://", fake)
        session.mount("http://", fake)
        return session

    monkeypatch.setattr(SocialAccountAdapter, "get_requests_session", get_requests_session)
    return fake


def configure(monkeypatch, settings, **clients: tuple[str, str]) -> None:
    """Switch providers on as an operator does: client ID and secret in the environment."""
    for name in ("GOOGLE", "ORCID"):
        for suffix in ("CLIENT_ID", "SECRET", "DOMAIN"):
            monkeypatch.delenv(f"IMMUNOPORT_{name}_{suffix}", raising=False)
    for name, (client_id, secret) in clients.items():
        monkeypatch.setenv(f"IMMUNOPORT_{name.upper()}_CLIENT_ID", client_id)
        monkeypatch.setenv(f"IMMUNOPORT_{name.upper()}_SECRET", secret)
    settings.SOCIALACCOUNT_PROVIDERS = _social_providers()


@pytest.fixture
def both_configured(monkeypatch, settings) -> None:
    configure(
        monkeypatch, settings, google=(GOOGLE_ID, GOOGLE_SECRET), orcid=(ORCID_ID, ORCID_SECRET)
    )


@pytest.fixture
def google(both_configured, network) -> FakeGoogle:
    return FakeGoogle(network)


@pytest.fixture
def orcid(both_configured, network) -> FakeOrcid:
    return FakeOrcid(network)


@pytest.fixture
def staff(db) -> User:
    return approved_user("curie", is_staff=True)


ADA_AT_GOOGLE = {
    "sub": "110169484474386276334",
    "email": "ada@example.org",
    "email_verified": True,
    "given_name": "Ada",
    "family_name": "Lovelace",
    "name": "Ada Lovelace",
}
ADA_AT_ORCID = {"orcid": ORCID_ID_OF_ADA}


def start(client, provider: str, authorize_url: str) -> str:
    """Press the provider's button: allauth sends the browser to the provider."""
    response = client.post(f"/accounts/{provider}/login/?process=login")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(authorize_url + "?")
    return location


def social_sign_in(client, provider: str, fake: FakeOAuthProvider, user: dict, authorize_url: str):
    """The whole round trip; returns our answer to the provider's redirect back."""
    location = start(client, provider, authorize_url)
    back = fake.authorize(location, user)
    return client.get(f"/accounts/{provider}/login/callback/?{urlencode(back)}")


def accept_agreement(client, next_url: str):
    version = agreement.current_agreement().version
    return client.post("/account/agreement/", {"version": version, "accept": "1", "next": next_url})


def assert_signed_out(client) -> None:
    response = client.get("/workspaces/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def assert_sign_in_ends_at_workspaces_after_agreement(client, response, user: User) -> None:
    """Signed in, but the agreement comes first; accepting it is recorded."""
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk
    gate = client.get(response["Location"])
    assert gate.status_code == 302
    assert gate["Location"] == "/account/agreement/?next=%2Fworkspaces%2F"
    assert not AgreementAcceptance.objects.filter(user=user).exists()
    assert client.get("/workspaces/")["Location"].startswith("/account/agreement/")
    accepted = accept_agreement(client, "/workspaces/")
    assert accepted.status_code == 302
    assert accepted["Location"] == "/workspaces/"
    assert client.get("/workspaces/").status_code == 200
    (acceptance,) = AgreementAcceptance.objects.filter(user=user)
    assert acceptance.agreement == agreement.current_agreement()


def test_the_login_page_offers_each_configured_provider(client, google):
    page = client.get("/accounts/login/").content.decode()
    assert 'action="/accounts/google/login/?process=login"' in page
    assert 'action="/accounts/orcid/login/?process=login"' in page


def test_google_sends_the_browser_to_google_with_our_client_and_callback(client, google):
    location = start(client, "google", GOOGLE_AUTHORIZE)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["client_id"] == GOOGLE_ID
    assert query["redirect_uri"] == CALLBACK.format(provider="google")
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) == {"profile", "email"}
    assert len(query["state"]) >= 12
    assert "client_secret" not in query


def test_google_sign_up_waits_for_approval_then_needs_the_agreement(client, google, network, staff):
    response = social_sign_in(client, "google", google, ADA_AT_GOOGLE, GOOGLE_AUTHORIZE)

    # allauth exchanged the code at Google's token endpoint, over a session with a timeout.
    (exchange,) = network.sent_to(GOOGLE_TOKEN)
    form = {k: v[0] for k, v in parse_qs(str(exchange.body)).items()}
    assert form == {
        "client_id": GOOGLE_ID,
        "client_secret": GOOGLE_SECRET,
        "code": form["code"],
        "grant_type": "authorization_code",
        "redirect_uri": CALLBACK.format(provider="google"),
    }
    assert all(timeout for timeout in network.timeouts)

    # A new person fills in our registration form, prefilled from Google.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/3rdparty/signup/"
    page = client.get("/accounts/3rdparty/signup/").content.decode()
    assert "Register with Google" in page
    assert 'value="ada@example.org"' in page
    assert 'name="organization"' in page
    assert 'name="research_needs"' in page
    mail.outbox.clear()
    response = client.post("/accounts/3rdparty/signup/", REGISTRATION)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/inactive/"
    assert "not active yet" in client.get("/accounts/inactive/").content.decode()

    user = User.objects.get(username="ada")
    assert not user.is_active
    assert user.profile.status == Profile.Status.PENDING
    assert user.profile.organization == REGISTRATION["organization"]
    assert SocialAccount.objects.get(user=user, provider="google").uid == ADA_AT_GOOGLE["sub"]
    assert EmailAddress.objects.get(user=user).verified  # Google vouched for the address
    assert [m.to for m in mail.outbox] == [[staff.email]]
    assert_signed_out(client)

    # Signing in with Google again while pending does not get in either.
    response = social_sign_in(client, "google", google, ADA_AT_GOOGLE, GOOGLE_AUTHORIZE)
    assert response["Location"] == "/accounts/inactive/"
    assert_signed_out(client)

    decide(user.profile, staff, approve=True)
    response = social_sign_in(client, "google", google, ADA_AT_GOOGLE, GOOGLE_AUTHORIZE)
    assert_sign_in_ends_at_workspaces_after_agreement(client, response, user)
    assert User.objects.filter(username="ada").count() == 1


def test_orcid_sign_up_confirms_the_address_waits_for_approval_then_needs_the_agreement(
    client, orcid, network, staff
):
    location = start(client, "orcid", ORCID_AUTHORIZE)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["client_id"] == ORCID_ID
    assert query["redirect_uri"] == CALLBACK.format(provider="orcid")
    assert query["scope"] == "/authenticate"
    back = orcid.authorize(location, ADA_AT_ORCID)
    response = client.get(f"/accounts/orcid/login/callback/?{urlencode(back)}")

    (exchange,) = network.sent_to(ORCID_TOKEN)
    form = {k: v[0] for k, v in parse_qs(str(exchange.body)).items()}
    assert form["client_id"] == ORCID_ID
    assert form["client_secret"] == ORCID_SECRET
    assert form["code"] == back["code"]
    assert form["redirect_uri"] == CALLBACK.format(provider="orcid")
    (record,) = network.sent_to(ORCID_RECORD)
    assert record.headers["accept"] == "application/orcid+json"

    # ORCID shares no e-mail address: the person types one, which must be confirmed.
    assert response["Location"] == "/accounts/3rdparty/signup/"
    page = client.get("/accounts/3rdparty/signup/").content.decode()
    assert 'value="Lovelace"' in page
    mail.outbox.clear()
    response = client.post("/accounts/3rdparty/signup/", REGISTRATION)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(username="ada")
    assert not user.is_active
    assert SocialAccount.objects.get(user=user, provider="orcid").uid == ORCID_ID_OF_ADA
    (confirmation,) = [m for m in mail.outbox if m.to == [REGISTRATION["email"]]]
    link = re.search(r"http://testserver(/accounts/confirm-email/[^/\s]+/)", confirmation.body)[1]
    assert client.post(link).status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert_signed_out(client)

    response = social_sign_in(client, "orcid", orcid, ADA_AT_ORCID, ORCID_AUTHORIZE)
    assert response["Location"] == "/accounts/inactive/"
    assert_signed_out(client)

    decide(user.profile, staff, approve=True)
    response = social_sign_in(client, "orcid", orcid, ADA_AT_ORCID, ORCID_AUTHORIZE)
    assert_sign_in_ends_at_workspaces_after_agreement(client, response, user)


def test_a_callback_with_a_state_we_did_not_issue_is_refused_unheard(client, google, network):
    location = start(client, "google", GOOGLE_AUTHORIZE)
    back = google.authorize(location, ADA_AT_GOOGLE) | {"state": "forged"}
    response = client.get(f"/accounts/google/login/callback/?{urlencode(back)}")
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
    assert network.received == []  # the code was never exchanged


def test_an_id_token_issued_to_another_client_is_refused(client, google, network):
    google.audience = "someone-else.apps.googleusercontent.com"
    response = social_sign_in(client, "google", google, ADA_AT_GOOGLE, GOOGLE_AUTHORIZE)
    assert response.status_code == 401
    assert network.sent_to(GOOGLE_TOKEN)
    assert "_auth_user_id" not in client.session
    assert not SocialAccount.objects.exists()
    assert client.get("/accounts/3rdparty/signup/").status_code == 302


def one_tap(client, credential: str):
    """Google's sign-in button posts an id_token straight to us (no code exchange)."""
    client.cookies["g_csrf_token"] = "double-submit"
    return client.post(
        "/accounts/google/login/token/",
        {"credential": credential, "g_csrf_token": "double-submit"},
    )


def test_an_id_token_posted_to_us_must_carry_googles_signature(client, google, network):
    user = approved_user("ada")
    SocialAccount.objects.create(user=user, provider="google", uid=ADA_AT_GOOGLE["sub"])
    impostor = FakeGoogle(FakeNetwork())  # same key ID, another key
    impostor.kid = google.kid
    response = one_tap(client, impostor.id_token(ADA_AT_GOOGLE))
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
    assert network.sent_to(GOOGLE_CERTS)

    response = one_tap(client, google.id_token(ADA_AT_GOOGLE))
    assert_sign_in_ends_at_workspaces_after_agreement(client, response, user)


def test_a_provider_without_a_client_id_offers_no_button_and_its_urls_are_404(
    client, monkeypatch, settings, network
):
    configure(monkeypatch, settings, orcid=(ORCID_ID, ORCID_SECRET))
    page = client.get("/accounts/login/").content.decode()
    assert "/accounts/orcid/login/" in page
    assert "/accounts/google/login/" not in page
    assert client.post("/accounts/google/login/?process=login").status_code == 404
    assert client.get("/accounts/google/login/?process=login").status_code == 404
    assert client.get("/accounts/google/login/callback/?code=x&state=y").status_code == 404

    configure(monkeypatch, settings)
    page = client.get("/accounts/login/").content.decode()
    assert "Or sign in with" not in page
    assert client.post("/accounts/orcid/login/?process=login").status_code == 404
    assert network.received == []


def test_social_providers_are_switched_on_by_the_environment(monkeypatch):
    for name in ("GOOGLE", "ORCID"):
        for suffix in ("CLIENT_ID", "SECRET", "DOMAIN"):
            monkeypatch.delenv(f"IMMUNOPORT_{name}_{suffix}", raising=False)
    assert _social_providers() == {}

    monkeypatch.setenv("IMMUNOPORT_GOOGLE_CLIENT_ID", GOOGLE_ID)
    monkeypatch.setenv("IMMUNOPORT_GOOGLE_SECRET", GOOGLE_SECRET)
    assert _social_providers() == {
        "google": {
            "APPS": [{"client_id": GOOGLE_ID, "secret": GOOGLE_SECRET}],
            "SCOPE": ["profile", "email"],
        }
    }

    monkeypatch.setenv("IMMUNOPORT_ORCID_CLIENT_ID", ORCID_ID)
    monkeypatch.setenv("IMMUNOPORT_ORCID_SECRET", ORCID_SECRET)
    providers = _social_providers()
    assert set(providers) == {"google", "orcid"}
    assert providers["orcid"] == {
        "APPS": [{"client_id": ORCID_ID, "secret": ORCID_SECRET}],
        "SCOPE": ["/authenticate"],
        "BASE_DOMAIN": "orcid.org",
    }

    monkeypatch.setenv("IMMUNOPORT_ORCID_DOMAIN", "sandbox.orcid.org")
    assert _social_providers()["orcid"]["BASE_DOMAIN"] == "sandbox.orcid.org"
