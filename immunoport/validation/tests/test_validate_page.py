"""The Validate page of a workspace, through real HTTP and a real browser."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import approved_user, enrol_totp, sign_in_with_browser
from immunoport.studies.models import Study
from immunoport.workspaces.models import Membership

VALID = Path(__file__).resolve().parent / "packages" / "valid"


def package_files(replace: dict[str, tuple[str, str]] | None = None) -> list[SimpleUploadedFile]:
    files = []
    for path in sorted(VALID.iterdir()):
        content = path.read_bytes()
        if replace and path.name in replace:
            old, new = replace[path.name]
            content = content.replace(old.encode(), new.encode())
        files.append(SimpleUploadedFile(path.name, content))
    return files


@pytest.fixture
def uploader(workspace) -> User:
    user = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
    return user


@pytest.mark.django_db
def test_a_valid_package_is_reported_valid(sign_in, client, workspace, uploader):
    sign_in(client, uploader)
    response = client.post(f"/workspaces/{workspace.pk}/validate/", {"files": package_files()})
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.errors, report.warnings, len(report.files)) == (0, 0, 7)
    assert "Valid:" in response.content.decode()


@pytest.mark.django_db
def test_findings_name_file_line_column_and_fix(sign_in, client, workspace, uploader):
    sign_in(client, uploader)
    files = package_files({"bioSamples.txt": ("\tsub_2\t", "\tsub_99\t")})
    response = client.post(f"/workspaces/{workspace.pk}/validate/", {"files": files})
    findings = response.context["findings"]
    assert [(f["file"], f["line"], f["column"], f["value"], f["rule"]) for f in findings] == [
        ("bioSamples.txt", 6, "Subject ID", "sub_99", "reference")
    ]
    html = response.content.decode()
    assert "names no subject defined in this package or the workspace" in html
    assert "Define it in its template in the same package" in html


@pytest.mark.django_db
def test_references_resolve_to_records_already_in_the_workspace(
    sign_in, client, workspace, other_workspace, uploader
):
    """A package may name a study stored earlier in the same workspace, not in another."""
    sign_in(client, uploader)
    mine = Study.objects.create(workspace=workspace, user_defined_id="old_study")
    Study.objects.create(workspace=other_workspace, user_defined_id="their_study")
    for study_id, expected in [(mine.study_accession, 0), ("old_study", 0), ("their_study", 1)]:
        files = package_files(
            {"bioSamples.txt": ("\tsub_2\tflu_vax_2021\t", f"\tsub_2\t{study_id}\t")}
        )
        report = client.post(f"/workspaces/{workspace.pk}/validate/", {"files": files}).context[
            "report"
        ]
        assert report.errors == expected, study_id


@pytest.mark.django_db
def test_a_zip_is_validated_and_a_broken_one_is_explained(
    sign_in, client, workspace, uploader, tmp_path
):
    import shutil

    sign_in(client, uploader)
    archive = shutil.make_archive(str(tmp_path / "package"), "zip", VALID)
    with open(archive, "rb") as handle:
        upload = SimpleUploadedFile("package.zip", handle.read())
    report = client.post(f"/workspaces/{workspace.pk}/validate/", {"files": [upload]}).context[
        "report"
    ]
    assert report.is_valid
    assert len(report.files) == 7
    broken = SimpleUploadedFile("package.zip", b"PK\x03\x04 this is no zip")
    response = client.post(f"/workspaces/{workspace.pk}/validate/", {"files": [broken]})
    assert "not a readable zip archive" in response.content.decode()
    assert "report" not in response.context


@pytest.mark.django_db
@pytest.mark.parametrize("role", [None, Membership.Role.VIEWER])
def test_only_members_who_upload_may_validate(sign_in, client, workspace, role):
    user = User.objects.create_user("someone", password="a long pass phrase")
    if role:
        Membership.objects.create(workspace=workspace, user=user, role=role)
    sign_in(client, user)
    assert client.get(f"/workspaces/{workspace.pk}/validate/").status_code == 404


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(sign_in, client, workspace):
    response = client.get(f"/workspaces/{workspace.pk}/validate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_provider_validates_in_the_browser(page, live_server, workspace, uploader, tmp_path):
    broken = tmp_path / "subjectHumans.txt"
    broken.write_text((VALID / "subjectHumans.txt").read_text().replace("\tFemale\t", "\tFemail\t"))
    page.goto(f"{live_server.url}/workspaces/{workspace.pk}/validate/")
    sign_in_with_browser(page, "uploader", "a long pass phrase", enrol_totp(uploader))
    page.wait_for_url(f"{live_server.url}/workspaces/{workspace.pk}/validate/")
    page.get_by_label("Files").set_input_files([str(broken)])
    page.get_by_role("button", name="Validate").click()
    report = page.get_by_role("region", name="Validation report")
    report.wait_for()
    assert "Not valid" in report.locator(".verdict").inner_text()
    row = report.locator("tr.error", has_text="Femail")
    assert "'Femail' is not a term of lk_gender; did you mean 'Female'" in row.inner_text()
