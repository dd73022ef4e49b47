"""The audit log: what is recorded, that nobody can change it, and who may read it."""

import datetime
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory

from conftest import approved_user
from immunoport.accounts import audit
from immunoport.accounts.models import ApiToken, AuditEvent
from immunoport.accounts.services import create_token, token_from_request
from immunoport.releases.services import publish_study
from immunoport.studies.models import Study
from immunoport.workspaces.models import Membership, Workspace

Action = AuditEvent.Action
READ = ApiToken.Scope.READ_SHARED
WRITE = ApiToken.Scope.WORKSPACE_WRITE
PASSWORD = "a long pass phrase"
IP = "203.0.113.7"
VALID = Path(__file__).resolve().parents[2] / "validation" / "tests" / "packages" / "valid"


@pytest.fixture
def provider(workspace) -> User:
    """A data provider: uploader in ``workspace``."""
    user = approved_user("provider")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
    return user


@pytest.fixture
def outsider(db) -> User:
    return approved_user("outsider")


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).select_related("actor", "workspace"))


def everything_stored() -> str:
    """Every audit column of every entry, as text, to look for what must never be kept."""
    return json.dumps(list(AuditEvent.objects.values()), default=str)


# API tokens


def test_creating_a_token_on_the_page_is_audited_without_its_secret(
    sign_in, client, provider, workspace
):
    sign_in(client, provider)
    response = client.post(
        "/account/tokens/",
        {"name": "pipeline", "scope": WRITE, "workspace": workspace.pk, "days": 30},
        REMOTE_ADDR=IP,
    )
    secret = response.context["secret"]
    token = ApiToken.objects.get()
    [event] = events(Action.TOKEN_CREATED)
    assert (event.actor, event.actor_name, event.workspace) == (provider, "provider", workspace)
    assert (event.target, event.ip_address) == ("pipeline", IP)
    assert event.detail["prefix"] == token.prefix
    assert event.detail["scope"] == WRITE
    assert secret not in everything_stored()
    assert secret[len(token.prefix) :] not in everything_stored()


def test_a_refused_token_is_not_audited(sign_in, client, outsider, workspace):
    sign_in(client, outsider)
    client.post(
        "/account/tokens/", {"name": "x", "scope": WRITE, "workspace": workspace.pk, "days": 30}
    )
    assert not ApiToken.objects.exists()
    assert events(Action.TOKEN_CREATED) == []


def test_revoking_a_token_is_audited_once(sign_in, client, provider):
    token, _ = create_token(provider, "laptop", READ)
    sign_in(client, provider)
    for _ in range(2):
        assert client.post(f"/account/tokens/{token.pk}/revoke/", REMOTE_ADDR=IP).status_code == 302
    [event] = events(Action.TOKEN_REVOKED)
    assert (event.actor, event.target, event.ip_address) == (provider, "laptop", IP)
    assert (event.detail["prefix"], event.detail["scope"]) == (token.prefix, READ)


def test_another_users_revocation_attempt_records_nothing(sign_in, client, provider, outsider):
    token, _ = create_token(provider, "laptop", READ)
    sign_in(client, outsider)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert events(Action.TOKEN_REVOKED) == []


def test_every_authenticated_request_is_audited_as_a_token_use(provider, workspace):
    token, secret = create_token(provider, "pipeline", WRITE, workspace=workspace)
    factory = RequestFactory()
    for path in ["/api/studies", "/api/subjects"]:
        request = factory.get(path, headers={"Authorization": f"bearer {secret}"}, REMOTE_ADDR=IP)
        assert token_from_request(request) == token
    used = events(Action.TOKEN_USED)
    assert [event.detail["path"] for event in used] == ["/api/subjects", "/api/studies"]
    for event in used:
        assert (event.actor, event.workspace, event.ip_address) == (provider, workspace, IP)
        assert (event.detail["prefix"], event.detail["scope"], event.detail["method"]) == (
            token.prefix,
            WRITE,
            "GET",
        )
    assert secret not in everything_stored()


