"""``immunoport upload`` against a live server: token, tus uploads, submit, status."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader import Uploader

from conftest import approved_user
from immunoport.accounts.services import create_token
from immunoport.ingest.models import Package
from immunoport.ingest.tests.packages import (
    as_zip,
    immediate_tasks_fixture,  # noqa: F401 - fixture
    loader_fixture,  # noqa: F401 - fixture
    storage_fixture,  # noqa: F401 - fixture
    valid_files,
)
from immunoport.workspaces.models import Membership

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("storage", "immediate_tasks"),
]


@pytest.fixture(autouse=True)
def _resume_file_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def uploader(workspace):
    user = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
    return user


@pytest.fixture
def token(uploader, workspace) -> str:
    return create_token(uploader, "laptop", "workspace-write", workspace)[1]


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "flu"
    for name, content in valid_files().items():
        (root / "templates").mkdir(parents=True, exist_ok=True)
        (root / "templates" / name).write_bytes(content)
    return root


def upload(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("upload", *map(str, args), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_a_folder_is_uploaded_submitted_loaded_and_its_status_printed(
    live_server, workspace, uploader, token, folder, loader
):
    out, err = upload(folder, workspace=workspace.pk, token=token, url=live_server.url, wait=True)
    package = Package.objects.get()
    assert (package.name, package.state, package.submitted_by) == ("flu", "loaded", uploader)
    assert sorted(package.files.values_list("relative_path", flat=True)) == sorted(
        f"templates/{name}" for name in valid_files()
    )
    stored = package.files.get(relative_path="templates/protocols.txt")
    assert (len(stored.sha256), len(stored.md5)) == (64, 32)
    assert "flu/templates/bioSamples.txt" not in loader.calls[0]["files"]
    assert "templates/bioSamples.txt" in loader.calls[0]["files"]
    assert f"{live_server.url}/workspaces/{workspace.pk}/packages/{package.pk}/" in out
    assert out.rstrip().endswith("Loaded")
    assert "100% " in err  # the progress bar reached the end of each file


def test_validate_only_with_a_zip_and_a_token_from_the_environment(
    live_server, workspace, token, tmp_path, monkeypatch, loader
):
    archive = tmp_path / "flu.zip"
    archive.write_bytes(as_zip(valid_files()))
    monkeypatch.setenv("IMMUNOPORT_TOKEN", token)
    from immunoport.ingest.management.commands import upload as command

    parser = command.Command().create_parser("immunoport", "upload")
    options = vars(parser.parse_args([str(archive), "--workspace", str(workspace.pk)]))
    assert options["token"] == token
    upload(
        archive, workspace=workspace.pk, token=token, url=live_server.url,
        name="check", validate_only=True, wait=True,
    )  # fmt: skip
    package = Package.objects.get()
    assert (package.name, package.mode, package.state) == ("check", "validate", "valid")
    assert loader.calls == []


def test_an_interrupted_upload_resumes_where_it_stopped(
    live_server, workspace, token, tmp_path, monkeypatch, loader
):
    big = tmp_path / "data"
    big.mkdir()
    (big / "serum.csv").write_bytes(b"0123456789abcdef" * 1024)  # 16 KiB, 16 chunks
    real_chunk = Uploader.upload_chunk
    sent = []

    def flaky(self):
        if len(sent) == 5 and not getattr(flaky, "failed", False):
            flaky.failed = True
            raise TusCommunicationError("network dropped")
        sent.append(self.offset)
        real_chunk(self)

    monkeypatch.setattr(Uploader, "upload_chunk", flaky)
    with pytest.raises(CommandError, match="network dropped"):
        upload(big, workspace=workspace.pk, token=token, url=live_server.url, chunk_size=1024)
    package = Package.objects.get()
    assert (package.state, package.files.count()) == ("open", 0)
    upload(
        big, workspace=workspace.pk, token=token, url=live_server.url, chunk_size=1024,
        package=str(package.pk),
    )  # fmt: skip
    # The second run went on from byte 5 KiB: no chunk was sent twice.
    assert sent == [i * 1024 for i in range(16)]
    package.refresh_from_db()
    assert package.state != "open"
    assert package.files.get().size == 16 * 1024


def test_a_read_shared_token_is_refused(live_server, workspace, uploader, folder):
    shared = create_token(uploader, "reader", "read-shared")[1]
    with pytest.raises(CommandError, match="403 This needs a workspace-write token"):
        upload(folder, workspace=workspace.pk, token=shared, url=live_server.url)
    assert not Package.objects.exists()


def test_a_token_of_another_workspace_gets_404(
    live_server, workspace, other_workspace, token, folder
):
    with pytest.raises(CommandError, match="404"):
        upload(folder, workspace=other_workspace.pk, token=token, url=live_server.url)


def test_no_token_no_upload(workspace, folder, monkeypatch):
    monkeypatch.delenv("IMMUNOPORT_TOKEN", raising=False)
    with pytest.raises(CommandError, match="API token"):
        upload(folder, workspace=workspace.pk, token="")


def test_the_workspace_quota_stops_an_upload_that_would_exceed_it(
    settings, live_server, workspace, token, tmp_path
):
    settings.IMMUNOPORT_WORKSPACE_QUOTA_GB = 3000 / 1024**3  # 3,000 bytes
    files = tmp_path / "data"
    files.mkdir()
    (files / "a.csv").write_bytes(b"a" * 2000)
    (files / "b.csv").write_bytes(b"b" * 2000)
    with pytest.raises(CommandError, match="b.csv: .*quota of 3000 bytes"):
        upload(files, workspace=workspace.pk, token=token, url=live_server.url)
    assert list(Package.objects.get().files.values_list("relative_path", flat=True)) == ["a.csv"]
