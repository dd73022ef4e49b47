"""Who may reach which private page: every actor × every private page and action.

The matrix is generated from two tables: ``PRIVATE`` names, for each private URL
and method, which actors may use it; ``PUBLIC`` lists the URLs anyone may use.
A test walks the URL configuration and fails on any URL of ours that is in
neither table, so a new page cannot go unchecked. Every response to an actor
outside workspace B is searched for B's names: a member of A never sees a byte
of B.
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group, User
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conftest import approved_user
from immunoport.accounts.services import create_token
from immunoport.studies.models import Study
from immunoport.workspaces.models import Membership, Workspace
from immunoport.workspaces.services import invite

ACTORS = (
    "anonymous",
    "outsider",
    "other_member",
    "viewer",
    "uploader",
    "owner",
    "curator",
    "staff",
)
SIGNED_IN = frozenset(ACTORS) - {"anonymous"}
CURATORS = frozenset({"curator", "staff"})
MEMBERS_OF_A = frozenset({"viewer", "uploader", "owner"})
WRITERS_OF_A = frozenset({"uploader", "owner"})

# What workspace B holds; none of it may appear in a page shown to anyone but B's member.
B_SECRETS = ("Bluebird Cohort Lab", "bmember", "Bluebird vaccine trial", "bluebird-laptop")


@dataclass
class World:
    """Workspace A with one actor per role, workspace B with its own member and data."""

    a: Workspace
    b: Workspace
    users: dict[str, User]
    objects: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Private:
    """One private URL and method; ``allowed`` actors succeed, the others must not."""

    name: str
    allowed: frozenset[str]
    method: str = "GET"
    kwargs: Callable[[World], dict] = lambda world: {}
    data: Callable[[World], dict] = lambda world: {}
    # The same URL on workspace B's objects, which no actor of A may reach.
    kwargs_of_b: Callable[[World], dict] | None = None
    # Curators' pages list every workspace's sharing requests, B's too: curators and
    # staff may see B's names there; every other actor still must not.
    curators_see_b: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}"


def in_a(world: World) -> dict:
    return {"workspace_id": world.a.pk}


def in_b(world: World) -> dict:
    return {"workspace_id": world.b.pk}


def membership(world: World, workspace: str, user: str) -> dict:
    member = world.objects[f"{workspace}_{user}_membership"]
    return {"workspace_id": member.workspace_id, "membership_id": member.pk}


def invitation(world: World, workspace: str) -> dict:
    sent = world.objects[f"{workspace}_invitation"]
    return {"workspace_id": sent.workspace_id, "invitation_id": sent.pk}


def package(world: World, workspace: str) -> dict:
    """A package of the workspace, made the first time a page asks for it."""
    from immunoport.ingest.models import Package

    key = f"{workspace}_package"
    if key not in world.objects:
        owner = "owner" if workspace == "a" else "other_member"
        world.objects[key] = Package.objects.create(
            workspace=world.a if workspace == "a" else world.b,
            submitted_by=world.users[owner],
            name="Aster package" if workspace == "a" else B_SECRETS[2],
        )
    made = world.objects[key]
    return {"workspace_id": made.workspace_id, "package_id": made.pk}


def grant(world: World, workspace: str) -> dict:
    """A contract/grant of the workspace, made the first time a page asks for it."""
    from immunoport.studies.models import ContractGrant, Program

    key = f"{workspace}_grant"
    if key not in world.objects:
        owner = world.a if workspace == "a" else world.b
        program = Program.objects.create(workspace=owner, name="Program", category="NIH")
        world.objects[key] = ContractGrant.objects.create(
            workspace=owner,
            program=program,
            category="Grant",
            external_id="U19AI000001" if workspace == "a" else "U19AI999999",
            name="Aster grant" if workspace == "a" else B_SECRETS[2],
        )
    made = world.objects[key]
    return {"workspace_id": made.workspace_id, "grant_id": made.pk}


def draft(world: World, workspace: str, slug: str | None = None) -> dict:
    """A study registration draft of the workspace, made the first time a page asks."""
    from immunoport.studies.drafts import StudyDraft

    key = f"{workspace}_draft"
    if key not in world.objects:
        title = "Aster draft" if workspace == "a" else B_SECRETS[2]
        world.objects[key] = StudyDraft.objects.create(
            workspace=world.a if workspace == "a" else world.b,
            data={"study": [{"User Defined ID": "draft-1", "Brief Title": title}]},
        )
    made = world.objects[key]
    return {"workspace_id": made.workspace_id, "draft_id": made.pk} | (
        {"slug": slug} if slug else {}
    )


def study(world: World, workspace: str) -> dict:
    accession = "SDY900002" if workspace == "a" else "SDY900001"
    return {"workspace_id": (world.a if workspace == "a" else world.b).pk, "accession": accession}


def sharing(world: World, workspace: str) -> dict:
    """A sharing request for the workspace's study, made the first time a page asks."""
    from immunoport.releases.models import SharingRequest

    key = f"{workspace}_sharing"
    if key not in world.objects:
        world.objects[key] = SharingRequest.objects.create(
            workspace=world.a if workspace == "a" else world.b,
            study_id=study(world, workspace)["accession"],
            share_after="2026-01-01",
            message="Aster message" if workspace == "a" else B_SECRETS[2],
        )
    return {"sharing_id": world.objects[key].pk}