def test_a_wrong_or_revoked_token_is_not_recorded_as_used(provider):
    token, secret = create_token(provider, "laptop", READ)
    factory = RequestFactory()
    assert token_from_request(factory.get("/", headers={"Authorization": "bearer nope"})) is None
    token.revoked_at = token.created_at
    token.save()
    assert (
        token_from_request(factory.get("/", headers={"Authorization": f"bearer {secret}"})) is None
    )
    assert events(Action.TOKEN_USED) == []


def test_the_password_exchange_audits_the_token_it_issues(provider):
    client = Client()
    assert (
        client.post("/auth/token", {"username": "provider", "password": "wrong"}).status_code == 401
    )
    assert events(Action.TOKEN_CREATED) == []
    response = client.post(
        "/auth/token", {"username": "provider", "password": PASSWORD}, REMOTE_ADDR=IP
    )
    secret = response.json()["access_token"]
    [event] = events(Action.TOKEN_CREATED)
    assert (event.actor, event.target, event.ip_address) == (
        provider,
        "ImmPort token exchange",
        IP,
    )
    assert (event.detail["prefix"], event.detail["scope"]) == (secret[:8], READ)
    assert secret not in everything_stored()


# Private data on the Validate page


def package_files() -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(path.name, path.read_bytes()) for path in sorted(VALID.iterdir())]


def test_an_upload_to_validate_is_audited(sign_in, client, provider, workspace):
    files = package_files()
    sign_in(client, provider)
    response = client.post(
        f"/workspaces/{workspace.pk}/validate/", {"files": files}, REMOTE_ADDR=IP
    )
    assert response.status_code == 200
    assert response.context["report"].errors == 0
    [event] = events(Action.UPLOADED)
    assert (event.actor, event.workspace, event.ip_address) == (provider, workspace, IP)
    names = sorted(path.name for path in VALID.iterdir())
    assert event.detail["files"] == names
    assert event.detail["count"] == len(names) == 8
    assert event.detail["bytes"] == sum(path.stat().st_size for path in VALID.iterdir())
    assert event.target.startswith(names[0])


def test_an_outsiders_upload_is_refused_and_not_recorded(sign_in, client, outsider, workspace):
    sign_in(client, outsider)
    response = client.post(f"/workspaces/{workspace.pk}/validate/", {"files": package_files()})
    assert response.status_code == 404
    assert events(Action.UPLOADED) == []


def test_an_unusable_upload_is_still_recorded(sign_in, client, provider, workspace):
    """The bytes reached the server whatever the validator made of them."""
    sign_in(client, provider)
    broken = SimpleUploadedFile("package.zip", b"not a zip at all")
    response = client.post(f"/workspaces/{workspace.pk}/validate/", {"files": [broken]})
    assert response.context["form"].errors
    [event] = events(Action.UPLOADED)
    assert (event.detail["files"], event.detail["count"], event.detail["bytes"]) == (
        ["package.zip"],
        1,
        16,
    )


# Releases


def test_publishing_a_study_is_audited_once(provider, workspace):
    study = Study.objects.create(workspace=workspace, user_defined_id="flu")
    publish_study(study, version=3, date=datetime.date(2026, 11, 1))
    publish_study(study, version=3)  # already in release 3: nothing new happens
    [event] = events(Action.RELEASED)
    assert (event.actor, event.actor_name) == (None, "")
    assert (event.workspace, event.target) == (workspace, study.study_accession)
    assert event.detail == {"version": 3, "status": "Initial"}

    publish_study(study, version=4, actor=provider)
    newest = events(Action.RELEASED)[0]
    assert (newest.actor, newest.target, newest.detail["version"]) == (
        provider,
        study.study_accession,
        4,
    )


# Append-only, in the database as well as the model


def an_event(user: User | None = None, workspace: Workspace | None = None) -> AuditEvent:
    return audit.record(Action.SIGN_IN, actor=user, workspace=workspace, target="here", n=1)


