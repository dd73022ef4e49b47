"""The validator's view of a workspace: which records already exist there."""

from immunoport.core.models import AccessionedRecord
from immunoport.studies.registry import models_by_table
from immunoport.validation.validator import Report, validate_package
from immunoport.workspaces.models import Workspace


def existing_records(workspace: Workspace) -> dict[str, set[str]]:
    """Per ImmPort table, the user-defined IDs and accessions the workspace holds."""
    existing: dict[str, set[str]] = {}
    for table, model in models_by_table().items():
        if not issubclass(model, AccessionedRecord):
            continue
        rows = model._default_manager.filter(workspace=workspace).values_list(
            "pk", "user_defined_id"
        )
        existing[table] = {value for row in rows for value in row if value}
    return existing


def validate_for_workspace(path, workspace: Workspace | None) -> Report:
    """Validate a package; with a workspace, references may name its records."""
    existing = existing_records(workspace) if workspace is not None else None
    return validate_package(path, existing=existing)
