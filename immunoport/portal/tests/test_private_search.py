"""The private search: a member searches the live studies of their own workspaces, and
nothing of them reaches the public search, its exports or its full-text tables."""

import io
import json

import polars as pl
import pytest
from django.db import connection
from django.urls import reverse

from conftest import approved_user
from immunoport.portal import fulltext
from immunoport.portal.search import current_index
from immunoport.portal.tests.test_search import (  # noqa: F401 - the crafted fixture
    PRIVATE_CONDITION,
    PRIVATE_TITLE,
    crafted,
    make_study,
)
from immunoport.studies.models import Study
from immunoport.workspaces.models import Membership

SEARCH = reverse("portal:private-search")


@pytest.fixture
def private_accession(crafted, other_workspace):  # noqa: F811 - the fixture imported above
    return Study.objects.get(workspace=other_workspace).pk


def member_of(workspace, name):
    user = approved_user(name)
    Membership.objects.create(workspace=workspace, user=user, role="viewer")
    return user


def shown(response):
    return [row["study_accession"] for row in response.context["rows"]]


def facet(response, key):
    return {box.key: box for _, boxes in response.context["groups"] for box in boxes}[key]


def counts(response, key):
    return {choice.value: choice.total for choice in facet(response, key).choices}


def test_a_member_searches_the_studies_of_their_workspace_and_no_other(
    client,
    sign_in,
    crafted,  # noqa: F811 - the fixture imported above
    other_workspace,
    private_accession,
):
    sign_in(client, member_of(other_workspace, "hepatologist"))
    response = client.get(SEARCH)
    assert response.status_code == 200
    assert shown(response) == [private_accession]
    assert counts(response, "condition_or_disease") == {PRIVATE_CONDITION: 1}
    assert counts(response, "gender") == {"Female": 1}
    chart = facet(response, "condition_or_disease").chart
    assert [(bar.value, bar.total) for bar in chart] == [(PRIVATE_CONDITION, 1)]
    html = response.content.decode()
    assert '<meta name="robots" content="noindex">' in html
    assert 'class="badge private">Private</span>' in html
    assert "Search your private data" in html
    assert "Other lab" in html  # the row's workspace
    assert "Lupus autoantibody cohort" not in html  # the other workspace's
    cache_control = response["Cache-Control"]
    assert "private" in cache_control
    assert "no-store" in cache_control
    link = reverse("portal:private-study", args=[other_workspace.pk, private_accession])
    assert f'href="{link}"' in html
    assert "Add to cart" not in html

    # text is matched in memory; htmx gets only the results
    found = client.get(SEARCH, {"q": "zeta"}, headers={"HX-Request": "true"})
    assert shown(found) == [private_accession]
    rendered = {t.name for t in found.templates}
    assert "portal/search_results.html" in rendered
    assert "portal/search.html" not in rendered
    assert shown(client.get(SEARCH, {"q": "influenza"})) == []

    exported = pl.read_csv(
        io.BytesIO(client.get(reverse("portal:private-search-export", args=["csv"])).content)
    )
    assert exported["Accession"].to_list() == [private_accession]
    assert exported["Workspace"].to_list() == ["Other lab"]
    assert exported["Title"].to_list() == [PRIVATE_TITLE]


def test_a_member_of_the_other_workspace_sees_its_studies_live_never_the_private_one(
    client,
    sign_in,
    crafted,  # noqa: F811 - the fixture imported above
    workspace,
    private_accession,
):
    sign_in(client, member_of(workspace, "flu"))
    response = client.get(SEARCH, {"condition_or_disease": "Influenza"})
    assert sorted(shown(response)) == sorted([crafted["flu"], crafted["mice"]])
    html = response.content.decode()
    assert PRIVATE_TITLE not in html
    assert PRIVATE_CONDITION not in html
    assert private_accession not in html
    for fmt in ("csv", "tsv", "json", "xlsx"):
        export = client.get(reverse("portal:private-search-export", args=[fmt]))
        assert export.status_code == 200
        if fmt != "xlsx":
            assert private_accession not in export.content.decode()
    rows = json.loads(client.get(reverse("portal:private-search-export", args=["json"])).content)
    assert sorted(row["study_accession"] for row in rows) == sorted(crafted.values())