def test_the_model_refuses_to_change_or_delete_an_entry(provider):
    event = an_event(provider)
    event.target = "elsewhere"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).target == "here"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "sign-out"),
        ("actor_name", "someone-else"),
        ("target", "elsewhere"),
        ("ip_address", "192.0.2.1"),
        ("detail", "{}"),
    ],
)
def test_the_database_refuses_an_update(provider, column, value):
    event = an_event(provider)
    before = AuditEvent.objects.values().get(pk=event.pk)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE accounts_auditevent SET {column} = %s WHERE id = %s", [value, event.pk]
        )
    assert AuditEvent.objects.values().get(pk=event.pk) == before


def test_the_database_refuses_an_update_through_the_orm(provider):
    an_event(provider)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent._base_manager.update(target="elsewhere")  # past the model's own guard
    assert AuditEvent.objects.get().target == "here"


def test_the_database_refuses_pointing_an_entry_at_someone_else(provider, outsider, workspace):
    event = an_event(provider)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent._base_manager.filter(pk=event.pk).update(actor=outsider)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent._base_manager.filter(pk=event.pk).update(workspace=workspace)
    with pytest.raises(DatabaseError), transaction.atomic():
        # Unlinking is allowed only on its own, as Django does when the user goes.
        AuditEvent._base_manager.filter(pk=event.pk).update(actor=None, target="elsewhere")
    assert AuditEvent.objects.values_list("actor", "workspace", "target").get() == (
        provider.pk,
        None,
        "here",
    )


def test_postgresql_refuses_a_delete(provider):
    if connection.vendor != "postgresql":
        pytest.skip(
            "only PostgreSQL refuses DELETE in the database: Django's flush empties "
            "SQLite tables with DELETE (see migration accounts 0004)"
        )
    event = an_event(provider)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent._base_manager.all().delete()  # past the model's own guard
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_a_user_keeps_their_entries(provider):
    event = an_event(provider)
    provider.delete()
    kept = AuditEvent.objects.get(pk=event.pk)
    assert (kept.actor, kept.actor_name, kept.action, kept.target) == (
        None,
        "provider",
        Action.SIGN_IN,
        "here",
    )
    assert kept.detail == {"n": 1}


def test_deleting_a_workspace_keeps_its_entries(provider, workspace):
    event = an_event(provider, workspace)
    Workspace.objects.filter(pk=workspace.pk).delete()
    kept = AuditEvent.objects.get(pk=event.pk)
    assert (kept.actor, kept.workspace, kept.target) == (provider, None, "here")


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_database(provider):
    """Transactional tests and ``manage.py flush`` end by emptying every table."""
    an_event(provider)
    publish_study(Study.objects.create(workspace=Workspace.objects.get(), user_defined_id="x"), 1)
    assert AuditEvent.objects.count() == 2
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert not User.objects.exists()


# Users see their own


