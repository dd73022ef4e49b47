"""The loader of filled templates, on a real database: the golden package and DR34 studies."""

import shutil
from pathlib import Path

import pytest

from immunoport.ingest.loader import load_package
from immunoport.studies import models as m

GOLDEN = Path(__file__).resolve().parents[2] / "validation" / "tests" / "packages" / "valid"


@pytest.fixture
def golden(tmp_path) -> Path:
    target = tmp_path / "valid"
    shutil.copytree(GOLDEN, target)
    return target


@pytest.mark.django_db
def test_the_golden_package_loads(workspace, golden):
    result = load_package(golden, workspace)
    print(result.counts)
    assert m.Subject.objects.filter(workspace=workspace).count() == 2
