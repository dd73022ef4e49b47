import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.utils import timezone

from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import (
    TokenError,
    authenticate_token,
    create_token,
    revoke_token,
    token_from_request,
)
from immunoport.workspaces.models import Membership

READ = ApiToken.Scope.READ_SHARED
WRITE = ApiToken.Scope.WORKSPACE_WRITE
PASSWORD = "a long pass phrase"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def provider(workspace) -> User:
    """A data provider: uploader in ``workspace``."""
    user = User.objects.create_user("provider", password=PASSWORD)
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
    return user


@pytest.fixture
def viewer(workspace) -> User:
    user = User.objects.create_user("viewer", password=PASSWORD)
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def outsider(db) -> User:
    return User.objects.create_user("outsider", password=PASSWORD)


# Services


def test_a_new_secret_authenticates_and_only_its_hash_is_stored(provider):
    token, secret = create_token(provider, "laptop", READ)
    assert secret.startswith("ipt_")
    assert token.prefix == secret[:8]
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in [str(value) for value in ApiToken.objects.values_list().get()]
    assert stored.expires_at - stored.created_at == pytest.approx(timedelta(days=90), abs=MINUTE)
    assert stored.last_used_at is None

    found = authenticate_token(secret)
    assert found == token
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    assert authenticate_token(secret[:-1]) is None
    assert authenticate_token("") is None


def test_expired_and_revoked_tokens_do_not_authenticate(provider):
    expired, expired_secret = create_token(provider, "old", READ)
    expired.expires_at = timezone.now() - timedelta(seconds=1)
    expired.save()
    assert authenticate_token(expired_secret) is None

    revoked, revoked_secret = create_token(provider, "lost", READ)
    assert authenticate_token(revoked_secret) == revoked
    revoke_token(revoked)
    assert authenticate_token(revoked_secret) is None


def test_an_inactive_users_tokens_do_not_authenticate(provider):
    _, secret = create_token(provider, "laptop", READ)
    provider.is_active = False
    provider.save()
    assert authenticate_token(secret) is None


@pytest.mark.parametrize("days", [0, -1, 366, 1000])
def test_lifetime_is_between_a_day_and_a_year(provider, days):
    with pytest.raises(TokenError):
        create_token(provider, "forever", READ, days=days)
    assert not ApiToken.objects.exists()


def test_a_year_is_allowed(provider):
    token, _ = create_token(provider, "yearly", READ, days=365)
    assert token.expires_at > timezone.now() + timedelta(days=364)


def test_write_tokens_only_for_workspaces_one_may_change(
    provider, viewer, outsider, workspace, other_workspace
):
    token, secret = create_token(provider, "pipeline", WRITE, workspace=workspace)
    assert authenticate_token(secret) == token
    for user, target in [(viewer, workspace), (outsider, workspace), (provider, other_workspace)]:
        with pytest.raises(TokenError):
            create_token(user, "pipeline", WRITE, workspace=target)
    with pytest.raises(TokenError):
        create_token(provider, "pipeline", WRITE)  # no workspace
    with pytest.raises(TokenError):
        create_token(provider, "reader", READ, workspace=workspace)
    with pytest.raises(TokenError):
        create_token(provider, "odd", "admin")
    assert ApiToken.objects.count() == 1


def test_a_write_token_stops_when_its_user_loses_write_access(provider, workspace):
    _, secret = create_token(provider, "pipeline", WRITE, workspace=workspace)
    Membership.objects.filter(user=provider).update(role=Membership.Role.VIEWER)
    assert authenticate_token(secret) is None


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_token_from_request_reads_the_bearer_header(provider, scheme):
    token, secret = create_token(provider, "laptop", READ)
    request = RequestFactory().get("/", headers={"Authorization": f"{scheme} {secret}"})
    assert token_from_request(request) == token


def test_token_from_request_ignores_other_headers(provider):
    _, secret = create_token(provider, "laptop", READ)
    factory = RequestFactory()
    assert token_from_request(factory.get("/")) is None
    assert token_from_request(factory.get("/", headers={"Authorization": secret})) is None
    assert (
        token_from_request(factory.get("/", headers={"Authorization": f"Basic {secret}"})) is None
    )
    assert token_from_request(factory.get("/", headers={"Authorization": "bearer nope"})) is None


# Pages


