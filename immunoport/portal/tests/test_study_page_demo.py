"""The study page of a real ImmPort study (SDY702, from the demo), against its snapshot.

The demo's studies are imported and released as DR1 in a storage folder of this
module's own; the page's figures are compared with figures computed here from the
released Parquet tables.
"""

import html
import json
import re

import polars as pl
import pytest

from immunoport.portal.study_page import AGE_ORDER
from immunoport.releases import public

pytestmark = pytest.mark.django_db

ACCESSION = "SDY702"
WITH_RESULTS = "SDY139"  # SDY702's download holds no result rows; SDY139's do


@pytest.fixture
def released(demo_release):
    return public.released_study(ACCESSION, demo_release)


@pytest.fixture
def page(client, released) -> str:
    response = client.get(f"/shared/study/{ACCESSION}/")
    assert response.status_code == 200
    return response.content.decode()


def table(released, name: str) -> pl.DataFrame:
    return public.public_table(released, name)


def test_the_principal_investigator_and_funding(page, released):
    investigators = table(released, "study_personnel").filter(
        pl.col("role_in_study") == "Principal Investigator"
    )
    assert investigators.height >= 1
    for person in investigators.iter_rows(named=True):
        assert person["last_name"] in page
        assert html.escape(person["organization"]) in page
    assert "Donna Farber" in page
    assert "Columbia University" in page
    for program in table(released, "program")["name"]:
        assert html.escape(program) in page


@pytest.mark.parametrize("accession", [ACCESSION, WITH_RESULTS])
def test_assays_show_experiments_expsamples_and_result_rows_per_technique(
    client, demo_release, accession
):
    released = public.released_study(accession, demo_release)
    page = client.get(f"/shared/study/{accession}/").content.decode()
    experiments = table(released, "experiment").select(
        "experiment_accession", "measurement_technique"
    )
    expected: dict[str, list[int]] = {
        technique: [0, 0, 0] for technique in experiments["measurement_technique"]
    }
    technique_of = dict(experiments.iter_rows())
    for experiment in experiments["experiment_accession"]:
        expected[technique_of[experiment]][0] += 1
    for experiment in table(released, "expsample")["experiment_accession"]:
        expected[technique_of[experiment]][1] += 1
    result_tables = [t for t, n in released.counts.items() if t.endswith("_result") and n]
    for name in result_tables:
        frame = table(released, name)
        if "experiment_accession" in frame.columns:
            for experiment, rows in frame["experiment_accession"].value_counts().iter_rows():
                expected[technique_of[experiment]][2] += rows
    assert sum(r for _, _, r in expected.values()) > 0 or accession == ACCESSION
    shown = {
        technique: [int(n.replace(",", "")) for n in figures]
        for technique, *figures in re.findall(
            r'<tr data-technique="([^"]+)"><td>[^<]*</td><td>([\d,]+)</td><td>([\d,]+)</td>'
            r'<td data-results="\d+">([\d,]+)</td></tr>',
            page,
        )
    }
    assert shown == expected


def chart(page: str, key: str) -> dict[str, int]:
    figure = re.search(rf'<figure class="chart" id="chart-{key}">(.*?)</figure>', page, re.S)
    assert figure, key
    found = re.findall(r'data-value="([^"]*)" data-total="(\d+)"', figure[1])
    return {html.unescape(value): int(total) for value, total in found}


def test_demographics_count_the_subjects_of_the_subject_table(page, released):
    subjects = table(released, "subject")
    assert subjects.height > 0
    for key in ("gender", "race", "ethnicity", "species"):
        values = subjects[key].str.strip_chars().replace("", None).fill_null("Not Specified")
        assert chart(page, key) == dict(values.value_counts().iter_rows()), key
    ages = chart(page, "age_group")
    assert sum(ages.values()) == subjects.height
    assert list(ages) == sorted(ages, key=AGE_ORDER.index)


def test_publications_and_files(page, released):
    papers = table(released, "study_pubmed")
    assert papers.height >= 1
    for paper in papers.iter_rows(named=True):
        assert f'href="https://pubmed.ncbi.nlm.nih.gov/{paper["pubmed_id"]}/"' in page
        assert html.escape(paper["title"]) in page
        assert html.escape(paper["journal"]) in page
        assert paper["year"] in page
    protocols = table(released, "protocol")
    assert protocols.height >= 1
    for protocol in protocols.iter_rows(named=True):
        assert protocol["protocol_accession"] in page
        assert html.escape(protocol["name"]) in page


def test_the_dataset_json_ld_describes_the_released_study(page, released):
    found = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(found) == 1
    dataset = json.loads(found[0])
    assert dataset["@context"] == "https://schema.org/"
    assert dataset["@type"] == "Dataset"
    assert ACCESSION in dataset["identifier"]
    assert dataset["url"] == f"http://testserver/shared/study/{ACCESSION}/"
    assert dataset["version"] == str(released.version)
    assert dataset["datePublished"] == released.release.created_at.date().isoformat()
    farber = {
        "@type": "Person",
        "name": "Donna Farber",
        "affiliation": {"@type": "Organization", "name": "Columbia University"},
    }
    assert farber in dataset["creator"]
    techniques = sorted(set(table(released, "experiment")["measurement_technique"]))
    assert sorted(dataset["measurementTechnique"]) == techniques
    assert set(techniques) <= set(dataset["keywords"])
    assert dataset["license"] == "http://testserver/account/agreement/"
    assert dataset["isAccessibleForFree"] is True
    assert dataset["includedInDataCatalog"]["@type"] == "DataCatalog"
    [download] = dataset["distribution"]
    assert download == {
        "@type": "DataDownload",
        "contentUrl": f"http://testserver/shared/study/{ACCESSION}/{released.release.label}.zip",
        "encodingFormat": "application/zip",
        "contentSize": f"{released.download_size} B",
    }