def flag(world: World) -> dict:
    """A flagged value of A's study, with its sharing request."""
    from immunoport.curation.models import TextFlag

    if "a_flag" not in world.objects:
        world.objects["a_flag"] = TextFlag.objects.create(
            workspace=world.a,
            study_accession="SDY900002",
            table_name="study",
            record_key="SDY900002",
            column_name="description",
            reason="e-mail address",
            value_md5="0" * 32,
        )
    return sharing(world, "a") | {"flag_id": world.objects["a_flag"].pk}


def both_sharing(world: World) -> dict:
    """Sharing requests of A and B exist: a curator's list shows both."""
    sharing(world, "b")
    sharing(world, "a")
    return {}


def curated(name: str, method: str = "GET", kwargs=both_sharing, data=lambda world: {}):
    return Private(name, CURATORS, method=method, kwargs=kwargs, data=data, curators_see_b=True)


PRIVATE = (
    Private("workspaces:list", SIGNED_IN),
    Private("workspaces:request", SIGNED_IN),
    Private(
        "workspaces:request",
        SIGNED_IN,
        method="POST",
        data=lambda world: {"name": "Another lab"},  # incomplete: the form answers
    ),
    Private("workspaces:detail", MEMBERS_OF_A, kwargs=in_a, kwargs_of_b=in_b),
    Private("workspaces:members", MEMBERS_OF_A, kwargs=in_a, kwargs_of_b=in_b),
    Private(
        "workspaces:member-invite",
        frozenset({"owner"}),
        method="POST",
        kwargs=in_a,
        data=lambda world: {"email": "newcomer@example.org", "role": "viewer"},
        kwargs_of_b=in_b,
    ),
    Private(
        "workspaces:member-role",
        frozenset({"owner"}),
        method="POST",
        kwargs=lambda world: membership(world, "a", "viewer"),
        data=lambda world: {"role": "uploader"},
        kwargs_of_b=lambda world: membership(world, "b", "other_member"),
    ),
    Private(
        "workspaces:member-remove",
        frozenset({"owner", "viewer"}),  # owners remove anyone; a member may leave
        method="POST",
        kwargs=lambda world: membership(world, "a", "viewer"),
        kwargs_of_b=lambda world: membership(world, "b", "other_member"),
    ),
    Private(
        "workspaces:invitation-revoke",
        frozenset({"owner"}),
        method="POST",
        kwargs=lambda world: invitation(world, "a"),
        kwargs_of_b=lambda world: invitation(world, "b"),
    ),
    # An invitation link is a capability: whoever holds it and signs in may open it.
    Private(
        "workspaces:invitation",
        SIGNED_IN,
        kwargs=lambda world: {"token": world.objects["a_invitation_token"]},
    ),
    Private("validation:validate", WRITERS_OF_A, kwargs=in_a, kwargs_of_b=in_b),
    Private(
        "validation:validate",
        WRITERS_OF_A,
        method="POST",
        kwargs=in_a,
        kwargs_of_b=in_b,
    ),
    # packages: members see them, owners and uploaders create and submit them
    Private("ingest:upload", WRITERS_OF_A, kwargs=in_a, kwargs_of_b=in_b),
    Private(
        "ingest:upload",
        WRITERS_OF_A,
        method="POST",
        kwargs=in_a,
        data=lambda world: {"name": "Flu 2021", "mode": "load"},
        kwargs_of_b=in_b,
    ),
    Private("ingest:packages", MEMBERS_OF_A, kwargs=in_a, kwargs_of_b=in_b),
    Private(
        "ingest:packages",
        WRITERS_OF_A,
        method="POST",
        kwargs=in_a,
        data=lambda world: {"name": "Flu 2021", "mode": "validate"},
        kwargs_of_b=in_b,
    ),
    Private(
        "ingest:package",
        MEMBERS_OF_A,
        kwargs=lambda world: package(world, "a"),
        kwargs_of_b=lambda world: package(world, "b"),
    ),
    Private(
        "ingest:package-status",
        MEMBERS_OF_A,
        kwargs=lambda world: package(world, "a"),
        kwargs_of_b=lambda world: package(world, "b"),
    ),
    Private(
        "ingest:package-submit",
        WRITERS_OF_A,
        method="POST",
        kwargs=lambda world: package(world, "a"),
        kwargs_of_b=lambda world: package(world, "b"),
    ),
    # contracts and grants: members see them, owners and uploaders create and link them
    Private("studies:grants", MEMBERS_OF_A, kwargs=in_a, kwargs_of_b=in_b),
    Private("studies:grant-create", WRITERS_OF_A, kwargs=in_a, kwargs_of_b=in_b),
    Private(
        "studies:grant-create",
        WRITERS_OF_A,
        method="POST",
        kwargs=in_a,
        data=lambda world: {"name": "Another grant"},  # incomplete: the form answers
        kwargs_of_b=in_b,
    ),
    Private(
        "studies:grant-studies",
        WRITERS_OF_A,
        method="POST",
        kwargs=lambda world: grant(world, "a"),
        data=lambda world: {"study_accession": "SDY900001", "action": "link"},
        kwargs_of_b=lambda world: grant(world, "b"),
    ),
    # study registration: members see the list and export; writers register and edit
    Private("studies:registrations", MEMBERS_OF_A, kwargs=in_a, kwargs_of_b=in_b),
    Private("studies:draft-create", WRITERS_OF_A, method="POST", kwargs=in_a, kwargs_of_b=in_b),
    *(
        Private(
            "studies:draft-resume" if slug is None else "studies:draft-step",
            WRITERS_OF_A,
            method=method,
            kwargs=lambda world, slug=slug: draft(world, "a", slug),
            data=lambda world: {"study-rows": "1", "study-0-1": "Too short", "action": "save"},
            kwargs_of_b=lambda world, slug=slug: draft(world, "b", slug),
        )
        for slug, method in (
            (None, "GET"),
            ("basic-info", "GET"),
            ("basic-info", "POST"),
            ("finish", "GET"),
            ("finish", "POST"),
        )
    ),
    Private(
        "studies:draft-discard",
        WRITERS_OF_A,
        method="POST",
        kwargs=lambda world: draft(world, "a"),
        kwargs_of_b=lambda world: draft(world, "b"),
    ),
    Private(
        "studies:study-edit",
        WRITERS_OF_A,
        method="POST",
        kwargs=lambda world: study(world, "a"),
        kwargs_of_b=lambda world: study(world, "b"),
    ),
    Private(
        "studies:study-export",
        MEMBERS_OF_A,
        kwargs=lambda world: study(world, "a"),
        kwargs_of_b=lambda world: study(world, "b"),
    ),
    # the private search: anyone signed in searches the studies of their own workspaces
    Private("portal:private-search", SIGNED_IN),
    Private("portal:private-search-export", SIGNED_IN, kwargs=lambda world: {"fmt": "csv"}),
    Private(
        "portal:private-study",
        MEMBERS_OF_A,
        kwargs=lambda world: study(world, "a"),
        kwargs_of_b=lambda world: study(world, "b"),
    ),
    # sharing: owners ask, curators (and staff) review, clear flags and release
    Private(
        "releases:share",
        frozenset({"owner"}),
        kwargs=lambda world: study(world, "a"),
        kwargs_of_b=lambda world: study(world, "b"),
    ),
    Private(
        "releases:share",
        frozenset({"owner"}),
        method="POST",
        kwargs=lambda world: study(world, "a"),
        data=lambda world: {"share_after": "2026-01-01", "message": "Please share"},
        kwargs_of_b=lambda world: study(world, "b"),
    ),
    curated("curation:index"),
    curated("curation:sharing"),
    curated("curation:review", kwargs=lambda world: both_sharing(world) | sharing(world, "a")),
    curated(
        "curation:review",
        method="POST",
        kwargs=lambda world: sharing(world, "a"),
        data=lambda world: {"decision": "return", "comment": "Add the documents."},
    ),
    curated("curation:flag-clear", method="POST", kwargs=flag),
    curated("curation:releases"),
    curated("curation:releases", method="POST", data=lambda world: {"notes": "First"}),
    # value mapping: every workspace's reported values, curators only
    curated("curation:values"),
    curated("curation:values-lookup", kwargs=lambda world: {"lookup": "lk_arm_type"}),
    curated(
        "curation:values-lookup",
        method="POST",
        kwargs=lambda world: {"lookup": "lk_arm_type"},
        data=lambda world: {"rows": "0", "action": "map"},  # nothing selected: refused
    ),
    curated("curation:term-create", kwargs=lambda world: {"lookup": "lk_arm_type"}),
    curated(
        "curation:term-create",
        method="POST",
        kwargs=lambda world: {"lookup": "lk_arm_type"},
        data=lambda world: {"name": ""},  # incomplete: the form answers
    ),
    curated("curation:mapping-history"),
    Private("accounts:tokens", SIGNED_IN),
    Private("accounts:activity", SIGNED_IN),
    Private(
        "accounts:tokens",
        SIGNED_IN,
        method="POST",
        data=lambda world: {"name": "new", "scope": "read-shared", "days": 7},
    ),
    Private(
        "accounts:token-revoke",
        frozenset({"owner"}),
        method="POST",
        kwargs=lambda world: {"token_id": world.objects["owner_token"].pk},
        kwargs_of_b=lambda world: {"token_id": world.objects["b_token"].pk},
    ),
    # allauth's own pages about the signed-in account
    Private("account_email", SIGNED_IN),
    Private("account_change_password", SIGNED_IN),
    Private("mfa_index", SIGNED_IN),
    Private("socialaccount_connections", SIGNED_IN),
)

