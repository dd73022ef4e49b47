"""Packages through HTTP: upload page, files, submit, status and history pages, JSON API."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client, RequestFactory

from conftest import approved_user
from immunoport.accounts.models import AuditEvent
from immunoport.accounts.services import create_token
from immunoport.ingest import services
from immunoport.ingest.models import Package
from immunoport.ingest.tests.packages import (
    attach,
    immediate_tasks_fixture,  # noqa: F401 - fixture
    loader_fixture,  # noqa: F401 - fixture
    storage_fixture,  # noqa: F401 - fixture
    valid_files,
)
from immunoport.workspaces.models import Membership

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage", "immediate_tasks")]


def member(workspace, name, role):
    user = approved_user(name)
    Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


@pytest.fixture
def uploader(workspace):
    return member(workspace, "uploader", Membership.Role.UPLOADER)


@pytest.fixture
def viewer(workspace):
    return member(workspace, "viewer", Membership.Role.VIEWER)


def page_of(package):
    return f"/workspaces/{package.workspace_id}/packages/{package.pk}/"


def test_upload_submit_and_read_the_outcome(client, sign_in, workspace, uploader, loader):
    sign_in(client, uploader)
    form = client.get(f"/workspaces/{workspace.pk}/upload/")
    assert form.status_code == 200
    assert "Upload notes" in form.content.decode()
    response = client.post(
        f"/workspaces/{workspace.pk}/upload/",
        {"name": "Flu vaccine 2021", "notes": "first batch", "mode": "load"},
    )
    package = Package.objects.get()
    assert response["Location"] == page_of(package)
    assert (package.state, package.notes, package.submitted_by) == ("open", "first batch", uploader)

    empty = client.get(page_of(package)).content.decode()
    assert f'data-package="{package.pk}"' in empty  # the uploader
    assert 'data-endpoint="/uploads/tus/"' in empty
    assert "vendor/uppy/uppy.min.js" in empty
    assert 'id="submit-package" disabled' in empty.replace("\n", " ").replace("  ", " ")

    attach(package, valid_files(), "flu/")
    response = client.post(page_of(package) + "submit/")
    assert response["Location"] == page_of(package)
    package.refresh_from_db()
    assert package.state == "loaded"

    html = client.get(page_of(package)).content.decode()
    assert "<strong>Loaded</strong>" in html
    assert "Valid:" in html  # the report, as the Validate page shows it
    assert "flu/bioSamples.txt" in html
    assert "<td>SDY990001</td><td>flu_vax_2021</td>" in html  # accession, user-defined ID
    assert "hx-trigger" not in html  # finished: no more polling
    assert 'data-package="' not in html  # submitted: no more files

    history = client.get(f"/workspaces/{workspace.pk}/packages/").content.decode()
    assert "Flu vaccine 2021</a>" in history
    assert '<td class="state-loaded">Loaded</td>' in history

    status = client.get(page_of(package) + "status.json").json()
    assert status["state"] == "loaded"
    assert status["valid"] is True
    assert status["records"] == {"study": {"created": 1}, "subject": {"created": 1, "updated": 1}}
    actions = list(AuditEvent.objects.filter(actor=uploader).values_list("action", "detail__step"))
    assert ("uploaded", "created") in actions
    assert ("uploaded", "submitted") in actions
    assert ("viewed", None) in actions


def test_a_running_package_page_polls_and_the_poll_answers_a_fragment(
    client, sign_in, workspace, uploader, viewer
):
    package = services.create_package(workspace, uploader, "slow")
    Package.objects.filter(pk=package.pk).update(state="validating", progress=10, step="Validating")
    sign_in(client, viewer)
    html = client.get(page_of(package)).content.decode()
    assert f'hx-get="{page_of(package)}"' in html
    assert 'hx-trigger="every 2s"' in html
    assert "vendor/htmx/htmx.min.js" in html
    assert '<progress max="100" value="10"' in html
    fragment = client.get(page_of(package), headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="package-status"')
    assert "<html" not in fragment
    assert AuditEvent.objects.filter(action="viewed", actor=viewer).count() == 1  # not per poll


def test_an_invalid_package_shows_its_findings_and_no_records(
    client, sign_in, workspace, uploader, loader
):
    package = services.create_package(workspace, uploader, "broken")
    attach(package, valid_files({"bioSamples.txt": ("\tsub_2\t", "\tsub_99\t")}))
    sign_in(client, uploader)
    client.post(page_of(package) + "submit/")
    html = client.get(page_of(package)).content.decode()
    assert "<strong>Not valid</strong>" in html
    assert "names no subject defined in this package or the workspace" in html
    assert "Records created or updated" not in html
    assert loader.calls == []


def test_a_viewer_reads_but_cannot_create_or_submit(client, sign_in, workspace, uploader, viewer):
    package = services.create_package(workspace, uploader, "theirs")
    attach(package, {"a.txt": b"x"})
    sign_in(client, viewer)
    assert client.get(page_of(package)).status_code == 200
    assert client.get(f"/workspaces/{workspace.pk}/packages/").status_code == 200
    assert 'data-package="' not in client.get(page_of(package)).content.decode()
    assert client.get(f"/workspaces/{workspace.pk}/upload/").status_code == 404
    assert client.post(f"/workspaces/{workspace.pk}/packages/", {"name": "x"}).status_code == 404
    assert client.post(page_of(package) + "submit/").status_code == 404
    package.refresh_from_db()
    assert package.state == "open"


def test_a_member_of_another_workspace_gets_404(client, sign_in, workspace, other_workspace):
    owner = member(workspace, "owner", Membership.Role.OWNER)
    stranger = member(other_workspace, "stranger", Membership.Role.OWNER)
    package = services.create_package(workspace, owner, "private")
    sign_in(client, stranger)
    for url in (page_of(package), page_of(package) + "status.json"):
        assert client.get(url).status_code == 404
    assert client.post(page_of(package) + "submit/").status_code == 404
    # Its own workspace's number with another workspace's package: no such package.
    wrong = f"/workspaces/{other_workspace.pk}/packages/{package.pk}/"
    assert client.get(wrong).status_code == 404


def test_the_history_lists_every_package_in_a_fixed_number_of_queries(
    client, sign_in, workspace, uploader, django_assert_num_queries
):
    sign_in(client, uploader)
    url = f"/workspaces/{workspace.pk}/packages/"
    services.create_package(workspace, uploader, "one")
    client.get(url)
    with django_assert_num_queries(9) as few:
        client.get(url)
    for n in range(5):
        services.create_package(workspace, uploader, f"more {n}")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("/packages/") >= 6


# --- the JSON API, for scripts and `immunoport upload` ---------------------------------


def bearer(secret: str) -> dict:
    return {"Authorization": f"bearer {secret}"}


def test_a_workspace_write_token_creates_and_submits(client, workspace, uploader, loader):
    secret = create_token(uploader, "laptop", "workspace-write", workspace)[1]
    response = client.post(
        f"/workspaces/{workspace.pk}/packages/",
        {"name": "scripted", "mode": "validate"},
        headers=bearer(secret),
    )
    assert response.status_code == 201
    created = response.json()
    assert created["upload_url"] == "http://testserver/uploads/tus/"
    assert created["metadata"] == {"package": created["id"]}
    assert (created["state"], created["mode"]) == ("open", "validate")
    package = Package.objects.get(pk=created["id"])
    assert package.submitted_by == uploader
    refused = client.post(created["submit_url"], headers=bearer(secret))
    assert (refused.status_code, refused.json()["error"]) == (409, "The package has no files yet.")
    attach(package, valid_files())
    submitted = client.post(created["submit_url"], headers=bearer(secret))
    assert submitted.status_code == 202
    status = client.get(created["status_json_url"], headers=bearer(secret)).json()
    assert (status["state"], status["valid"], status["errors"]) == ("valid", True, 0)


def test_tokens_that_may_not_write_here_are_refused(client, workspace, other_workspace, uploader):
    member(other_workspace, "uploader-b", Membership.Role.UPLOADER)
    reader = create_token(uploader, "reader", "read-shared")[1]
    url = f"/workspaces/{workspace.pk}/packages/"
    assert client.post(url, {"name": "x"}, headers=bearer(reader)).status_code == 403
    assert client.post(url, {"name": "x"}, headers=bearer("ipt_nonsense")).status_code == 401
    elsewhere = create_token(
        Membership.objects.get(workspace=other_workspace).user,
        "b",
        "workspace-write",
        other_workspace,
    )[1]
    assert client.post(url, {"name": "x"}, headers=bearer(elsewhere)).status_code == 404
    assert not Package.objects.exists()


def test_a_session_must_send_its_csrf_token(sign_in, workspace, uploader):
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, uploader)
    url = f"/workspaces/{workspace.pk}/packages/"
    refused = browser.post(url, {"name": "x"}, headers={"Accept": "application/json"})
    assert refused.status_code == 403
    browser.get(f"/workspaces/{workspace.pk}/upload/")  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(
        url, {"name": "x"}, headers={"Accept": "application/json", "X-CSRFToken": csrf}
    )
    assert response.status_code == 201


# --- the tus server's hooks ----------------------------------------------------------


def tus_request(user=None, token=None):
    request = RequestFactory().post("/uploads/tus/")
    request.user = user
    if token is not None:
        request.tus_token = token
    return request


def test_tus_authorize_lets_writers_of_an_open_package_upload(workspace, uploader, viewer):
    package = services.create_package(workspace, uploader, "p")
    metadata = {"package": str(package.pk), "relativePath": "flu/a.txt"}
    assert services.tus_authorize(tus_request(uploader), metadata) == (
        uploader,
        f"workspace:{workspace.pk}",
    )
    with pytest.raises(Http404):
        services.tus_authorize(tus_request(viewer), metadata)
    with pytest.raises(Http404):
        services.tus_authorize(tus_request(uploader), {"package": "not-a-uuid"})
    with pytest.raises(PermissionDenied, match="refused file path"):
        services.tus_authorize(tus_request(uploader), {**metadata, "relativePath": "../x"})
    reader = create_token(uploader, "r", "read-shared")[0]
    with pytest.raises(PermissionDenied, match="workspace-write"):
        services.tus_authorize(tus_request(uploader, reader), metadata)
    Package.objects.filter(pk=package.pk).update(state="received")
    with pytest.raises(PermissionDenied, match="no more files"):
        services.tus_authorize(tus_request(uploader), metadata)


def test_tus_quota_is_the_workspace_setting(settings, workspace):
    assert services.tus_quota(f"workspace:{workspace.pk}") is None
    settings.IMMUNOPORT_WORKSPACE_QUOTA_GB = 2
    assert services.tus_quota(f"workspace:{workspace.pk}") == 2 * 1024**3
    assert services.tus_quota("user:1") is None


def test_a_file_sent_again_replaces_the_first(workspace, uploader):
    package = services.create_package(workspace, uploader, "p")
    services.attach_file(package, "flu/a.txt", b"first")
    services.attach_file(package, "flu/a.txt", b"second, longer")
    assert list(package.files.values_list("relative_path", "size")) == [("flu/a.txt", 14)]


def test_a_dropped_folder_keeps_its_structure_and_single_files_their_names(workspace, uploader):
    package = services.create_package(workspace, uploader, "p")
    for metadata in (
        {"relativePath": "/flu/templates/a.txt", "name": "a.txt"},
        {"relativePath": "null", "name": "b.txt", "filename": "b.txt"},
        {"name": "c.txt"},
    ):
        upload = services._Finished(
            id="x", metadata={"package": str(package.pk), **metadata}, length=1,
            storage_name="x", sha256="", md5="",
        )  # fmt: skip
        services.tus_on_complete(upload)
    paths = list(package.files.values_list("relative_path", flat=True))
    assert paths == ["b.txt", "c.txt", "flu/templates/a.txt"]


@pytest.mark.parametrize("path", ["/etc/passwd", "a/../../b", "C:/x", "", "a\x00b"])
def test_escaping_paths_are_refused(path):
    with pytest.raises(ValueError, match="refused file path"):
        services.clean_relative_path(path)


def test_the_package_json_is_plain_json(client, sign_in, workspace, uploader):
    package = services.create_package(workspace, uploader, "p")
    sign_in(client, uploader)
    body = client.get(page_of(package) + "status.json").content
    assert json.loads(body)["state_label"] == "Receiving files"


def test_a_file_completing_after_the_submit_is_refused(settings, workspace, uploader):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    package = services.create_package(workspace, uploader, "p")
    services.attach_file(package, "a.txt", b"in time")
    services.submit_package(package, uploader)
    with pytest.raises(PermissionDenied, match="submitted before this file was complete"):
        services.attach_file(package, "b.txt", b"too late")
    assert list(package.files.values_list("relative_path", flat=True)) == ["a.txt"]


def test_the_portal_upload_page_links_each_writable_workspace(
    client, sign_in, workspace, other_workspace, uploader
):
    assert "Sign in</a> to upload" in client.get("/upload/").content.decode()
    sign_in(client, uploader)
    html = client.get("/upload/").content.decode()
    assert f'href="/workspaces/{workspace.pk}/upload/"' in html
    assert f'href="/workspaces/{workspace.pk}/packages/"' in html
    assert other_workspace.name not in html
