"""Registration, e-mail confirmation, staff approval, the agreement at sign-in, lockout."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail

from immunoport import settings as project_settings
from immunoport.accounts import agreement
from immunoport.accounts.models import AgreementAcceptance, AuditEvent, Profile
from immunoport.accounts.registration import decide

PASSWORD = "a long pass phrase"
pytestmark = pytest.mark.django_db

REGISTRATION = {
    "username": "ada",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "organization": "Analytical Engines Institute",
    "email": "ada@example.org",
    "phone": "",
    "research_needs": "Deposit our influenza vaccine cohort.",
    "referral": "A colleague",
    "password1": PASSWORD,
    "password2": PASSWORD,
}


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user(
        "curie", email="staff@example.org", password=PASSWORD, is_staff=True
    )


def register(client, **changes) -> None:
    response = client.post("/accounts/signup/", {**REGISTRATION, **changes})
    assert response.status_code == 302, response.content.decode()


def confirmation_link(message) -> str:
    return re.search(r"http://testserver(/accounts/confirm-email/[^/\s]+/)", message.body)[1]


def register_and_confirm(client) -> Profile:
    register(client)
    (message,) = [m for m in mail.outbox if m.to == [REGISTRATION["email"]]]
    client.post(confirmation_link(message))
    return Profile.objects.get(user__username=REGISTRATION["username"])


def sign_in(client, login="ada", password=PASSWORD, accept=True):
    data = {"login": login, "password": password}
    if accept:
        data |= {
            "accept_agreement": "on",
            "agreement_version": agreement.current_agreement().version,
        }
    return client.post("/accounts/login/", data)


def test_the_registration_page_asks_what_immport_asks_and_says_data_stays_private(client):
    html = client.get("/accounts/signup/").content.decode()
    for label in (
        "Username",
        "First name",
        "Last name",
        "Organization",
        "Email",
        "Phone (optional)",
        "How may we assist your research?",
        "How did you learn of us?",
    ):
        assert label in html
    assert "Your data stays private." in html


def test_a_new_account_confirms_its_email_and_waits_for_approval(client, staff):
    register(client)
    user = User.objects.get(username="ada")
    assert not user.is_active
    assert user.profile.status == Profile.Status.PENDING
    assert user.profile.organization == "Analytical Engines Institute"
    to_ada = [m for m in mail.outbox if m.to == ["ada@example.org"]]
    to_staff = [m for m in mail.outbox if m.to == ["staff@example.org"]]
    assert len(to_ada) == 1
    assert len(to_staff) == 1
    assert "Deposit our influenza vaccine cohort." in to_staff[0].body

    client.post(confirmation_link(to_ada[0]))
    assert user.emailaddress_set.get().verified

    response = sign_in(client)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/inactive/"
    assert "_auth_user_id" not in client.session
    assert "reviewed by our staff" in client.get("/accounts/inactive/").content.decode()


def test_staff_approval_lets_the_user_sign_in_with_the_agreement(client, staff):
    profile = register_and_confirm(client)
    mail.outbox.clear()
    decide(profile, staff, approve=True)
    assert mail.outbox[0].to == ["ada@example.org"]
    assert "approved" in mail.outbox[0].subject

    refused = sign_in(client, accept=False)
    assert refused.status_code == 200
    assert "Please accept the data-use agreement to sign in." in refused.content.decode()
    assert "_auth_user_id" not in client.session

    assert sign_in(client)["Location"] == "/workspaces/"
    acceptance = AgreementAcceptance.objects.get(user=profile.user)
    assert acceptance.agreement.version == agreement.current_agreement().version
    assert client.get("/workspaces/").status_code == 200
    actions = list(AuditEvent.objects.filter(actor=profile.user).values_list("action", flat=True))
    assert {"registered", "sign-in", "agreement-accepted"} <= set(actions)


def test_a_rejected_account_never_signs_in(client, staff):
    decide(register_and_confirm(client), staff, approve=False)
    assert sign_in(client)["Location"] == "/accounts/inactive/"


def test_a_new_agreement_version_must_be_accepted_before_going_on(client, staff):
    decide(register_and_confirm(client), staff, approve=True)
    sign_in(client)
    new = agreement.publish_agreement("Version two: also cite the release.")

    response = client.get("/account/tokens/")
    assert response.status_code == 302
    assert response["Location"] == "/account/agreement/?next=%2Faccount%2Ftokens%2F"
    page = client.get(response["Location"]).content.decode()
    assert "Version two: also cite the release." in page

    client.post("/account/agreement/", {"version": new.version, "next": "/account/tokens/"})
    assert client.get("/account/tokens/").status_code == 302  # not ticked: still asked
    accepted = client.post(
        "/account/agreement/",
        {"version": new.version, "accept": "1", "next": "/account/tokens/"},
    )
    assert accepted["Location"] == "/account/tokens/"
    assert client.get("/account/tokens/").status_code == 200
    versions = AgreementAcceptance.objects.filter(user__username="ada").values_list(
        "agreement__version", flat=True
    )
    assert sorted(versions) == [1, new.version]


def test_the_agreement_page_never_redirects_off_site(client, staff):
    user = User.objects.create_user("bob", password=PASSWORD)
    client.force_login(user)
    version = agreement.current_agreement().version
    response = client.post(
        "/account/agreement/", {"version": version, "accept": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/workspaces/"


def test_registering_an_email_already_in_use_reveals_nothing(client, staff):
    User.objects.create_user("first", email="ada@example.org", password=PASSWORD)
    response = client.post("/accounts/signup/", {**REGISTRATION, "username": "ada2"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"  # as for a new address


def test_sign_in_says_the_same_for_an_unknown_user_and_a_wrong_password(client):
    User.objects.create_user("known", password=PASSWORD)
    unknown = sign_in(client, login="nobody", password="wrong password!").content.decode()
    wrong = sign_in(client, login="known", password="wrong password!").content.decode()

    def error(html):
        return re.search(r'<ul class="errorlist nonfield">(.*?)</ul>', html, re.S)[1]

    assert error(unknown) == error(wrong)


def test_five_failed_sign_ins_lock_the_account_for_a_while(client):
    User.objects.create_user("known", password=PASSWORD)
    for _ in range(5):
        assert sign_in(client, login="known", password="wrong password!").status_code == 200
    locked = sign_in(client, login="known")
    assert locked.status_code == 200
    assert "Too many failed login attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    failures = AuditEvent.objects.filter(action="sign-in-failed", target="known")
    assert failures.count() == 5


def test_passwords_are_hashed_with_argon2(db, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = User.objects.create_user("hashed", password=PASSWORD)
    assert user.password.startswith("argon2")


def test_pages_carry_a_content_security_policy_and_safe_cookies(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    cookie = response.cookies["csrftoken"]
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"]


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(client):
    User.objects.create_user("known", email="known@example.org", password=PASSWORD)
    known = client.post("/accounts/password/reset/", {"email": "known@example.org"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    # the known address gets a reset link, the unknown one a notice that no account exists
    (to_known,) = [m for m in mail.outbox if m.to == ["known@example.org"]]
    (to_unknown,) = [m for m in mail.outbox if m.to == ["nobody@example.org"]]
    assert "/accounts/password/reset/key/" in to_known.body
    assert "/accounts/password/reset/key/" not in to_unknown.body
