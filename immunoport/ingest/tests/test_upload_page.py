"""The Upload page in a real browser: Uppy's Dashboard over the tus server, then the status."""

import hashlib

import pytest

from conftest import approved_user, enrol_totp, sign_in_with_browser
from immunoport.ingest.models import Package
from immunoport.ingest.tests.packages import (
    immediate_tasks_fixture,  # noqa: F401 - fixture
    loader_fixture,  # noqa: F401 - fixture
    storage_fixture,  # noqa: F401 - fixture
    valid_files,
)
from immunoport.tus.models import Upload
from immunoport.workspaces.models import Membership


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("storage", "immediate_tasks")
def test_a_provider_uploads_a_package_in_the_browser(
    page, live_server, workspace, tmp_path, loader
):
    user = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
    folder = tmp_path / "flu"
    folder.mkdir()
    for name, content in valid_files().items():
        (folder / name).write_bytes(content)
    problems = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )

    page.goto(f"{live_server.url}/workspaces/{workspace.pk}/upload/")
    sign_in_with_browser(page, "uploader", "a long pass phrase", enrol_totp(user))
    page.wait_for_url(f"{live_server.url}/workspaces/{workspace.pk}/upload/")
    page.get_by_label("Package name").fill("Flu vaccine 2021")
    page.get_by_label("Upload notes").fill("from the browser")
    page.get_by_role("button", name="Continue to the files").click()
    package = Package.objects.get()
    page.wait_for_url(f"**/packages/{package.pk}/")

    page.locator("#uppy-dashboard input[type=file]").first.set_input_files(
        sorted(str(path) for path in folder.iterdir())
    )
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    # When every file is in, the page reloads with the files listed and submit enabled.
    page.locator("#package-files", has_text="subjectHumans.txt").wait_for(timeout=30_000)
    assert package.files.count() == len(valid_files())
    page.get_by_role("button", name="Submit the package").click()
    page.locator(".package-state", has_text="Loaded").wait_for()
    assert "SDY990001" in page.get_by_role("region", name="Records").inner_text()
    package.refresh_from_db()
    assert (package.state, package.notes) == ("loaded", "from the browser")
    # No script error, nothing refused by the CSP, no failed request (the favicon aside).
    assert [p for p in problems if "favicon.ico" not in p and "404 (Not Found)" not in p] == []
    assert not any(p.startswith("4") or p.startswith("5") for p in problems)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_status_page_follows_the_job_by_itself(page, live_server, workspace):
    from immunoport.ingest import services

    user = approved_user("viewer")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.VIEWER)
    package = services.create_package(workspace, user, "slow")
    Package.objects.filter(pk=package.pk).update(state="loading", progress=60, step="Loading")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server.url}/workspaces/{workspace.pk}/packages/{package.pk}/")
    sign_in_with_browser(page, "viewer", "a long pass phrase")
    page.locator(".package-state", has_text="Loading").wait_for()
    Package.objects.filter(pk=package.pk).update(state="failed", error="disk on fire")
    page.locator(".package-state", has_text="Failed").wait_for(timeout=10_000)
    assert page.locator(".problem").inner_text() == "disk on fire"
    assert page.locator("[hx-trigger]").count() == 0  # finished: polling stopped
    assert [p for p in problems if "favicon" not in p and "404 (Not Found)" not in p] == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("storage")
def test_an_upload_cut_off_by_a_closed_tab_resumes_where_it_stopped(
    settings, page, live_server, workspace, tmp_path
):
    from immunoport.ingest import services

    settings.PACKAGE_UPLOAD_CHUNK_BYTES = 64 * 1024
    user = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
    package = services.create_package(workspace, user, "big")
    data = tmp_path / "cytometry.fcs"
    data.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: 16 chunks
    offsets: list[int] = []
    cut = {"after": 5, "aborted": 0}

    def network(route):
        if route.request.method != "PATCH":
            return route.continue_()
        if len(offsets) >= cut["after"] and not cut.get("restored"):
            cut["aborted"] += 1
            return route.abort()
        offsets.append(int(route.request.headers["upload-offset"]))
        return route.continue_()

    context = page.context
    context.route("**/uploads/tus/**", network)
    url = f"{live_server.url}/workspaces/{workspace.pk}/packages/{package.pk}/"
    page.goto(url)
    sign_in_with_browser(page, "uploader", "a long pass phrase", enrol_totp(user))
    page.wait_for_url(url)
    page.locator("#uppy-dashboard input[type=file]").first.set_input_files(str(data))
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    deadline = 200
    while not cut["aborted"] and deadline:
        page.wait_for_timeout(100)
        deadline -= 1
    assert offsets == [i * 64 * 1024 for i in range(5)]
    page.close()  # the tab is closed mid-upload
    # what the server acknowledged: on a loaded machine Chromium has been seen to deliver
    # the chunk whose interception was being aborted as the tab closed
    acknowledged = Upload.objects.get().offset
    assert acknowledged in (5 * 64 * 1024, 6 * 64 * 1024)

    cut["restored"] = True
    again = context.new_page()
    again.goto(url)
    # Uppy brings the file back; uploading it again goes on from the server's offset.
    again.locator(".uppy-StatusBar-actionBtn--upload").click()
    again.locator("#package-files", has_text="cytometry.fcs").wait_for(timeout=30_000)
    assert offsets[5] == acknowledged  # from the server's offset, not from zero
    assert offsets[5:] == list(range(acknowledged, 1024 * 1024, 64 * 1024))
    stored = package.files.get()
    assert stored.size == 1024 * 1024
    assert stored.md5 == hashlib.md5(data.read_bytes()).hexdigest()
