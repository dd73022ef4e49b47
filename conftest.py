"""Fixtures shared by every app's tests."""

import pytest

from immunoport.workspaces.models import Workspace


@pytest.fixture
def workspace(db) -> Workspace:
    return Workspace.objects.create(name="Provider lab")


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(name="Other lab")
