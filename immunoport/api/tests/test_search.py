"""ImmPort's study and subject search over the six demo studies, as a client calls it."""

import io

import polars as pl
import pytest

from immunoport.api.search import FACET_PARAMETERS, RELEASE_FIELDS, STUDY_FIELDS, SUBJECT_FIELDS
from immunoport.portal.search import FACET_BY_KEY, NO, YES, current_index
from immunoport.portal.tests.conftest import build_study
from immunoport.releases import public

pytestmark = pytest.mark.django_db

DEMO = ["SDY139", "SDY208", "SDY702", "SDY1041", "SDY1097", "SDY1389"]
SEARCH = "/data/query/api/search/"


def search(client, kind: str, **params):
    answer = client.get(f"{SEARCH}{kind}", params)
    assert answer.status_code == 200, answer.content
    return answer.json()["hits"]


def sources(client, kind: str, **params) -> list[dict]:
    return [hit["_source"] for hit in search(client, kind, pageSize=10_000, **params)["hits"]]


def accessions(client, kind: str = "study", **params) -> list[str]:
    field = f"{kind}_accession"
    return [row[field] for row in sources(client, kind, **params)]


def test_every_study_in_accession_order_with_the_total(client, demo_release):
    hits = search(client, "study")
    assert hits["total"]["value"] == 6
    assert [hit["_source"]["study_accession"] for hit in hits["hits"]] == DEMO
    assert set(hits["hits"][0]["_source"]) == set(STUDY_FIELDS)


def test_study_fields_hold_the_released_values(client, demo_release):
    (sdy702,) = sources(client, "study", studyAccession="sdy702")
    assert sdy702["brief_title"] == "Human T Cell Profile"
    assert (
        sdy702["actual_enrollment"]
        == current_index()
        .studies.filter(pl.col("study_accession") == "SDY702")["subject_count"]
        .item()
    )
    assert sdy702["clinical_trial"] == "N"
    assert sdy702["program_name"] == [
        "NIAID Investigator Initiated Program Project Applications (P01) PAR-16-413, PAR-13-254"
    ]
    assert "Homo sapiens" in sdy702["species"]
    assert sdy702["study_pi"]  # from the release's study personnel


@pytest.mark.parametrize("kind", ["study", "subject"])
@pytest.mark.parametrize("size", [1, 4, 7])
def test_pages_are_consecutive_disjoint_and_cover_every_hit(client, demo_release, kind, size):
    everything = accessions(client, kind)
    pages, offset = [], 0
    while True:
        hits = search(client, kind, fromRecord=offset, pageSize=size)
        assert hits["total"]["value"] == len(everything)
        page = [hit["_source"][f"{kind}_accession"] for hit in hits["hits"]]
        if not page:
            break
        assert len(page) <= size
        pages.append(page)
        offset += size
    assert [a for page in pages for a in page] == everything


def test_subject_search_answers_each_subject_of_each_study(client, demo_release):
    index = current_index()
    hits = search(client, "subject", pageSize=1)
    assert hits["total"]["value"] == index.subjects.height
    assert set(hits["hits"][0]["_source"]) == set(SUBJECT_FIELDS)


def facet_totals() -> dict[str, dict[str, int]]:
    """Each facet's counts of an unfiltered search, as the search page shows them."""
    result = current_index().search()
    return {key: dict(values) for key, values in result.facets.items()}


PARAMETER_VALUES = [
    (parameter, facet)
    for parameter, facet in FACET_PARAMETERS.items()
    if not FACET_BY_KEY[facet].boolean
]


@pytest.mark.parametrize(("parameter", "facet"), PARAMETER_VALUES)
def test_each_filter_counts_what_the_search_page_counts(client, demo_release, parameter, facet):
    """A study facet's count is of studies (study search); a subject facet's of distinct
    subjects (subject search)."""
    counts = facet_totals()[facet]
    assert counts, f"the demo has no {facet}"
    subject_level = FACET_BY_KEY[facet].level == "subject"
    for value, total in counts.items():
        if subject_level:
            found = {
                r["subject_accession"] for r in sources(client, "subject", **{parameter: value})
            }
        else:
            found = set(accessions(client, **{parameter: value}))
        assert len(found) == total, (parameter, value)


