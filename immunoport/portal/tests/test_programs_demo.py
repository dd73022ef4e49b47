"""The program pages over the demo's six ImmPort studies, released as DR1.

Every figure the pages show is computed again here, study by study, from the
snapshot tables (``public_table``), and every download link is followed.
"""

import hashlib
import re
from collections import Counter

import polars as pl
import pytest
from django.urls import reverse

from immunoport.releases import public

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def released(demo_release):
    """The demo's studies as DR1 holds them, downloads built: accession -> ReleasedStudy."""
    return {s.study_accession: s for s in public.released_studies(demo_release)}


@pytest.fixture(scope="module")
def expected(released) -> dict[int, dict]:
    """program_id -> the figures its page should show, from each study's snapshot."""
    programs: dict[int, dict] = {}
    for accession, study in released.items():
        if not study.counts.get("contract_grant_2_study"):
            continue
        grants = public.public_table(study, "contract_grant")
        named = set(public.public_table(study, "contract_grant_2_study")["contract_grant_id"])
        for grant in grants.filter(pl.col("contract_grant_id").is_in(named)).iter_rows(named=True):
            row = (
                public.public_table(study, "program")
                .filter(pl.col("program_id") == grant["program_id"])
                .row(0, named=True)
            )
            program = programs.setdefault(
                row["program_id"], {"name": row["name"], "studies": set(), "grants": set()}
            )
            program["studies"].add(accession)
            program["grants"].add(grant["external_id"])
    for program in programs.values():
        subjects = pl.concat(
            [public.public_table(released[a], "subject") for a in program["studies"]],
            how="diagonal_relaxed",
        ).unique("subject_accession")
        program["subjects"] = subjects.height
        program["genders"] = Counter(
            (g or "").strip() or "Not Specified" for g in subjects["gender"].to_list()
        )
        program["expsamples"] = sum(
            public.public_table(released[a], "expsample").height for a in program["studies"]
        )
        program["measurements"] = measurements(released, program["studies"])
    return programs


def measurements(released, accessions) -> dict[str, tuple[int, int, int, int]]:
    """assay method -> (studies, experiments, expsamples, results), counted row by row."""
    figures: dict[str, list] = {}
    for accession in accessions:
        study = released[accession]
        experiments = public.public_table(study, "experiment")
        expsamples = Counter(public.public_table(study, "expsample")["experiment_accession"])
        results: Counter = Counter()
        for table, rows in study.counts.items():
            frame = public.public_table(study, table)
            if table.endswith("_result") and rows and "experiment_accession" in frame.columns:
                results.update(frame["experiment_accession"].to_list())
        for row in experiments.iter_rows(named=True):
            method = (row["measurement_technique"] or "").strip() or "Not Specified"
            each = figures.setdefault(method, [set(), 0, 0, 0])
            each[0].add(accession)
            each[1] += 1
            each[2] += expsamples[row["experiment_accession"]]
            each[3] += results[row["experiment_accession"]]
    return {m: (len(s), e, x, r) for m, (s, e, x, r) in figures.items()}


def cells(html: str, section: str) -> list[list[str]]:
    """The text of each body row's cells in the page's ``section``."""
    part = html.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    body = part.split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_demo_has_programs_with_several_studies(expected):
    assert expected, "the demo names no program"
    assert max(len(p["studies"]) for p in expected.values()) > 1


def test_the_program_list_shows_each_program_with_its_figures(client, expected):
    response = client.get(reverse("portal:programs"))
    assert response.status_code == 200
    html = response.content.decode()
    shown = {
        int(re.search(r"/shared/program/(\d+)/", row).group(1)): row
        for row in re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>", 1)[1], re.S)
    }
    assert set(shown) == set(expected)
    for program_id, program in expected.items():
        numbers = re.findall(r"<td>(\d+)</td>", shown[program_id])
        assert numbers == [
            str(len(program["studies"])),
            str(program["subjects"]),
            str(program["expsamples"]),
        ]


def test_a_program_page_shows_its_studies_measurements_and_participants(client, expected):
    for program_id, program in expected.items():
        response = client.get(reverse("portal:program", args=[program_id]))
        assert response.status_code == 200
        html = response.content.decode()
        assert {row[0] for row in cells(html, "studies")} == program["studies"]
        assert {row[0] for row in cells(html, "contracts")} == program["grants"]
        assert {
            row[0]: tuple(int(n) for n in row[1:]) for row in cells(html, "measurements")
        } == program["measurements"]
        figures = dict(re.findall(r"<dt>(\w[\w ]*)</dt><dd>(\d+)</dd>", html))
        assert figures == {
            "Studies": str(len(program["studies"])),
            "Participants": str(program["subjects"]),
            "Experimental samples": str(program["expsamples"]),
        }
        participants = html.split('<section id="participants">', 1)[1]
        genders = participants.split("<h3>Gender</h3>", 1)[1].split("</table>", 1)[0]
        assert {
            value: int(n)
            for value, n in re.findall(r'<th scope="row">(.*?)</th><td>(\d+)</td>', genders)
        } == program["genders"]


def test_every_download_link_of_a_program_gives_the_bytes_whose_md5_it_shows(client, expected):
    for program_id in expected:
        html = client.get(reverse("portal:program", args=[program_id])).content.decode()
        rows = re.findall(
            r'<a href="([^"]+\.zip)" download>.*?<code class="md5">([0-9a-f]{32})</code>',
            html.split('<section id="downloads">', 1)[1],
            re.S,
        )
        assert len(rows) == len(expected[program_id]["studies"])
        for url, md5 in rows:
            response = client.get(url)
            assert response.status_code == 200
            assert hashlib.md5(b"".join(response.streaming_content)).hexdigest() == md5


def test_the_study_list_exports_as_csv_and_tsv(client, expected):
    program_id, program = next(iter(expected.items()))
    for fmt, separator in (("csv", ","), ("tsv", "\t")):
        response = client.get(reverse("portal:program-studies-export", args=[program_id, fmt]))
        assert response.status_code == 200
        lines = response.content.decode().splitlines()
        assert lines[0].split(separator)[0] == "Accession"
        assert {line.split(separator)[0] for line in lines[1:]} == program["studies"]


def test_an_unknown_program_is_not_found(client, released):
    assert client.get(reverse("portal:program", args=[999_999])).status_code == 404
    assert (
        client.get(reverse("portal:program-studies-export", args=[999_999, "csv"])).status_code
        == 404
    )


def test_the_pages_run_a_pinned_number_of_queries(client, expected, django_assert_num_queries):
    program_id = next(iter(expected))
    client.get(reverse("portal:programs"))  # fills the per-release cache
    with django_assert_num_queries(2):  # the current release, the cached programs
        client.get(reverse("portal:programs"))
    # the current release, the cached programs, the current release again and the
    # program's released studies (titles and downloads)
    with django_assert_num_queries(4):
        client.get(reverse("portal:program", args=[program_id]))
