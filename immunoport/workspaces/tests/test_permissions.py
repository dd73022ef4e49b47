import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404

from immunoport.workspaces.models import Membership
from immunoport.workspaces.permissions import workspace_for, workspaces_of


@pytest.fixture
def member(workspace) -> User:
    user = User.objects.create_user("member", password="a long pass phrase")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.VIEWER)
    return user


@pytest.mark.django_db
def test_a_member_sees_only_their_workspaces(workspace, other_workspace, member):
    assert list(workspaces_of(member)) == [workspace]
    assert list(workspaces_of(AnonymousUser())) == []
    assert workspace_for(member, workspace.pk) == workspace
    with pytest.raises(Http404):
        workspace_for(member, other_workspace.pk)
    with pytest.raises(Http404):
        workspace_for(member, workspace.pk, write=True)  # a viewer does not change data


@pytest.mark.django_db
def test_pages_of_another_workspace_do_not_exist_for_a_member(
    sign_in, client, workspace, other_workspace, member
):
    sign_in(client, member)
    listing = client.get("/workspaces/").content.decode()
    assert workspace.name in listing
    assert other_workspace.name not in listing
    detail = client.get(f"/workspaces/{workspace.pk}/").content.decode()
    assert f'href="/workspaces/{workspace.pk}/grants/">Contracts and grants</a>' in detail
    assert client.get(f"/workspaces/{other_workspace.pk}/").status_code == 404
    assert client.get("/workspaces/999999/").status_code == 404


@pytest.mark.django_db
def test_the_header_offers_sign_in_or_the_users_workspaces(sign_in, client, member):
    assert 'href="/accounts/login/">Sign in</a>' in client.get("/").content.decode()
    sign_in(client, member)
    html = client.get("/").content.decode()
    assert 'href="/workspaces/">Your workspaces</a>' in html
    assert "Sign out member" in html
    client.post("/accounts/logout/")
    assert "Sign in" in client.get("/").content.decode()
