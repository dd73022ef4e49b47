import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def answer(monkeypatch, *passwords: str) -> None:
    replies = iter(passwords)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(replies))


def test_a_staff_account_can_sign_in_at_once(monkeypatch, client):
    answer(monkeypatch, "a long pass phrase", "a long pass phrase")
    call_command("create_staff", "root2", email="root2@example.org")
    user = User.objects.get(username="root2")
    assert user.is_staff
    assert not user.is_superuser
    assert user.groups.filter(name="Staff").exists()
    assert user.emailaddress_set.get().verified
    response = client.post(
        "/accounts/login/",
        {
            "login": "root2",
            "password": "a long pass phrase",
            "accept_agreement": "on",
            "agreement_version": 1,
        },
    )
    # signed in, and sent to enrol a second factor first, as staff must
    assert client.get("/workspaces/")["Location"] == "/accounts/2fa/totp/activate/"
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("passwords", "message"),
    [
        (("a long pass phrase", "another pass phrase"), "The two passwords differ"),
        (("short", "short"), "too short"),
    ],
)
def test_bad_passwords_create_nothing(monkeypatch, passwords, message):
    answer(monkeypatch, *passwords)
    with pytest.raises(CommandError, match=message):
        call_command("create_staff", "root2", email="root2@example.org")
    assert not User.objects.filter(username="root2").exists()