@pytest.mark.parametrize(
    ("parameter", "facet"),
    [(p, f) for p, f in FACET_PARAMETERS.items() if FACET_BY_KEY[f].boolean],
)
def test_yes_no_filters_split_the_studies(client, demo_release, parameter, facet):
    counts = facet_totals()[facet]
    yes, no = accessions(client, **{parameter: "Y"}), accessions(client, **{parameter: "n"})
    assert (len(yes), len(no)) == (counts.get(YES, 0), counts.get(NO, 0))
    assert sorted(yes + no) == sorted(DEMO)
    assert accessions(client, **{parameter: "Y,N"}) == DEMO


def test_several_values_are_comma_separated_and_a_value_may_hold_a_comma(client, demo_release):
    program = (
        "NIAID Investigator Initiated Program Project Applications (P01) PAR-16-413, PAR-13-254"
    )
    both = f"Human Immunology Project Consortium (HIPC) RFA-AI-15-041,{program.lower()}"
    assert accessions(client, programName=program) == ["SDY702", "SDY1041", "SDY1097", "SDY1389"]
    assert accessions(client, programName=both) == accessions(client, programName=program)
    assert accessions(client, studyAccession="SDY139, sdy702") == ["SDY139", "SDY702"]


def test_age_filters_select_subjects_by_their_age_in_years(client, demo_release):
    subjects = current_index().subjects
    adults = subjects.filter((pl.col("age") >= 18) & (pl.col("age") < 30))
    found = sources(client, "subject", ageRange="18-29")
    assert len(found) == adults.height
    assert all(18 <= row["min_age"] < 30 for row in found)
    assert len(sources(client, "subject", minAge=50)) == subjects.filter(pl.col("age") >= 50).height
    assert set(accessions(client, ageRange="18-29")) == set(adults["study_accession"])


def test_subject_accession_narrows_to_that_subjects_studies(client, demo_release):
    subject = current_index().subjects.row(0, named=True)
    (row,) = sources(
        client,
        "subject",
        subjectAccession=subject["subject_accession"].lower(),
        studyAccession=subject["study_accession"],
    )
    assert row["sex"] == subject["gender"]
    assert subject["study_accession"] in accessions(
        client, subjectAccession=subject["subject_accession"]
    )


def test_source_fields_choose_the_fields(client, demo_release):
    rows = sources(client, "study", sourceFields="study_accession,brief_title,study_pi")
    assert all(set(row) == {"study_accession", "brief_title", "study_pi"} for row in rows)


@pytest.mark.parametrize("field", ["brief_title", "actual_enrollment", "condition_or_disease"])
def test_sort_both_directions(client, demo_release, field):
    up = sources(client, "study", sortField=field)
    down = sources(client, "study", sortField=field, sortFieldDirection="desc")

    def key(row):
        value = row[field]
        return "; ".join(value) if isinstance(value, list) else value

    assert [key(r) for r in up] == sorted(key(r) for r in up)
    assert [key(r) for r in down] == sorted((key(r) for r in down), reverse=True)


def test_term_matches_and_tags_highlight_it(client, demo_release):
    found = sources(client, "study", term="influenza", preTag="<em>", postTag="</em>")
    assert {r["study_accession"] for r in found} >= {"SDY208"}
    sdy208 = next(r for r in found if r["study_accession"] == "SDY208")
    assert "<em>Influenza</em>" in sdy208["brief_title"]
    assert "<em>" not in sdy208["study_accession"]
    plain = sources(client, "study", term="influenza")
    assert all("<em>" not in str(r) for r in plain)


def test_search_fields_limit_where_the_term_is_found(client, demo_release):
    everywhere = accessions(client, term="influenza")
    in_titles = accessions(client, term="influenza", searchFields="brief_title")
    assert in_titles == [a for a in everywhere if a in in_titles]
    assert "SDY208" in in_titles
    assert "SDY139" in everywhere  # its program's name says influenza; its title does not
    assert "SDY139" not in in_titles


@pytest.mark.parametrize("kind", ["study", "subject"])
def test_tsv_holds_the_same_rows(client, demo_release, kind):
    json_rows = sources(client, kind, sourceFields=f"{kind}_accession,brief_title")
    answer = client.get(
        f"{SEARCH}{kind}",
        {"format": "tsv", "pageSize": 10_000, "sourceFields": f"{kind}_accession,brief_title"},
    )
    assert answer["Content-Type"].startswith("text/tab-separated-values")
    frame = pl.read_csv(io.BytesIO(answer.content), separator="\t")
    assert frame.to_dicts() == json_rows