def test_the_token_page_needs_a_sign_in(sign_in, client, db):
    response = client.get("/account/tokens/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_creating_a_token_shows_the_secret_once(sign_in, client, provider, workspace):
    sign_in(client, provider)
    response = client.post(
        "/account/tokens/",
        {"name": "pipeline", "scope": WRITE, "workspace": workspace.pk, "days": 30},
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    secret = response.context["secret"]
    assert authenticate_token(secret) == token
    page = response.content.decode()
    assert secret in page
    assert "cannot be shown again" in page
    assert token.workspace == workspace
    assert token.expires_at - token.created_at == pytest.approx(timedelta(days=30), abs=MINUTE)
    assert "no-store" in response["Cache-Control"]

    again = client.get("/account/tokens/").content.decode()
    assert secret not in again
    assert token.prefix in again
    assert "pipeline" in again


def test_the_page_offers_only_writable_workspaces_and_refuses_others(
    sign_in, client, viewer, provider, workspace
):
    sign_in(client, viewer)
    page = client.get("/account/tokens/").content.decode()
    assert workspace.name not in page
    response = client.post(
        "/account/tokens/", {"name": "x", "scope": WRITE, "workspace": workspace.pk, "days": 30}
    )
    assert response.status_code == 200
    assert response.context["secret"] is None
    assert not ApiToken.objects.exists()

    sign_in(client, provider)
    assert workspace.name in client.get("/account/tokens/").content.decode()


def test_the_page_refuses_a_lifetime_over_a_year(sign_in, client, provider):
    sign_in(client, provider)
    response = client.post("/account/tokens/", {"name": "x", "scope": READ, "days": 366})
    assert response.context["secret"] is None
    assert not ApiToken.objects.exists()


def test_the_list_shows_only_ones_own_tokens(sign_in, client, provider, outsider):
    create_token(provider, "provider-laptop", READ)
    create_token(outsider, "outsider-laptop", READ)
    sign_in(client, provider)
    page = client.get("/account/tokens/").content.decode()
    assert "provider-laptop" in page
    assert "outsider-laptop" not in page


def test_revoking_ones_own_token(sign_in, client, provider):
    token, secret = create_token(provider, "laptop", READ)
    sign_in(client, provider)
    response = client.post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert authenticate_token(secret) is None
    assert client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405


def test_revoking_another_users_token_is_404(sign_in, client, provider, outsider):
    token, secret = create_token(provider, "laptop", READ)
    sign_in(client, outsider)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert authenticate_token(secret) == token


def test_revoking_needs_csrf(sign_in, provider):
    from django.test import Client

    token, _ = create_token(provider, "laptop", READ)
    client = Client(enforce_csrf_checks=True)
    sign_in(client, provider)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


# ImmPort's exchange


def test_auth_token_issues_a_short_lived_read_token(provider):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)  # an API endpoint: no CSRF token needed
    response = client.post("/auth/token", {"username": "provider", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "access_token"}
    assert body["status"] == 200
    token = authenticate_token(body["access_token"])
    assert token is not None
    assert token.user == provider
    assert token.scope == READ
    assert token.workspace is None
    assert token.expires_at <= timezone.now() + timedelta(hours=24)

    request = RequestFactory().get("/", headers={"Authorization": f"bearer {body['access_token']}"})
    assert token_from_request(request) == token


def test_auth_token_says_the_same_for_a_wrong_password_and_an_unknown_user(client, provider):
    wrong = client.post("/auth/token", {"username": "provider", "password": "wrong"})
    unknown = client.post("/auth/token", {"username": "nobody", "password": "wrong"})
    empty = client.post("/auth/token", {})
    assert wrong.status_code == unknown.status_code == empty.status_code == 401
    assert wrong.content == unknown.content == empty.content
    assert wrong.json()["status"] == 401
    assert "access_token" not in wrong.json()
    assert not ApiToken.objects.exists()


def test_auth_token_clears_the_users_expired_exchange_tokens(client, provider):
    for _ in range(2):
        client.post("/auth/token", {"username": "provider", "password": PASSWORD})
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    kept, _ = create_token(provider, "laptop", READ)
    ApiToken.objects.filter(pk=kept.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client.post("/auth/token", {"username": "provider", "password": PASSWORD})
    names = sorted(ApiToken.objects.values_list("name", flat=True))
    assert names == ["ImmPort token exchange", "laptop"]  # the user's own expired token stays


def test_auth_token_shares_the_sign_in_lockout(client, provider):
    for _ in range(5):
        wrong = client.post("/auth/token", {"username": "provider", "password": "wrong"})
        assert wrong.status_code == 401
    locked = client.post("/auth/token", {"username": "provider", "password": PASSWORD})
    assert locked.status_code == 429
    assert "access_token" not in locked.json()
    # the web sign-in of the same account is locked too
    web = client.post(
        "/accounts/login/",
        {
            "login": "provider",
            "password": PASSWORD,
            "accept_agreement": "on",
            "agreement_version": 1,
        },
    )
    assert "Too many failed login attempts" in web.content.decode()
    assert not ApiToken.objects.exists()


def test_auth_token_refuses_an_inactive_user(client, provider):
    provider.is_active = False
    provider.save()
    response = client.post("/auth/token", {"username": "provider", "password": PASSWORD})
    assert response.status_code == 401
    assert not ApiToken.objects.exists()


def test_the_list_page_costs_the_same_queries_for_many_tokens(
    sign_in, client, provider, workspace, django_assert_num_queries
):
    sign_in(client, provider)
    create_token(provider, "one", WRITE, workspace=workspace)
    # session, user, the agreement and MFA checks of the account gate, then the page
    with django_assert_num_queries(7) as few:
        client.get("/account/tokens/")
    for n in range(10):
        create_token(provider, f"t{n}", WRITE, workspace=workspace)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get("/account/tokens/").status_code == 200


def test_staff_cannot_add_tokens_in_the_admin(sign_in, client, provider):
    admin = User.objects.create_superuser("staff", password=PASSWORD)
    token, _ = create_token(provider, "laptop", READ)
    sign_in(client, admin)
    assert client.get("/admin/accounts/apitoken/").status_code == 200
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
    page = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert token.key_hash not in page
