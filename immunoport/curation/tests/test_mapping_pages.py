"""The value-mapping pages through real HTTP on a real database: the queue per lookup,
a lookup's waiting values with suggestions, bulk mapping, refused terms, new terms and
the history."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import approved_user
from immunoport.accounts.models import AuditEvent
from immunoport.curation import views
from immunoport.curation.models import LookupTermAddition, ValueMapping
from immunoport.curation.services import map_values, suggestions
from immunoport.studies.models import Study2ConditionOrDisease
from immunoport.workspaces.models import Membership

CONDITION = "lk_disease_condition"
VALUES = reverse("curation:values-lookup", args=[CONDITION])


@pytest.fixture
def curator(db) -> User:
    user = approved_user("curator")
    user.groups.add(Group.objects.get(name="Curators"))
    return user


@pytest.fixture
def curating(client, sign_in, curator, conditions):
    sign_in(client, curator)
    return client


def preferred() -> dict[str, set]:
    found: dict[str, set] = {}
    for reported, value in Study2ConditionOrDisease.objects.values_list(
        "condition_reported", "condition_preferred"
    ):
        found.setdefault(reported.strip().lower(), set()).add(value)
    return found


def choices(rows: list[str], **fields) -> dict:
    """The form as the page posts it: ``rows`` are the page's reported values in order;
    ``fields`` name a row's ``selected``, ``term`` or ``other`` by its value:
    ``selected=["flu"], term={"flu": "influenza"}``."""
    data: dict = {"rows": len(rows), "action": fields.get("action", "map")}
    for i, key in enumerate(rows):
        data[f"key-{i}"] = key
        if key in fields.get("selected", ()):
            data[f"selected-{i}"] = "on"
        data[f"term-{i}"] = fields.get("term", {}).get(key, "")
        data[f"other-{i}"] = fields.get("other", {}).get(key, "")
    data["note"] = fields.get("note", "")
    return data


QUEUE = ["influenza", "flu", "type 1 diabetes"]


def test_the_values_page_counts_each_lookup_and_links_its_queue(curating):
    index = curating.get(reverse("curation:index")).content.decode()
    assert reverse("curation:values") in index
    page = curating.get(reverse("curation:values"))
    counts = {q.lookup: (q.values, q.rows) for q in page.context["lookups"]}
    assert counts[CONDITION] == (3, 6)
    assert counts["lk_arm_type"] == (1, 1)
    assert counts["lk_analyte"] == (0, 0)
    assert page.context["lookups"][0].lookup == CONDITION  # most rows first
    assert VALUES in page.content.decode()


def test_a_lookup_lists_its_waiting_values_with_counts_and_suggestions(curating):
    page = curating.get(VALUES)
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [item.key for item, _, _ in rows] == QUEUE
    influenza, found, _ = rows[0]
    assert (influenza.rows, influenza.studies) == (3, 3)
    assert influenza.spellings == ("INFLUENZA", "Influenza", "influenza ")
    flu = rows[1][1]
    assert (flu[0].term, flu[0].score, flu[0].reason) == ("influenza", 100.0, "synonym")
    body = page.content.decode()
    assert "3 reported values wait for a preferred value" in body
    assert "“INFLUENZA”, “Influenza”, “influenza ”" in body
    assert 'name="term-1" id="term-1-0" value="influenza"' in body
    assert "100 · synonym" in body
    assert '<datalist id="terms">' in body
    assert '<option value="type 1 diabetes mellitus">' in body
    assert 'list="terms"' in body


def test_mapping_two_spellings_in_bulk_changes_both_workspaces(
    curating, curator, workspace, other_workspace
):
    response = curating.post(
        VALUES,
        choices(
            QUEUE,
            selected=["influenza", "flu"],
            term={"influenza": "influenza"},
            other={"flu": "Influenza"},  # typed: any case
            note="Seasonal flu",
        ),
        follow=True,
    )
    assert "2 reported values mapped; 5 rows changed." in response.content.decode()
    assert [item.key for item, _, _ in response.context["rows"]] == ["type 1 diabetes"]
    after = preferred()
    assert after["influenza"] == after["flu"] == {"influenza"}
    assert after["type 1 diabetes"] == {None}
    changed = Study2ConditionOrDisease.objects.filter(condition_preferred="influenza")
    assert {row.workspace_id for row in changed} == {workspace.pk, other_workspace.pk}
    mappings = ValueMapping.objects.order_by("reported_value")
    assert [(m.reported_value, m.preferred, m.rows_changed) for m in mappings] == [
        ("flu", "influenza", 2),
        ("influenza", "influenza", 3),
    ]
    assert {(m.curator, m.note) for m in mappings} == {(curator, "Seasonal flu")}
    events = AuditEvent.objects.filter(action="value-mapped", actor=curator)
    assert {(e.target, e.detail["reported"], e.detail["rows"]) for e in events} == {
        (CONDITION, "flu", 2),
        (CONDITION, "influenza", 3),
    }


def test_accepting_the_top_suggestions(curating):
    top = suggestions(CONDITION, "type 1 diabetes", n=1)[0].term
    response = curating.post(
        VALUES,
        choices(QUEUE, selected=["flu", "type 1 diabetes"], action="accept"),
        follow=True,
    )
    assert "2 reported values mapped; 3 rows changed." in response.content.decode()
    after = preferred()
    assert (after["flu"], after["type 1 diabetes"]) == ({"influenza"}, {top})
    assert after["influenza"] == {None}


def test_an_unknown_term_is_shown_and_changes_nothing(curating):
    response = curating.post(
        VALUES,
        choices(
            QUEUE,
            selected=["flu", "type 1 diabetes"],
            term={"flu": "influenza"},
            other={"type 1 diabetes": "diabetes type one"},
        ),
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "&#x27;diabetes type one&#x27; is not a term of lk_disease_condition" in body
    # nothing changed, not even the value whose term was right
    assert set().union(*preferred().values()) == {None}
    assert not ValueMapping.objects.exists()
    assert not AuditEvent.objects.filter(action="value-mapped").exists()
    # the curator's choices are shown again
    assert 'id="selected-1" checked' in body
    assert 'id="term-1-0" value="influenza" checked' in body
    assert 'value="diabetes type one"' in body


def test_a_selection_without_a_term_or_with_nothing_selected_is_refused(curating):
    nothing = curating.post(VALUES, choices(QUEUE, term={"flu": "influenza"}))
    assert "Select at least one reported value." in nothing.content.decode()
    no_term = curating.post(VALUES, choices(QUEUE, selected=["flu"]))
    assert "Choose a suggestion or type a term for: flu." in no_term.content.decode()
    assert not ValueMapping.objects.exists()


def test_a_long_queue_is_shown_a_page_at_a_time(curating, monkeypatch):
    monkeypatch.setattr(views, "VALUES_PER_PAGE", 2)
    first = curating.get(VALUES).content.decode()
    assert "values 1–2 shown" in first
    assert "1 more value on the next pages" in first
    second = curating.get(VALUES + "?page=2")
    assert [item.key for item, _, _ in second.context["rows"]] == ["type 1 diabetes"]


def test_a_new_term_then_mapping_to_it(curating, curator):
    create = reverse("curation:term-create", args=[CONDITION])
    form = curating.get(create + "?name=Type+1+diabetes").content.decode()
    assert 'value="Type 1 diabetes"' in form
    refused = curating.post(create, {"name": "Something", "ontology_id": "see DOID"})
    assert "is not an ontology identifier like DOID:8469" in refused.content.decode()
    duplicate = curating.post(create, {"name": "INFLUENZA"})
    assert "already has the term" in duplicate.content.decode()
    assert not LookupTermAddition.objects.exists()

    added = curating.post(
        create, {"name": "Type 1 diabetes (juvenile)", "ontology_id": "DOID:9744"}, follow=True
    )
    assert "Type 1 diabetes (juvenile) added to lk_disease_condition." in added.content.decode()
    assert added.redirect_chain[-1][0] == VALUES
    addition = LookupTermAddition.objects.get()
    assert (addition.ontology_id, addition.link, addition.curator) == (
        "DOID:9744",
        "http://purl.obolibrary.org/obo/DOID_9744",
        curator,
    )
    assert AuditEvent.objects.filter(action="term-added", target=CONDITION).exists()
    assert '<option value="Type 1 diabetes (juvenile)">' in added.content.decode()

    mapped = curating.post(
        VALUES,
        choices(
            QUEUE,
            selected=["type 1 diabetes"],
            other={"type 1 diabetes": "type 1 diabetes (juvenile)"},
        ),
        follow=True,
    )
    assert "1 reported value mapped; 1 row changed." in mapped.content.decode()
    assert preferred()["type 1 diabetes"] == {"Type 1 diabetes (juvenile)"}


def test_a_composite_lookup_says_how_its_terms_are_named(curating):
    page = curating.get(reverse("curation:term-create", args=["lk_disease"])).content.decode()
    assert "named as “disease_preferred ; disease_ontology_id”" in page


def test_the_history_lists_mappings_and_terms_newest_first(curating, curator):
    curating.post(reverse("curation:term-create", args=[CONDITION]), {"name": "grippe"})
    map_values(CONDITION, ["flu"], "grippe", curator, note="French")
    page = curating.get(reverse("curation:mapping-history"))
    entries = page.context["entries"]
    assert [(e.mapping is not None, e.curator) for e in entries] == [
        (True, "curator"),
        (False, "curator"),
    ]
    body = page.content.decode()
    assert "Mapped “flu” to “grippe”" in body
    assert "Added the term “grippe”" in body
    assert "French" in body
    other = curating.get(reverse("curation:mapping-history") + "?lookup=lk_arm_type")
    assert other.context["entries"] == []


def test_the_history_page_reads_a_fixed_number_of_queries(curating, curator):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert curating.get(reverse("curation:mapping-history")).status_code == 200
        return len(captured)

    map_values(CONDITION, ["flu"], "influenza", curator)
    few = queries()
    for n in range(12):
        other = approved_user(f"curator{n}")
        map_values(CONDITION, [f"value {n}"], "influenza", other)
        LookupTermAddition.objects.create(lookup_id=CONDITION, name=f"term {n}", curator=other)
    assert queries() == few


@pytest.mark.parametrize(
    "url",
    [
        reverse("curation:values"),
        VALUES,
        reverse("curation:term-create", args=[CONDITION]),
        reverse("curation:mapping-history"),
    ],
)
def test_only_curators_reach_the_pages(client, sign_in, conditions, workspace, url):
    owner = approved_user("owner")
    Membership.objects.create(workspace=workspace, user=owner, role=Membership.Role.OWNER)
    response = client.get(url)
    assert response.status_code == 302  # anonymous: to the sign-in page
    for user in (owner, approved_user("outsider")):
        sign_in(client, user)
        assert client.get(url).status_code == 404
        assert (
            client.post(
                url, choices(QUEUE, selected=["flu"], other={"flu": "influenza"})
            ).status_code
            == 404
        )
    assert set().union(*preferred().values()) == {None}


def test_an_unknown_lookup_is_not_found(curating):
    assert curating.get(reverse("curation:values-lookup", args=["lk_nothing"])).status_code == 404
    assert curating.get(reverse("curation:term-create", args=["lk_nothing"])).status_code == 404