# Pages anyone may see (public resources, the sign-in machinery, ImmPort's token exchange).
PUBLIC = {
    "portal:home",
    "portal:shared-data",
    "portal:search",
    "portal:search-export",
    "portal:cart",
    "portal:cart-add",
    "portal:cart-remove",
    "portal:cart-export",
    "portal:releases",
    "portal:release",
    "portal:release-allstudies",
    "portal:study",
    "portal:study-download",
    "portal:programs",
    "portal:program",
    "portal:program-studies-export",
    "portal:upload",
    "portal:analysis",
    "portal:resources",
    "schema:template-list",
    "schema:template-detail",
    "schema:blank-txt",
    "schema:blank-xlsx",
    "schema:lookup-list",
    "schema:lookup-detail",
    "accounts:agreement",
    "accounts:auth-token",
    "api-docs",
}
# allauth's sign-in, sign-up, reset and MFA-step pages, and the admin (staff only, by
# Django's own permission checks, tested in the accounts tests).
THIRD_PARTY_MODULES = ("allauth.", "django.views.generic")


def url_names() -> set[str]:
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                module = pattern.callback.__module__
                if pattern.name and not module.startswith(THIRD_PARTY_MODULES):
                    yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return set(walk(get_resolver().url_patterns))


# The tus upload protocol answers in its own terms (401, 403/404), tried below.
TUS = {"tus:endpoint", "tus:upload"}


