"""The shared data search page, its exports and the cart, over HTTP on crafted
released studies (and one private study that must never show)."""

import io
import json

import polars as pl
import pytest
from django.urls import reverse
from openpyxl import load_workbook

from conftest import approved_user
from immunoport.accounts import agreement
from immunoport.portal.models import CartItem
from immunoport.portal.services import CART_SESSION_KEY
from immunoport.portal.tests.test_search import (  # noqa: F401 - the crafted fixture
    PRIVATE_CONDITION,
    PRIVATE_TITLE,
    crafted,
)
from immunoport.studies.models import Study

SEARCH = "/shared/search/"


@pytest.fixture
def private_accession(crafted):  # noqa: F811 - the fixture imported above
    return Study.objects.get(brief_title=PRIVATE_TITLE).pk


def facet_of(response, key):
    """key -> [(value, total, selected)] as the page shows them."""
    for _, boxes in response.context["groups"]:
        for box in boxes:
            if box.key == key:
                return [(c.value, c.total, c.selected) for c in box.choices]
    raise KeyError(key)


def shown(response):
    return [row["study_accession"] for row in response.context["rows"]]


def test_the_page_shows_the_counts_the_facets_and_the_charts(client, crafted):  # noqa: F811
    response = client.get(SEARCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Studies (3)" in html
    assert "Subjects (6)" in html
    assert "Found 3 studies in" in html
    for heading in ("Study", "Subject demographics", "Miscellaneous"):
        assert f"<h2>{heading}</h2>" in html
    for label in ("Research Focus", "Condition or Disease", "Biosample Type", "Assay Methods",
                  "Program Name", "Study Accession", "Age (years)", "Ethnicity", "Gender", "Race",
                  "Species", "Is Clinical Trial", "Has Lab Tests", "Has Assessments"):  # fmt: skip
        assert f"{label}</" in html, label
    assert facet_of(response, "condition_or_disease") == [
        ("Influenza", 2, False),
        ("Systemic lupus erythematosus", 1, False),
    ]
    assert 'id="chart-condition_or_disease"' in html
    assert 'data-value="Influenza" data-total="2"' in html
    assert shown(response) == [crafted["flu"], crafted["lupus"], crafted["mice"]]
    assert "<script>" not in html
    assert "style=" not in html


def test_a_facet_filter_keeps_the_other_values_of_its_own_facet(client, crafted):  # noqa: F811
    response = client.get(SEARCH, {"condition_or_disease": "Influenza"})
    html = response.content.decode()
    assert "Studies (2)" in html
    assert "Subjects (4)" in html
    assert shown(response) == [crafted["flu"], crafted["mice"]]
    # the facet does not filter itself: lupus is still offered, with its count
    assert facet_of(response, "condition_or_disease") == [
        ("Influenza", 2, True),
        ("Systemic lupus erythematosus", 1, False),
    ]
    assert 'value="Influenza" checked' in html
    # the other facets count what the filter leaves
    assert ("Autoimmune", 1, False) not in facet_of(response, "research_focus")
    assert 'data-value="Autoimmune"' not in html  # the chart followed


def test_a_selected_value_stays_shown_at_zero(client, crafted):  # noqa: F811
    response = client.get(SEARCH, {"species": "Mus musculus", "gender": "Female"})
    assert "Studies (0)" in response.content.decode()
    assert ("Female", 0, True) in facet_of(response, "gender")


def test_text_accessions_sort_and_columns_come_from_the_query_string(client, crafted):  # noqa: F811
    response = client.get(SEARCH, {"q": "influenza"})  # by relevance: text given
    assert sorted(shown(response)) == sorted([crafted["flu"], crafted["mice"]])
    response = client.get(SEARCH, {"q": "influenza", "sort": "study_accession"})
    assert shown(response) == [crafted["flu"], crafted["mice"]]
    accessions = f"{crafted['mice'].lower()}, {crafted['lupus']}"
    response = client.get(SEARCH, {"study_accession": accessions, "sort": "-subjects"})
    assert shown(response) == [crafted["lupus"], crafted["mice"]]
    assert "Subjects (3)" in response.content.decode()
    response = client.get(
        SEARCH, {"sort": "-subjects", "columns": ["subjects", "result_count", "assay_method"]}
    )
    assert shown(response) == [crafted["flu"], crafted["lupus"], crafted["mice"]]
    assert [c for c, _ in response.context["rows"][0]["cells"]] == [
        "study_accession", "subjects", "result_count", "assay_method",
    ]  # fmt: skip
    assert response.context["rows"][0]["cells"][3] == ("assay_method", "ELISA; Flow Cytometry")
    html = response.content.decode()
    assert 'aria-sort="descending"' in html
    assert "?sort=subjects&amp;columns=subjects" in html
    # nonsense is ignored, not an error
    response = client.get(SEARCH, {"sort": "nope", "page": "x", "per_page": "7"})
    assert response.status_code == 200
    assert response.context["result"].per_page == 25


def test_htmx_gets_only_the_results_and_facets(client, crafted):  # noqa: F811
    response = client.get(
        SEARCH, {"condition_or_disease": "Influenza"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="search-results"')
    assert "<html" not in html
    assert "Studies (2)" in html
    restore = client.get(
        SEARCH, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.content.decode()


def test_quick_links_are_searches(client, crafted):  # noqa: F811
    html = client.get(SEARCH).content.decode()
    assert 'href="/shared/search/?condition_or_disease=Influenza">Influenza</a>' in html
    response = client.get(SEARCH + "?condition_or_disease=Influenza")
    assert response.context["result"].total_studies == 2


def parse(fmt, content):
    if fmt == "csv":
        return pl.read_csv(io.BytesIO(content)).to_dicts()
    if fmt == "tsv":
        return pl.read_csv(io.BytesIO(content), separator="\t").to_dicts()
    if fmt == "json":
        return json.loads(content)
    sheet = load_workbook(io.BytesIO(content)).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "xlsx"])
def test_the_export_is_the_whole_result_list(client, crafted, fmt):  # noqa: F811
    params = {"condition_or_disease": "Influenza", "sort": "brief_title", "per_page": "25",
              "page": "1", "columns": ["brief_title", "subjects", "assay_method"]}  # fmt: skip
    response = client.get(reverse("portal:search-export", args=[fmt]), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        {"csv": "text/csv", "tsv": "text/tab-separated-values", "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
    )  # fmt: skip
    assert response["Content-Disposition"] == f'attachment; filename="immunoport-search.{fmt}"'
    rows = parse(fmt, response.content)
    if fmt == "json":
        assert rows == [
            {"study_accession": crafted["mice"],
             "brief_title": "Influenza infection in a mouse model",
             "subjects": 1, "assay_method": ["CyTOF"]},
            {"study_accession": crafted["flu"],
             "brief_title": "Influenza vaccine response in adults",
             "subjects": 3, "assay_method": ["ELISA", "Flow Cytometry"]},
        ]  # fmt: skip
    else:
        assert rows == [
            {"Accession": crafted["mice"], "Title": "Influenza infection in a mouse model",
             "Subjects": 1, "Assay Methods": "CyTOF"},
            {"Accession": crafted["flu"], "Title": "Influenza vaccine response in adults",
             "Subjects": 3, "Assay Methods": "ELISA; Flow Cytometry"},
        ]  # fmt: skip


def test_an_unknown_export_format_is_not_found(client, crafted):  # noqa: F811
    assert client.get("/shared/search/export.pdf").status_code == 404
    assert client.get("/shared/cart/export.exe").status_code == 404


def test_a_private_study_shows_nowhere(client, crafted, private_accession):  # noqa: F811
    responses = [
        client.get(SEARCH),
        client.get(SEARCH, {"q": "hepatitis"}),
        client.get(SEARCH, {"study_accession": private_accession}),
        *(client.get(f"/shared/search/export.{fmt}") for fmt in ("csv", "json")),
    ]
    for number, response in enumerate(responses):
        text = response.content.decode()
        for secret in (PRIVATE_TITLE, PRIVATE_CONDITION):
            assert secret not in text
        if number != 2:  # the third echoes the accession typed into its filter
            assert private_accession not in text
    assert responses[2].context["result"].total_studies == 0
    # nor can it be put in the cart
    client.post(reverse("portal:cart-add"), {"study": [private_accession, crafted["flu"]]})
    assert client.session[CART_SESSION_KEY] == [crafted["flu"]]
    assert private_accession not in client.get(reverse("portal:cart")).content.decode()


def test_a_visitors_cart_is_kept_in_the_session(client, crafted):  # noqa: F811
    add, remove = reverse("portal:cart-add"), reverse("portal:cart-remove")
    response = client.post(add, {"study": crafted["lupus"], "next": SEARCH + "?q=lupus"})
    assert (response.status_code, response["Location"]) == (302, SEARCH + "?q=lupus")
    assert client.post(add, {"study": crafted["lupus"], "next": "https://evil.example/"})[
        "Location"
    ] == reverse("portal:cart")
    client.post(add, {"all": "1", "query": "condition_or_disease=Influenza"})
    assert client.session[CART_SESSION_KEY] == [crafted["lupus"], crafted["flu"], crafted["mice"]]
    client.post(remove, {"study": crafted["flu"]})
    response = client.get(reverse("portal:cart"))
    assert shown(response) == [crafted["lupus"], crafted["mice"]]
    html = response.content.decode()
    assert f'href="/shared/study/{crafted["lupus"]}/"' in html
    assert f'href="/shared/study/{crafted["lupus"]}/DR1.zip"' in html
    exported = pl.read_csv(io.BytesIO(client.get("/shared/cart/export.csv").content))
    assert exported["Accession"].to_list() == [crafted["lupus"], crafted["mice"]]
    assert CartItem.objects.count() == 0
    assert client.get(SEARCH).context["in_cart"] == {crafted["lupus"], crafted["mice"]}


def test_a_signed_in_users_cart_is_kept_in_the_database(client, sign_in, crafted):  # noqa: F811
    user = approved_user("reader")
    sign_in(client, user)
    client.post(reverse("portal:cart-add"), {"study": [crafted["mice"], crafted["flu"]]})
    client.post(reverse("portal:cart-add"), {"study": crafted["mice"]})  # once only
    assert list(user.cart_items.values_list("study_accession", flat=True)) == [
        crafted["mice"], crafted["flu"],
    ]  # fmt: skip
    client.post(reverse("portal:cart-remove"), {"study": crafted["mice"]})
    assert shown(client.get(reverse("portal:cart"))) == [crafted["flu"]]
    assert CART_SESSION_KEY not in client.session


def test_a_session_cart_joins_the_users_cart_at_sign_in(client, crafted):  # noqa: F811
    user = approved_user("reader")
    CartItem.objects.create(user=user, study_accession=crafted["flu"])
    client.post(reverse("portal:cart-add"), {"study": [crafted["lupus"], crafted["flu"]]})
    response = client.post(
        "/accounts/login/",
        {"login": "reader", "password": "a long pass phrase", "accept_agreement": "on",
         "agreement_version": agreement.current_agreement().version},
    )  # fmt: skip
    assert response.status_code == 302
    assert sorted(user.cart_items.values_list("study_accession", flat=True)) == sorted(
        [crafted["flu"], crafted["lupus"]]
    )
    assert CART_SESSION_KEY not in client.session


def test_a_cart_item_of_a_study_no_longer_released_is_not_listed(client, sign_in, crafted):  # noqa: F811
    user = approved_user("reader")
    CartItem.objects.create(user=user, study_accession="SDY999999")
    CartItem.objects.create(user=user, study_accession=crafted["lupus"])
    sign_in(client, user)
    assert shown(client.get(reverse("portal:cart"))) == [crafted["lupus"]]


def test_the_search_and_cart_pages_make_a_fixed_number_of_queries(
    client,
    sign_in,
    crafted,  # noqa: F811 - the fixture imported above
    django_assert_max_num_queries,
):
    client.get(SEARCH)  # the index is built once per release, outside the count
    with django_assert_max_num_queries(3):
        client.get(SEARCH, {"condition_or_disease": "Influenza"})
    user = approved_user("reader")
    sign_in(client, user)
    for accession in crafted.values():
        CartItem.objects.create(user=user, study_accession=accession)
    with django_assert_max_num_queries(7):
        assert len(shown(client.get(SEARCH))) == 3
    with django_assert_max_num_queries(7):
        assert len(shown(client.get(reverse("portal:cart")))) == 3
