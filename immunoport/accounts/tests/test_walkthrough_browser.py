"""An account's life in Chromium: register, confirm, wait, get approved, sign in, enrol TOTP."""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import User
from django.core import mail

from conftest import approved_user, enrol_totp, fresh_code, sign_in_with_browser
from immunoport.accounts.models import AgreementAcceptance, Profile

PASSWORD = "a long pass phrase"


def mail_to(address: str, subject_contains: str):
    (message,) = [m for m in mail.outbox if m.to == [address] and subject_contains in m.subject]
    return message


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_register_confirm_approve_sign_in_and_enrol_totp(chromium, page, live_server):
    url = live_server.url
    staff = approved_user("curie", is_staff=True, is_superuser=True)
    staff_secret = enrol_totp(staff)

    page.set_default_timeout(10_000)

    # A visitor registers, filling in every field.
    page.goto(f"{url}/accounts/signup/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Organization").fill("Analytical Engines Institute")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Phone (optional)").fill("+44 20 7946 0000")
    page.get_by_label("How may we assist your research?").fill("Deposit our influenza cohort.")
    page.get_by_label("How did you learn of us?").fill("A colleague")
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(f"{url}/accounts/confirm-email/")
    ada = User.objects.get(username="ada")
    profile = Profile.objects.get(user=ada)
    assert (ada.is_active, profile.status) == (False, Profile.Status.PENDING)
    assert (ada.first_name, ada.last_name, profile.organization) == (
        "Ada",
        "Lovelace",
        "Analytical Engines Institute",
    )
    assert profile.phone == "+44 20 7946 0000"
    assert profile.research_needs == "Deposit our influenza cohort."
    assert profile.referral == "A colleague"
    assert not EmailAddress.objects.get(user=ada).verified

    # The confirmation e-mail's link, then the Confirm button.
    message = mail_to("ada@example.org", "onfirm")
    link = re.search(r"https?://\S+/accounts/confirm-email/[^/\s]+/", message.body)[0]
    assert link.startswith(url)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    assert EmailAddress.objects.get(user=ada, email="ada@example.org").verified
    ada.refresh_from_db()
    assert not ada.is_active

    # Signing in before approval is refused.
    page.goto(f"{url}/accounts/login/")
    sign_in_with_browser(page, "ada", PASSWORD)
    page.wait_for_url(f"{url}/accounts/inactive/")
    assert "not active" in page.get_by_role("heading", level=1).inner_text()
    assert not AgreementAcceptance.objects.filter(user=ada).exists()

    # Staff sign in (password, agreement, TOTP code) in their own browser and approve.
    staff_context = chromium.new_context()
    try:
        admin = staff_context.new_page()
        admin.set_default_timeout(10_000)
        admin.goto(f"{url}/admin/accounts/profile/")
        admin.wait_for_url(re.compile(r".*/accounts/login/\?next="))
        sign_in_with_browser(admin, "curie", PASSWORD)
        admin.wait_for_url(f"{url}/accounts/2fa/authenticate/")
        admin.get_by_label("Code").fill(fresh_code(staff_secret, set()))
        admin.get_by_role("button", name="Sign in").click()
        admin.wait_for_url(f"{url}/admin/accounts/profile/")
        admin.get_by_role("row", name=re.compile("ada")).get_by_role("checkbox").check()
        action = admin.get_by_role("combobox", name=re.compile("^Action"))
        action.select_option(label="Approve the selected accounts")
        admin.get_by_role("button", name="Go").click()
        admin.get_by_text("1 account(s) approved.").wait_for()
    finally:
        staff_context.close()
    ada.refresh_from_db()
    profile.refresh_from_db()
    assert ada.is_active
    assert (profile.status, profile.decided_by) == (Profile.Status.APPROVED, staff)
    assert "approved" in mail_to("ada@example.org", "approved").subject

    # Approved, the user signs in accepting the agreement; no second factor asked yet.
    page.goto(f"{url}/accounts/login/")
    sign_in_with_browser(page, "ada", PASSWORD)
    page.wait_for_url(f"{url}/workspaces/")
    assert AgreementAcceptance.objects.filter(user=ada).count() == 1
    assert not Authenticator.objects.filter(user=ada).exists()

    # Enrolling TOTP: the password again, then the QR code and the secret as text.
    page.goto(f"{url}/accounts/2fa/")
    page.get_by_role("link", name="Activate an authenticator app").click()
    page.wait_for_url(re.compile(r".*/accounts/reauthenticate/"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{url}/accounts/2fa/totp/activate/")
    qr = page.get_by_role("img", name="QR code of the authenticator secret")
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")  # CSP lets it in
    secret = page.locator("figcaption code").inner_text()
    used: set[str] = set()
    page.get_by_label("Authenticator code").fill(fresh_code(secret, used))
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url(f"{url}/accounts/2fa/recovery-codes/")
    codes = page.get_by_role("list", name="Unused recovery codes").get_by_role("listitem")
    assert codes.count() == 10
    assert set(Authenticator.objects.filter(user=ada).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }

    # Signing out, then in again: password, agreement and a fresh code.
    page.get_by_role("button", name="Sign out ada").click()
    page.wait_for_url(f"{url}/")
    page.goto(f"{url}/accounts/login/")
    sign_in_with_browser(page, "ada", PASSWORD)
    page.wait_for_url(f"{url}/accounts/2fa/authenticate/")
    page.get_by_label("Code").fill(fresh_code(secret, used))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/workspaces/")
    assert page.get_by_role("heading", level=1).inner_text() == "Your workspaces"
    assert page.get_by_role("button", name="Sign out ada").is_visible()
    assert AgreementAcceptance.objects.filter(user=ada).count() == 2
    totp = Authenticator.objects.get(user=ada, type=Authenticator.Type.TOTP)
    assert totp.last_used_at is not None
