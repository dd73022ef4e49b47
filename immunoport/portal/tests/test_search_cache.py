"""The search answers cached per release's index: a new release answers anew, a private
search is never served from or into the public cache, a user's cart is their own."""

import datetime

import pytest
from django.urls import reverse

from conftest import approved_user
from immunoport.portal.models import CartItem
from immunoport.portal.search import SearchIndex
from immunoport.portal.services import IndexCache
from immunoport.releases import services
from immunoport.studies.models import Study
from immunoport.workspaces.models import Membership

pytestmark = pytest.mark.usefixtures("shared_and_private_studies")

SEARCH = reverse("portal:search")
API_SEARCH = "/data/query/api/search/study"


def found(client, query: str) -> list[str]:
    return [row["study_accession"] for row in client.get(f"{SEARCH}?{query}").context["rows"]]


def api_found(client, query: str) -> list[str]:
    hits = client.get(f"{API_SEARCH}?{query}").json()["hits"]["hits"]
    return [hit["_source"]["study_accession"] for hit in hits]


def private_study(other_workspace) -> Study:
    return Study.objects.get(workspace=other_workspace)


def test_a_new_release_answers_anew(client, other_workspace):
    lupus = private_study(other_workspace)
    assert found(client, "q=lupus") == api_found(client, "term=lupus") == []
    assert found(client, "q=lupus") == api_found(client, "term=lupus") == []  # cached
    sharing = services.request_sharing(lupus, None, datetime.date(2026, 1, 1))
    checked = [key for key, _ in services.REVIEW_CHECKLIST]
    services.review(sharing, None, checked=checked, approve=True)
    services.build_release()
    assert found(client, "q=lupus") == api_found(client, "term=lupus") == [lupus.pk]


@pytest.mark.parametrize("private_first", [True, False])
def test_a_private_search_is_never_served_from_or_into_the_public_cache(
    client, sign_in, other_workspace, private_first
):
    lupus = private_study(other_workspace)
    member = approved_user("hepatologist")
    Membership.objects.create(workspace=other_workspace, user=member, role="viewer")
    sign_in(client, member)
    private = reverse("portal:private-search") + "?q=lupus"

    def private_found() -> list[str]:
        return [row["study_accession"] for row in client.get(private).context["rows"]]

    if private_first:
        assert private_found() == [lupus.pk]
        assert found(client, "q=lupus") == []
    else:
        assert found(client, "q=lupus") == []
        assert private_found() == [lupus.pk]
    assert lupus.pk not in client.get(f"{SEARCH}?q=lupus").content.decode()


def test_a_users_cart_is_not_shown_to_another(client, sign_in):
    reader, other = approved_user("reader"), approved_user("other reader")
    first = found(client, "")[0]
    CartItem.objects.create(user=reader, study_accession=first)
    remove = f'name="study" value="{first}" class="in-cart"'
    sign_in(client, reader)
    assert remove in client.get(SEARCH).content.decode()
    client.logout()
    assert remove not in client.get(SEARCH).content.decode()  # a visitor: the same search
    sign_in(client, other)
    assert remove not in client.get(SEARCH).content.decode()


def test_the_cache_keeps_each_indexs_answers_apart_and_the_latest_few():
    cache, first, second = IndexCache(size=2), SearchIndex.empty(), SearchIndex.empty()
    assert cache.get(first, "q", lambda: "first's") == "first's"
    assert cache.get(second, "q", lambda: "second's") == "second's"
    assert cache.get(first, "q", lambda: "again") == "first's"
    cache.get(first, "r", lambda: "r")
    cache.get(first, "s", lambda: "s")  # "q" used least recently: out
    assert cache.get(first, "q", lambda: "anew") == "anew"
