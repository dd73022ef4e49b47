import re
from pathlib import Path

import pytest

from immunoport.schema.blanks import XLSX_CONTENT_TYPE
from immunoport.schema.services import load_lookups
from immunoport.schema.templates import templates
from immunoport.validation.parser import parse_file

GOLDEN = Path(__file__).parent / "golden" / "txt-templates"


@pytest.fixture
def lookups(db):
    load_lookups()


def test_the_list_groups_all_66_templates_in_loading_order(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/resources/templates/")
    assert response.status_code == 200
    html = response.content.decode()
    links = re.findall(r'href="/resources/templates/([^"/]+)/"', html)
    assert sorted(links) == sorted(templates())
    assert "Study design, in stacked sections" in html
    assert "Records with repeatable result groups" in html
    orders = [t.loading_order for t in templates().values()]
    assert orders == sorted(orders)
    assert templates()["subjectHumans.txt"].description in html


def test_a_template_page_lists_its_columns_in_order(client, lookups, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/resources/templates/subjectHumans.txt/")
    assert response.status_code == 200
    html = response.content.decode()
    headers = re.findall(r'<th scope="row">([^<]+)</th>', html)
    assert headers == list(templates()["subjectHumans.txt"].header)
    gender = html[html.index('<th scope="row">Gender</th>') :].split("</tr>", 1)[0]
    assert "Required when &#x27;Subject ID&#x27; names a new subject" in gender
    assert "varchar(20)" in gender
    assert 'href="/resources/lookups/lk_gender/"' in gender
    assert "Female" in gender
    assert "Male" in gender
    assert 'href="/resources/templates/subjectHumans.txt/blank.txt"' in html
    assert 'href="/resources/templates/subjectHumans.txt/blank.xlsx"' in html


def test_a_large_lookup_shows_its_count_and_first_terms(client, lookups):
    html = client.get("/resources/templates/experimentSamples.ELISA.txt/").content.decode()
    analyte = html[html.index('<th scope="row">Analyte Reported</th>') :].split("</tr>", 1)[0]
    assert "911 terms, e.g." in analyte
    assert "all 911 terms" in analyte
    assert analyte.count(" ; ") <= 3 * 12  # no more than the first 12 composite terms


def test_a_compound_template_shows_its_sections(client, lookups):
    html = client.get("/resources/templates/basic_study_design.txt/").content.decode()
    sections = re.findall(r"<h2>Section (\w+)</h2>", html)
    assert sections == [s.name for s in templates()["basic_study_design.txt"].sections]
    assert "Required whenever the section is used" in html  # study_file's columns


def test_a_template_page_without_loaded_lookups_still_renders(client, db):
    html = client.get("/resources/templates/subjectHumans.txt/").content.decode()
    assert "not loaded yet" in html


@pytest.mark.parametrize("file_name", ["subjectHumans.txt", "basic_study_design.txt"])
def test_downloads_are_the_blanks_and_parse_back(client, file_name):
    response = client.get(f"/resources/templates/{file_name}/blank.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{file_name}"'
    assert response.content == (GOLDEN / file_name).read_bytes()

    response = client.get(f"/resources/templates/{file_name}/blank.xlsx")
    xlsx = file_name.removesuffix(".txt") + ".xlsx"
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == f'attachment; filename="{xlsx}"'
    parsed = parse_file(xlsx, response.content)
    assert parsed.findings == []
    assert parsed.row_count == 0


@pytest.mark.parametrize(
    "url",
    [
        "/resources/templates/noSuchTemplate.txt/",
        "/resources/templates/subjecthumans.txt/",
        "/resources/templates/noSuchTemplate.txt/blank.txt",
        "/resources/templates/noSuchTemplate.txt/blank.xlsx",
        "/resources/lookups/lk_no_such_lookup/",
    ],
)
def test_unknown_templates_and_lookups_are_not_found(client, db, url):
    assert client.get(url).status_code == 404


def test_a_lookup_page_lists_every_term(client, lookups, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = client.get("/resources/lookups/lk_analyte/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<tr>") == 1 + 911
    assert "AA4 ; hCD93 ; ANA918" in html
    assert 'href="/resources/templates/experimentSamples.ELISA.txt/"' in html


def test_the_lookup_list_counts_terms(client, lookups, django_assert_num_queries):
    with django_assert_num_queries(1):
        html = client.get("/resources/lookups/").content.decode()
    assert html.count('href="/resources/lookups/lk_') == 53
    assert "<td>911</td>" in html


def test_the_resources_page_links_to_the_templates(client, db):
    html = client.get("/resources/").content.decode()
    assert 'href="/resources/templates/"' in html
    assert 'href="/resources/lookups/"' in html