# The Shared Data API's access is tried operation by operation, from its own OpenAPI
# description, in immunoport/api/tests/test_access.py.
API_NAMESPACE = "data-query:"


def test_every_url_of_ours_is_in_the_matrix_or_public():
    covered = {page.name for page in PRIVATE} | PUBLIC | TUS
    ours = {name for name in url_names() if not name.startswith(API_NAMESPACE)}
    assert ours - covered == set()


def start_upload(client, world: World, workspace: str):
    package_id = package(world, workspace)["package_id"]
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"package": str(package_id), "filename": "subjects.txt"}.items()
    )
    return client.generic(
        "POST",
        reverse("tus:endpoint"),
        b"",
        content_type="",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": "5", "Upload-Metadata": metadata},
    )


@pytest.mark.parametrize("actor", ACTORS)
def test_only_writers_of_a_workspace_upload_into_its_packages(client, sign_in, world, actor):
    if actor != "anonymous":
        sign_in(client, world.users[actor])
    into_a = start_upload(client, world, "a")
    into_b = start_upload(client, world, "b")
    expected_a = 201 if actor in WRITERS_OF_A else 401 if actor == "anonymous" else (403, 404)
    expected_b = 201 if actor == "other_member" else 401 if actor == "anonymous" else (403, 404)
    for response, expected in ((into_a, expected_a), (into_b, expected_b)):
        assert response.status_code in (expected if isinstance(expected, tuple) else (expected,))
    if actor != "other_member":
        assert not any(secret in into_b.content.decode() for secret in B_SECRETS)