def test_outsiders_get_nothing_and_visitors_are_sent_to_sign_in(
    client,
    sign_in,
    crafted,  # noqa: F811 - the fixture imported above
    other_workspace,
    private_accession,
):
    for url in (SEARCH, reverse("portal:private-search-export", args=["csv"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    sign_in(client, approved_user("outsider"))
    response = client.get(SEARCH)
    assert response.context["result"].total_studies == 0
    assert PRIVATE_TITLE not in response.content.decode()
    study = reverse("portal:private-study", args=[other_workspace.pk, private_accession])
    assert client.get(study).status_code == 404
    assert client.get(reverse("portal:private-search-export", args=["pdf"])).status_code == 404


def test_nothing_private_reaches_the_public_search_after_a_private_one(
    client,
    sign_in,
    crafted,  # noqa: F811 - the fixture imported above
    other_workspace,
    private_accession,
):
    member = client.__class__()
    sign_in(member, member_of(other_workspace, "hepatologist"))
    assert shown(member.get(SEARCH, {"q": "hepatitis"})) == [private_accession]

    public = reverse("portal:search")
    for params in (
        {},
        {"q": "hepatitis"},
        {"q": PRIVATE_TITLE},
        {"condition_or_disease": PRIVATE_CONDITION},
    ):
        response = client.get(public, params)
        text = response.content.decode()
        assert private_accession not in text
        if "q" in params:  # the page echoes the text searched for
            assert response.context["result"].total_studies == 0
        else:
            assert PRIVATE_TITLE not in text
    assert PRIVATE_CONDITION not in counts(client.get(public), "condition_or_disease")
    for fmt in ("csv", "json"):
        text = client.get(reverse("portal:search-export", args=[fmt])).content.decode()
        assert PRIVATE_TITLE not in text
        assert private_accession not in text
    assert private_accession not in current_index().studies["study_accession"].to_list()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT study_accession, body FROM {fulltext.TABLE}")
        stored = cursor.fetchall()
    assert stored  # the release's studies are there
    assert not [row for row in stored if row[0] == private_accession or "Zeta" in row[1]]


def test_the_private_index_is_kept_until_the_workspace_changes(
    client,
    sign_in,
    crafted,  # noqa: F811 - the fixture imported above
    other_workspace,
    django_assert_num_queries,
):
    sign_in(client, member_of(other_workspace, "hepatologist"))
    client.get(SEARCH)  # the workspace's index is built once, outside the count
    # session, user, the current agreement, whether a second factor is required (a
    # signed-in request's own), then one: the user's workspaces with their stamps
    with django_assert_num_queries(5):
        assert len(shown(client.get(SEARCH, {"gender": "Female"}))) == 1
    make_study(other_workspace, title="Zeta follow-up", subjects=[{"gender": "Male"}], shared=False)
    response = client.get(SEARCH)
    assert len(shown(response)) == 2
    assert counts(response, "gender") == {"Female": 1, "Male": 1}


def test_the_private_study_page_is_the_study_page_of_live_rows(
    client,
    sign_in,
    crafted,  # noqa: F811 - the fixture imported above
    workspace,
    other_workspace,
    private_accession,
):
    sign_in(client, member_of(other_workspace, "hepatologist"))
    url = reverse("portal:private-study", args=[other_workspace.pk, private_accession])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert PRIVATE_TITLE in html
    assert PRIVATE_CONDITION in html
    assert 'class="badge private">Private</span>' in html
    assert '<meta name="robots" content="noindex">' in html
    assert "application/ld+json" not in html  # nothing for dataset search engines
    assert "no-store" in response["Cache-Control"]
    assert [a.technique for a in response.context["page"]["assays"]] == ["ELISA"]
    # a study of another workspace, even named under the member's own: not found
    elsewhere = reverse("portal:private-study", args=[other_workspace.pk, crafted["flu"]])
    assert client.get(elsewhere).status_code == 404
    mine_elsewhere = reverse("portal:private-study", args=[workspace.pk, crafted["flu"]])
    assert client.get(mine_elsewhere).status_code == 404
