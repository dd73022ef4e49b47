"""Site-wide roles beyond workspace membership, as Django groups.

Staff run the repository (approve accounts and workspace requests, publish agreement
versions, read the audit log); curators review data for sharing and build releases
(``curation.permissions``). Neither role opens a workspace's private pages: only
membership does (workspaces.permissions).
The groups are brought up to date after every ``migrate`` (and test flush): Django
creates each app's permissions as its post-migrate signal goes by, so the sync runs
on every one and sets the permissions that exist so far.
"""

from django.contrib.auth.models import Group, Permission

# Curators review sharing requests, clear flagged text, map reported values and build
# data releases; staff may do all of it too.
CURATION = (
    "releases.view_sharingrequest",
    "releases.change_sharingrequest",
    "releases.add_datarelease",
    "curation.view_textflag",
    "curation.change_textflag",
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "Staff": (
        "accounts.view_profile",
        "accounts.change_profile",
        "accounts.view_datauseagreement",
        "accounts.add_datauseagreement",
        "accounts.view_auditevent",
        "accounts.view_apitoken",
        "accounts.change_apitoken",
        "workspaces.view_workspacerequest",
        "workspaces.change_workspacerequest",
        "workspaces.view_workspace",
        "workspaces.view_membership",
        "workspaces.view_invitation",
        "studies.add_program",
        "studies.change_program",
        "studies.view_program",
        *CURATION,
    ),
    "Curators": CURATION,
}


def role_permissions(codes: tuple[str, ...]) -> list[Permission]:
    found = []
    for code in codes:
        app_label, codename = code.split(".")
        found.extend(
            Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        )
    return found


def sync_role_groups(using: str = "default", **kwargs) -> None:
    for name, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(role_permissions(codes))