@pytest.fixture
def world(db) -> World:
    a = Workspace.objects.create(name="Aster Immunology Lab")
    b = Workspace.objects.create(name=B_SECRETS[0])
    users = {name: approved_user(name) for name in SIGNED_IN}
    users["other_member"].delete()
    users["other_member"] = approved_user(B_SECRETS[1])
    objects: dict[str, object] = {
        "b_other_member_membership": Membership.objects.create(
            workspace=b, user=users["other_member"], role="owner"
        )
    }
    for role in ("viewer", "uploader", "owner"):
        objects[f"a_{role}_membership"] = Membership.objects.create(
            workspace=a, user=users[role], role=role
        )
    users["staff"].is_staff = True
    users["staff"].save()
    users["staff"].groups.add(Group.objects.get(name="Staff"))
    users["curator"].groups.add(Group.objects.get(name="Curators"))
    Study.objects.create(study_accession="SDY900002", workspace_id=a.pk, brief_title="Aster study")
    Study.objects.create(
        study_accession="SDY900001",
        workspace_id=b.pk,
        brief_title=B_SECRETS[2],
        user_defined_id="b-study",
    )
    objects["owner_token"] = create_token(users["owner"], "owner-laptop", "read-shared")[0]
    objects["b_token"] = create_token(users["other_member"], B_SECRETS[3], "read-shared")[0]
    objects["a_invitation"], objects["a_invitation_token"] = invite(
        a, users["owner"], "guest@example.org", "viewer"
    )
    objects["b_invitation"], _ = invite(b, users["other_member"], "bguest@example.org", "viewer")
    return World(a=a, b=b, users=users, objects=objects)


def request_as(client, sign_in, world: World, actor: str, page: Private, kwargs: dict):
    if actor != "anonymous":
        sign_in(client, world.users[actor])
    url = reverse(page.name, kwargs=kwargs)
    if page.method == "POST":
        return client.post(url, page.data(world))
    return client.get(url)


def assert_refused(response, actor: str) -> None:
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    else:
        assert response.status_code == 404


CASES = [(page, actor) for page in PRIVATE for actor in ACTORS]


@pytest.mark.parametrize(("page", "actor"), CASES, ids=[f"{p.id}-{a}" for p, a in CASES])
def test_only_allowed_actors_reach_a_private_page(client, sign_in, world, page, actor):
    response = request_as(client, sign_in, world, actor, page, page.kwargs(world))
    if actor in page.allowed:
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("account_login"))
    else:
        assert_refused(response, actor)
    if actor != "other_member" and not (page.curators_see_b and actor in CURATORS):
        body = response.content.decode(errors="replace")
        assert not any(secret in body for secret in B_SECRETS)


CROSS = [(page, actor) for page in PRIVATE if page.kwargs_of_b for actor in ACTORS]


@pytest.mark.parametrize(("page", "actor"), CROSS, ids=[f"{p.id}-{a}" for p, a in CROSS])
def test_nobody_outside_workspace_b_reaches_its_objects(client, sign_in, world, page, actor):
    response = request_as(client, sign_in, world, actor, page, page.kwargs_of_b(world))
    if actor == "other_member":
        assert response.status_code in (200, 302)
        return
    assert_refused(response, actor)
    body = response.content.decode(errors="replace")
    assert not any(secret in body for secret in B_SECRETS)


def test_every_role_permission_exists_and_staff_get_them(db):
    from immunoport.accounts.roles import ROLE_PERMISSIONS

    for name, codes in ROLE_PERMISSIONS.items():
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=name).permissions.select_related("content_type")
        }
        assert granted == set(codes)


def test_staff_run_the_admin_without_being_superusers(client, sign_in, world):
    sign_in(client, world.users["staff"])
    for page in (
        "/admin/accounts/profile/?status__exact=pending",
        "/admin/workspaces/workspacerequest/",
        "/admin/accounts/datauseagreement/add/",
        "/admin/accounts/auditevent/?q=owner",
        "/admin/studies/program/?q=NIH",
        "/admin/studies/program/add/",
    ):
        assert client.get(page).status_code == 200, page
    assert client.get("/admin/auth/user/").status_code == 403
    for actor in ("outsider", "curator", "owner"):
        client.logout()
        sign_in(client, world.users[actor])
        assert client.get("/admin/accounts/profile/").status_code == 302  # to the admin login
