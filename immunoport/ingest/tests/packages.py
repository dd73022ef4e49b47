"""What the package tests share: a valid package, a stand-in loader, attached files."""

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from immunoport.ingest import services
from immunoport.ingest.models import Package
from immunoport.studies.models import Study

VALID = Path(__file__).resolve().parents[2] / "validation" / "tests" / "packages" / "valid"


def valid_files(replace: dict[str, tuple[str, str]] | None = None) -> dict[str, bytes]:
    """The validator's valid package, file name → bytes, with optional replacements."""
    files = {}
    for path in sorted(VALID.iterdir()):
        content = path.read_bytes()
        if replace and path.name in replace:
            old, new = replace[path.name]
            content = content.replace(old.encode(), new.encode())
        files[path.name] = content
    return files


def as_zip(files: dict[str, bytes], folder: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{folder}{name}", content)
    return buffer.getvalue()


def attach(package: Package, files: dict[str, bytes], folder: str = "") -> None:
    for name, content in files.items():
        services.attach_file(package, f"{folder}{name}", content)


@dataclass
class LoadedRecord:
    table: str
    accession: str
    user_defined_id: str
    action: str


@dataclass
class LoadResult:
    records: list[LoadedRecord] = field(default_factory=list)


@dataclass
class FakeLoader:
    """The loader's API (``load_package(source, workspace, *, user, progress)``): writes one
    real study, then returns its records, raises, or crashes, as told."""

    fail_with: Exception | None = None
    calls: list[dict] = field(default_factory=list)

    def __call__(self, source: Path, workspace, *, user=None, progress=None, package_id=None):
        self.calls.append(
            {"source": source, "workspace": workspace, "user": user, "package_id": package_id}
        )
        names = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
        self.calls[-1]["files"] = names
        study = Study.objects.create(
            study_accession="SDY990001",
            workspace_id=workspace.pk,
            brief_title="Antibody response to seasonal influenza vaccine",
            user_defined_id="flu_vax_2021",
        )
        if progress is not None:
            progress("basic_study_design.txt: study", 1)
        if self.fail_with is not None:
            raise self.fail_with
        return LoadResult(
            [
                LoadedRecord("study", study.pk, "flu_vax_2021", "created"),
                LoadedRecord("subject", "SUB990001", "sub_1", "created"),
                LoadedRecord("subject", "SUB990002", "sub_2", "updated"),
            ]
        )


@pytest.fixture(name="loader")
def loader_fixture(monkeypatch) -> FakeLoader:
    fake = FakeLoader()
    monkeypatch.setattr(services, "load_package", fake)
    return fake


@pytest.fixture(name="immediate_tasks")
def immediate_tasks_fixture(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(name="storage")
def storage_fixture(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


@pytest.fixture(name="own_storage")
def own_storage_fixture(settings, tmp_path) -> Path:
    """Stored files go to a folder of the test's own."""
    location = tmp_path / "storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location
