"""Who must enrol a second factor, and signing in with one."""

import time

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.contrib.auth.models import User

from conftest import approved_user, enrol_totp, fresh_code
from immunoport.accounts import agreement
from immunoport.workspaces.models import Membership

PASSWORD = "a long pass phrase"
ACTIVATE = "/accounts/2fa/totp/activate/"
pytestmark = pytest.mark.django_db


def member(workspace, role: str) -> User:
    user = approved_user(role)
    Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


def accepting(login: str) -> dict:
    """The sign-in form filled in: credentials and the current agreement accepted."""
    return {
        "login": login,
        "password": PASSWORD,
        "accept_agreement": "on",
        "agreement_version": agreement.current_agreement().version,
    }


def signed_in_without_mfa(client, user) -> None:
    """Signed in with the password and the agreement, no second factor enrolled."""
    response = client.post("/accounts/login/", accepting(user.username))
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def activation_page(client):
    """Open the activation page as allauth asks: after typing the password again."""
    response = client.post(f"/accounts/reauthenticate/?next={ACTIVATE}", {"password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, ACTIVATE)
    response = client.get(ACTIVATE)
    assert response.status_code == 200
    return response


def activation_secret(client) -> str:
    return activation_page(client).context["form"].secret


def signed_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.mark.parametrize("role", [Membership.Role.OWNER, Membership.Role.UPLOADER])
def test_a_writer_without_totp_is_sent_to_enrol_from_any_page(client, workspace, role):
    signed_in_without_mfa(client, member(workspace, role))
    for url in ("/workspaces/", f"/workspaces/{workspace.pk}/", "/account/tokens/", "/"):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, ACTIVATE), url


def test_a_viewer_need_not_enrol(client, workspace):
    signed_in_without_mfa(client, member(workspace, Membership.Role.VIEWER))
    assert client.get("/workspaces/").status_code == 200


def test_a_user_without_a_workspace_need_not_enrol(client):
    signed_in_without_mfa(client, approved_user("reader"))
    assert client.get("/workspaces/").status_code == 200


def test_staff_must_enrol(client):
    signed_in_without_mfa(client, approved_user("curie", is_staff=True))
    assert client.get("/workspaces/")["Location"] == ACTIVATE
    assert client.get("/admin/")["Location"] == ACTIVATE


def test_everyone_must_enrol_when_the_setting_says_so(client, settings):
    settings.MFA_REQUIRED_FOR_ALL = True
    signed_in_without_mfa(client, approved_user("reader"))
    assert client.get("/workspaces/")["Location"] == ACTIVATE


def test_the_activation_page_shows_a_qr_code_and_the_secret_as_text(client, workspace):
    signed_in_without_mfa(client, member(workspace, Membership.Role.OWNER))
    response = activation_page(client)
    secret, html = response.context["form"].secret, response.content.decode()
    assert '<img src="data:image/svg+xml;base64,' in html
    assert f"<code>{secret}</code>" in html
    assert "Authenticator code" in html
    assert "Content-Security-Policy" in response.headers


def test_after_enrolling_a_writer_reaches_the_page(client, workspace):
    owner = member(workspace, Membership.Role.OWNER)
    signed_in_without_mfa(client, owner)
    secret = activation_secret(client)
    response = client.post(ACTIVATE, {"code": fresh_code(secret)})
    assert response.status_code == 302
    assert set(Authenticator.objects.filter(user=owner).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }
    assert client.get("/workspaces/").status_code == 200


def test_a_wrong_code_does_not_enrol(client, workspace):
    owner = member(workspace, Membership.Role.OWNER)
    signed_in_without_mfa(client, owner)
    secret = activation_secret(client)
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
    response = client.post(ACTIVATE, {"code": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Authenticator.objects.filter(user=owner).exists()
    assert client.get("/workspaces/")["Location"] == ACTIVATE


def test_sign_out_and_the_agreement_stay_reachable_before_enrolling(client, workspace):
    signed_in_without_mfa(client, member(workspace, Membership.Role.OWNER))
    assert client.get("/account/agreement/").status_code == 200
    assert client.get("/accounts/2fa/").status_code == 200
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert signed_in_as(client) is None


def test_a_session_too_old_to_enrol_reauthenticates_without_a_redirect_loop(client, workspace):
    """allauth asks for the password again before enrolment when the sign-in is
    older than its reauthentication timeout (or, as here, not recorded at all)."""
    owner = member(workspace, Membership.Role.OWNER)
    client.force_login(owner)
    session = client.session
    session[agreement.SESSION_KEY] = agreement.current_agreement().version
    session.save()
    response = client.get("/workspaces/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/reauthenticate/")
    assert response.status_code == 200
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert response.request["PATH_INFO"] == ACTIVATE
    assert response.status_code == 200


def test_the_agreement_comes_before_enrolment(client, workspace):
    client.force_login(member(workspace, Membership.Role.OWNER))
    response = client.get("/workspaces/")
    assert response["Location"].startswith("/account/agreement/?next=")


# Signing in with a second factor


@pytest.fixture
def owner(workspace) -> User:
    return member(workspace, Membership.Role.OWNER)


@pytest.fixture
def secret(owner) -> str:
    secret = enrol_totp(owner)
    RecoveryCodes.activate(owner)
    return secret


def password_step(client, login="owner"):
    response = client.post("/accounts/login/", accepting(login))
    assert (response.status_code, response["Location"]) == (302, "/accounts/2fa/authenticate/")
    assert signed_in_as(client) is None
    return response


def test_a_wrong_code_is_refused(client, owner, secret):
    password_step(client)
    totp = pyotp.TOTP(secret)
    valid = {totp.at(time.time() + offset) for offset in (-30, 0, 30)}
    wrong = next(code for code in ("000000", "123456", "999999") if code not in valid)
    response = client.post("/accounts/2fa/authenticate/", {"code": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert signed_in_as(client) is None
    assert client.get("/workspaces/")["Location"].startswith("/accounts/login/")


def test_the_right_code_signs_in(client, owner, secret):
    password_step(client)
    response = client.post("/accounts/2fa/authenticate/", {"code": fresh_code(secret)})
    assert (response.status_code, response["Location"]) == (302, "/workspaces/")
    assert signed_in_as(client) == str(owner.pk)
    assert client.get("/workspaces/").status_code == 200
    assert owner.agreement_acceptances.count() == 1


def test_a_code_is_good_once(client, owner, secret):
    code = fresh_code(secret)
    password_step(client)
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    password_step(client)
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 200
    assert signed_in_as(client) is None


def test_a_recovery_code_signs_in_once(client, owner, secret):
    code = RecoveryCodes(Authenticator.objects.get(user=owner, type="recovery_codes"))
    code = code.get_unused_codes()[0]
    password_step(client)
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert signed_in_as(client) == str(owner.pk)
    client.post("/accounts/logout/")

    password_step(client)
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert signed_in_as(client) is None


def test_the_admin_sign_in_cannot_skip_the_second_factor(client):
    """Django's own admin sign-in page would sign staff in with the password only."""
    staff = approved_user("curie", is_staff=True, is_superuser=True)
    enrol_totp(staff)
    response = client.get("/admin/login/?next=/admin/accounts/profile/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fprofile%2F"
    response = client.post("/admin/login/", {"username": "curie", "password": PASSWORD})
    assert response["Location"].startswith("/accounts/login/?next=%2Fadmin%2F")
    assert signed_in_as(client) is None
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"

    password_step(client, login="curie")
    assert signed_in_as(client) is None
