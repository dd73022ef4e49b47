"""The documents a study's templates name (protocols, study files), as stored.

The loader stores each named file once per load and records it in ``file_info`` with
the template it came from in ``detail``; protocols and study files have no link table
of their own, so they are found again by name.
"""

from collections.abc import Iterable

from django.db import models

from immunoport.studies.models import FileInfo
from immunoport.workspaces.models import Workspace

PROTOCOLS = "protocols.txt"
DESIGN = "basic_study_design.txt"


def stored_documents(workspace: Workspace, names: Iterable[str]) -> dict[str, str]:
    """The stored copy (storage name) of each document the workspace's study templates
    named: protocols and study files, newest first."""
    stored: dict[str, str] = {}
    rows = (
        FileInfo.objects.filter(workspace=workspace, original_file_name__in=set(names))
        .filter(models.Q(detail__startswith=PROTOCOLS) | models.Q(detail__startswith=DESIGN))
        .order_by("-pk")
        .values_list("original_file_name", "name")
    )
    for original, name in rows:
        stored.setdefault(original, name)
    return stored