def test_the_activity_page_needs_a_sign_in(client, db):
    response = client.get("/account/activity/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_users_see_their_own_activity_newest_first(sign_in, client, provider, outsider, workspace):
    create_token(provider, "laptop", READ)
    create_token(outsider, "outsiders-laptop", READ)
    audit.record(Action.UPLOADED, actor=provider, workspace=workspace, target="subjects.txt")
    sign_in(client, provider)
    response = client.get("/account/activity/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = [event.action for event in response.context["page"]]
    assert shown == [Action.SIGN_IN, Action.UPLOADED, Action.TOKEN_CREATED]
    page = response.content.decode()
    assert "Uploaded files" in page
    assert "Created an API token" in page
    assert "subjects.txt" in page
    assert workspace.name in page
    assert "outsiders-laptop" not in page


def test_the_activity_page_shows_the_address(sign_in, client, provider):
    sign_in(client, provider)
    client.post("/account/tokens/", {"name": "laptop", "scope": READ, "days": 30}, REMOTE_ADDR=IP)
    assert IP in client.get("/account/activity/").content.decode()


def test_the_activity_page_has_fifty_a_page(sign_in, client, provider):
    sign_in(client, provider)  # one sign-in entry
    for n in range(50):
        audit.record(Action.TOKEN_USED, actor=provider, target=f"use-{n:02d}")
    first = client.get("/account/activity/").context["page"]
    assert len(first) == 50
    assert first[0].target == "use-49"
    assert first.has_next()
    second = client.get("/account/activity/?page=2").context["page"]
    assert [event.action for event in second] == [Action.SIGN_IN]
    assert not second.has_next()
    assert client.get("/account/activity/?page=99").context["page"].number == 2


def test_the_activity_page_costs_the_same_queries_for_many_entries(
    sign_in, client, provider, workspace, django_assert_num_queries
):
    sign_in(client, provider)
    audit.record(Action.UPLOADED, actor=provider, workspace=workspace)
    # session, user, the agreement and MFA checks of the account gate, count, then the page
    with django_assert_num_queries(7) as few:
        client.get("/account/activity/")
    for n in range(20):
        other = Workspace.objects.create(name=f"lab {n}")
        audit.record(Action.UPLOADED, actor=provider, workspace=other)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get("/account/activity/").status_code == 200


def test_the_token_page_links_to_the_activity_page(sign_in, client, provider):
    sign_in(client, provider)
    assert 'href="/account/activity/"' in client.get("/account/tokens/").content.decode()


# Staff search the log in the admin


@pytest.fixture
def auditor(db) -> User:
    """Staff who may read the audit log and nothing more."""
    user = approved_user("auditor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    return user


def test_staff_with_the_permission_search_the_log(sign_in, client, auditor, provider, outsider):
    audit.record(Action.UPLOADED, actor=provider, target="needle-subjects.txt")
    audit.record(Action.UPLOADED, actor=outsider, target="haystack.txt")
    sign_in(client, auditor)
    response = client.get("/admin/accounts/auditevent/", {"q": "needle"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "needle-subjects.txt" in page
    assert "haystack.txt" not in page
    by_name = client.get("/admin/accounts/auditevent/", {"q": "outsider"}).content.decode()
    assert "haystack.txt" in by_name
    assert "needle-subjects.txt" not in by_name


def test_others_cannot_read_the_log_in_the_admin(sign_in, client, provider):
    audit.record(Action.UPLOADED, actor=provider, target="needle-subjects.txt")
    sign_in(client, provider)  # an ordinary user
    response = client.get("/admin/accounts/auditevent/", {"q": "needle"})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]

    staff = approved_user("staff-without-permission", is_staff=True)
    sign_in(client, staff)
    response = client.get("/admin/accounts/auditevent/", {"q": "needle"})
    assert response.status_code == 403
    assert b"needle-subjects.txt" not in response.content


@pytest.mark.parametrize("who", ["auditor", "superuser"])
def test_nobody_changes_or_deletes_entries_in_the_admin(sign_in, client, auditor, provider, who):
    user = auditor if who == "auditor" else User.objects.create_superuser("root", password=PASSWORD)
    event = an_event(provider)
    sign_in(client, user)
    base = f"/admin/accounts/auditevent/{event.pk}"
    assert client.get(f"{base}/change/").status_code == 200  # read-only view
    changed = client.post(f"{base}/change/", {"target": "elsewhere", "action": "sign-out"})
    assert changed.status_code == 403
    assert client.get(f"{base}/delete/").status_code == 403
    assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    count = AuditEvent.objects.count()
    client.post(
        "/admin/accounts/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert AuditEvent.objects.count() == count
    assert AuditEvent.objects.values_list("target", "action").get(pk=event.pk) == (
        "here",
        Action.SIGN_IN,
    )


def test_bulk_deletes_and_updates_of_the_log_are_refused(db):
    from immunoport.accounts.audit import Action, record
    from immunoport.accounts.models import AuditEvent

    record(Action.SIGN_IN_FAILED, target="someone", username="someone")
    with pytest.raises(ValueError, match="append-only"):
        AuditEvent.objects.all().delete()
    with pytest.raises(ValueError, match="append-only"):
        AuditEvent.objects.update(target="nobody")
    assert AuditEvent.objects.get().target == "someone"