@pytest.mark.parametrize("kind", ["study", "subject"])
def test_download_is_every_hit_as_tsv(client, demo_release, kind):
    answer = client.get(f"{SEARCH}{kind}/download", {"researchFocus": "Vaccine Response"})
    assert answer.status_code == 200
    frame = pl.read_csv(io.BytesIO(answer.content), separator="\t", infer_schema=False)
    expected = accessions(client, kind, researchFocus="Vaccine Response")
    assert frame[f"{kind}_accession"].to_list() == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pageSize": -1}, "pageSize"),
        ({"pageSize": 0}, "pageSize"),
        ({"fromRecord": "abc"}, "fromRecord"),
        ({"fromRecord": -3}, "fromRecord"),
        ({"sortField": "doi"}, "Unknown sortField"),
        ({"sortFieldDirection": "sideways"}, "sortFieldDirection"),
        ({"sourceFields": "study_accession,password"}, "Unknown sourceFields"),
        ({"clinicalTrial": "maybe"}, "clinicalTrial"),
        ({"ageRange": "old"}, "ageRange"),
        ({"format": "xml"}, "format"),
    ],
)
def test_invalid_values_answer_400_or_422_with_the_reason(client, demo_release, params, message):
    answer = client.get(f"{SEARCH}study", params)
    assert answer.status_code in (400, 422)
    assert message in answer.content.decode()


def test_a_page_past_the_end_is_empty(client, demo_release):
    hits = search(client, "study", fromRecord=100)
    assert (hits["total"]["value"], hits["hits"]) == (6, [])


def test_a_private_study_appears_in_no_search_or_listing(client, demo_release, workspace):
    private = build_study(
        workspace, title="Private zymosan cohort", subjects=2, condition="Zymosan poisoning",
        results_per_subject=1, shared=False,
    )  # fmt: skip
    assert private.accession.startswith("SDY")
    answers = [
        client.get(f"{SEARCH}{kind}{download}", params).content.decode()
        for kind in ("study", "subject")
        for download in ("", "/download")
        for params in ({}, {"term": "zymosan"}, {"studyAccession": private.accession})
    ]
    answers.append(client.get("/data/query/study/findAllStudyAccessions").content.decode())
    answers.append(client.get("/data/query/api/lookup/lkDisease").content.decode())
    for answer in answers:
        assert private.accession not in answer
        assert "zymosan" not in answer.lower()


def test_release_fields_come_from_the_release_and_the_study_rows(client, demo_release):
    fields = ",".join(("study_accession", *RELEASE_FIELDS, "assay_method_count"))
    (sdy702,) = sources(client, "study", studyAccession="SDY702", sourceFields=fields)
    released = public.released_study("SDY702", demo_release)
    study = public.public_table(released, "study").row(0, named=True)
    pubmed = public.public_table(released, "study_pubmed")["pubmed_id"].cast(pl.String)
    assert sdy702["initial_data_release_version_number"] == demo_release.label
    assert sdy702["latest_data_release_version_number"] == demo_release.label
    assert sdy702["initial_data_release_date"] == demo_release.created_at.date().isoformat()
    assert sdy702["shared_subject_count"] == released.counts["subject"]
    assert sdy702["planned_visit_total_count"] == released.counts.get("planned_visit", 0)
    assert sdy702["sex_included"] == study["gender_included"]
    assert sdy702["doi"] == study["doi"]
    assert sdy702["pubmed_id"].split("; ") == sorted(set(pubmed.to_list()))
    grants = public.public_table(released, "contract_grant")
    assert set(sdy702["contract_grant_name"].split("; ")) <= set(grants["name"])
    techniques = public.public_table(released, "experiment")["measurement_technique"]
    assert sdy702["assay_method_count"] == techniques.n_unique()
    assert list(sdy702) == fields.split(",")


def test_page_fields_are_answered_without_the_accession_field(client, demo_release):
    (only,) = sources(client, "study", studyAccession="SDY702", sourceFields="study_pi,doi")
    assert set(only) == {"study_pi", "doi"}
    assert only["study_pi"]


def test_an_offset_past_any_index_is_refused_not_a_server_error(client, demo_release):
    answer = client.get(f"{SEARCH}study", {"fromRecord": 10**20})
    assert answer.status_code in (400, 422)
    assert "fromRecord" in answer.content.decode()
