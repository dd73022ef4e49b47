"""Every public surface against a study whose rows are made to break each privacy rule.

One study is crafted record by record to hold what must never be public: user-defined
IDs on every record, a street address and a city as subjects' locations, ages of 95
years and 1200 months, a subject measure dated and a biosample described with a date,
e-mail addresses and phone numbers in free text (one flag cleared by a curator, the
others not). A second workspace holds a private study that is never shared. The study
is shared, reviewed and released; then every public page and every byte of both
downloads (each member, Parquet decoded too) is searched.
"""

import datetime
import io
import re
import zipfile
from dataclasses import dataclass, field

import polars as pl
import pytest
from django.test import Client

from conftest import approved_user
from immunoport.curation.models import TextFlag
from immunoport.ingest.tests.packages import (  # noqa: F401 - fixtures
    immediate_tasks_fixture,
    own_storage_fixture,
)
from immunoport.releases import public, services
from immunoport.releases.privacy import AGE_SHOWN, flag_free_text, public_tables
from immunoport.studies.models import (
    Arm2Subject,
    ArmOrCohort,
    Biosample,
    InclusionExclusion,
    PlannedVisit,
    Study,
    Study2ConditionOrDisease,
    Subject,
    SubjectMeasureDefinition,
    SubjectMeasureResult,
)
from immunoport.workspaces.models import Workspace

pytestmark = pytest.mark.usefixtures("own_storage", "immediate_tasks")

TODAY = datetime.date(2026, 11, 24)
ALL_CHECKED = [key for key, _ in services.REVIEW_CHECKLIST]

# Rule 1: every user-defined ID ends in "-udi"; none may be seen.
USER_DEFINED_IDS = (
    "secret-study-udi",
    "arm-oldest-udi",
    "arm-youngest-udi",
    "subject-street-udi",
    "subject-state-udi",
    "subject-city-udi",
    "visit-day0-udi",
    "criterion-adult-udi",
    "biosample-home-udi",
    "measure-weight-udi",
    "measure-result-udi",
)
# Rule 2: the subject measure's date and the date in a biosample's description.
SUBJECT_DATE = datetime.date(2023, 3, 14)
DATE_SPELLINGS = ("2023-03-14", "14-Mar-2023", "03/14/2023", "2023/03/14", "14/03/2023")
STUDY_START = datetime.date(2020, 1, 6)  # a study's period is public (PUBLIC_DATES)
# Rule 3: places finer than a US state.
STREET = "12 Main Street, Boston MA 02115"
FINE_PLACES = ("Main Street", "02115", "Boston", "Springfield")
# Rule 5: flagged free text, withheld cell by cell until a curator clears the flag.
CLEARED_PHONE = "617-555-0142"  # study.description: its flag cleared
WITHHELD = (
    "pi.hidden@example.org",  # study.brief_title: the title of pages and ALLSTUDIES
    "pi.secret@example.org",  # study.brief_description
    "nurse.secret@example.org",  # study.objectives: an e-mail and a phone in one value,
    "617-555-0177",  # one flag for the value, not cleared
)
OFFICIAL_TITLE = "Immune ageing in the oldest old: a community cohort"
PRIVATE_TITLE = "Private lupus cohort"


@dataclass
class Crafted:
    study: str
    private: str
    private_records: list[str]  # accessions of the private study's records
    surfaces: dict[str, bytes] = field(default_factory=dict)  # what the public gets
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)  # every table read back


def craft_study(workspace: Workspace) -> Study:
    study = Study.objects.create(
        workspace=workspace,
        user_defined_id="secret-study-udi",
        brief_title=f"Ageing immune cohort, contact {WITHHELD[0]}",
        official_title=OFFICIAL_TITLE,
        brief_description=f"Older adults followed for a year; write to {WITHHELD[1]}.",
        description=f"To take part, call the study line at {CLEARED_PHONE} on weekdays.",
        objectives=f"Reach the study nurse at {WITHHELD[2]} or {WITHHELD[3]}.",
        actual_start_date=STUDY_START,
        minimum_age="70",
        maximum_age="100",
        age_unit="Years",
        target_enrollment=3,
    )
    Study2ConditionOrDisease.objects.create(
        workspace=workspace, study=study, condition_reported="Immunosenescence"
    )
    oldest = ArmOrCohort.objects.create(
        workspace=workspace, user_defined_id="arm-oldest-udi", study=study, name="Oldest old"
    )
    youngest = ArmOrCohort.objects.create(
        workspace=workspace, user_defined_id="arm-youngest-udi", study=study, name="Controls"
    )
    visit = PlannedVisit.objects.create(
        workspace=workspace, user_defined_id="visit-day0-udi", study=study, name="Enrolment",
        order_number=1, min_start_day=0, max_start_day=0,
    )  # fmt: skip
    InclusionExclusion.objects.create(
        workspace=workspace, user_defined_id="criterion-adult-udi", study=study,
        criterion="Living in the community", criterion_category="Inclusion",
    )  # fmt: skip
    street, state, city = (
        Subject.objects.create(workspace=workspace, user_defined_id=udi, species="Homo sapiens")
        for udi in ("subject-street-udi", "subject-state-udi", "subject-city-udi")
    )
    Arm2Subject.objects.create(
        workspace=workspace, arm=oldest, subject=street, subject_location=STREET,
        min_subject_age=95, max_subject_age=95, age_unit="Years",
    )  # fmt: skip
    Arm2Subject.objects.create(
        workspace=workspace, arm=oldest, subject=state, subject_location="Massachusetts",
        min_subject_age=1200, max_subject_age=1200, age_unit="Months",
    )  # fmt: skip
    Arm2Subject.objects.create(
        workspace=workspace, arm=youngest, subject=city, subject_location="Springfield",
        min_subject_age=40, max_subject_age=40, age_unit="Years",
    )  # fmt: skip
    Biosample.objects.create(
        workspace=workspace, user_defined_id="biosample-home-udi", study=study, subject=street,
        planned_visit=visit, type="Whole blood", study_time_collected=0,
        description=f"Drawn at the subject's home on {DATE_SPELLINGS[0]} by the study nurse.",
    )  # fmt: skip
    measure = SubjectMeasureDefinition.objects.create(
        workspace=workspace, user_defined_id="measure-weight-udi", study=study, name="Weight"
    )
    SubjectMeasureResult.objects.create(
        workspace=workspace, user_defined_id="measure-result-udi", study=study, subject=street,
        subject_measure=measure, datavalue="61", study_day=0, year_of_measure=SUBJECT_DATE,
    )  # fmt: skip
    return study


def craft_private_study(workspace: Workspace) -> tuple[Study, list[str]]:
    study = Study.objects.create(
        workspace=workspace, user_defined_id="lupus-udi", brief_title=PRIVATE_TITLE
    )
    Study2ConditionOrDisease.objects.create(
        workspace=workspace, study=study, condition_reported="Systemic lupus erythematosus"
    )
    arm = ArmOrCohort.objects.create(workspace=workspace, study=study, name="Lupus flares")
    subject = Subject.objects.create(workspace=workspace, species="Homo sapiens")
    Arm2Subject.objects.create(workspace=workspace, arm=arm, subject=subject)
    return study, [study.pk, arm.pk, subject.pk]


def members(archive: bytes) -> dict[str, bytes]:
    """Every member of a ZIP; a Parquet member also as the text of its decoded rows
    (its pages are compressed, so its raw bytes alone would hide what they hold)."""
    found = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        for name in opened.namelist():
            data = opened.read(name)
            if name.endswith(".parquet"):
                frame = pl.read_parquet(io.BytesIO(data))
                data += "\t".join(frame.columns).encode() + b"\n" + frame.write_csv().encode()
            found[name] = data
    return found


def tables(archive: bytes, top: str) -> dict[str, pl.DataFrame]:
    """ "Tab/<table>" and "Parquet/<table>" -> the rows of each table of a download
    (Tab cells read as text)."""
    found = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        for name in opened.namelist():
            path = name.removeprefix(f"{top}/")
            data = io.BytesIO(opened.read(name))
            if path.startswith("Tab/"):
                frame = pl.read_csv(data, separator="\t", infer_schema_length=0)
                found[path.removesuffix(".txt")] = frame
            elif path.startswith("Parquet/"):
                found[path.removesuffix(".parquet")] = pl.read_parquet(data)
    return found


def fetch(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def crafted(workspace, other_workspace, django_capture_on_commit_callbacks) -> Crafted:
    curator = approved_user("curator")
    study = craft_study(workspace)
    private, private_records = craft_private_study(other_workspace)

    sharing = services.request_sharing(study, None, TODAY)  # flags the free text
    flags = TextFlag.objects.filter(study_accession=study.pk)
    assert {(f.table_name, f.column_name, f.reason) for f in flags} == {
        ("study", "brief_title", "e-mail address"),
        ("study", "brief_description", "e-mail address"),
        ("study", "description", "phone number"),
        ("study", "objectives", "e-mail address"),  # one flag per value, whatever it holds
        ("biosample", "description", "date"),
    }
    services.clear_flag(flags.get(table_name="study", column_name="description"), curator)
    services.review(sharing, curator, checked=ALL_CHECKED, approve=True)
    with django_capture_on_commit_callbacks(execute=True):
        release = services.build_release(today=TODAY)

    found = Crafted(study.pk, private.pk, private_records)
    client = Client()
    for url in (
        "/",
        "/shared/",
        "/shared/releases/",
        f"/shared/releases/{release.label}/",
        f"/shared/study/{study.pk}/",
    ):
        found.surfaces[url] = fetch(client, url)
    for url in (
        f"/shared/study/{study.pk}/{release.label}.zip",
        f"/shared/releases/{release.label}/ALLSTUDIES.zip",
    ):
        archive = fetch(client, url)
        found.surfaces[url] = archive
        for name, data in members(archive).items():
            found.surfaces[f"{url}!{name}"] = data
    study_zip = found.surfaces[f"/shared/study/{study.pk}/{release.label}.zip"]
    found.frames = tables(study_zip, f"{study.pk}-{release.label}")
    return found


def where(surfaces: dict[str, bytes], pattern: bytes) -> list[str]:
    """The surfaces holding ``pattern`` (a regular expression), case-insensitively."""
    found = re.compile(pattern, re.IGNORECASE)
    return [name for name, data in surfaces.items() if found.search(data)]


def test_every_public_surface_and_member_was_searched(crafted):
    names = set(crafted.surfaces)
    study_zip = f"/shared/study/{crafted.study}/DR1.zip"
    top = f"{study_zip}!{crafted.study}-DR1"
    for table in ("study", "arm_or_cohort", "arm_2_subject", "subject", "biosample"):
        assert f"{top}/Tab/{table}.txt" in names
        assert f"{top}/Parquet/{table}.parquet" in names
    for member in ("README.txt", "datapackage.json", "manifest.tsv", "data_dictionary.tsv"):
        assert f"{top}/{member}" in names
    assert "/shared/releases/DR1/ALLSTUDIES.zip!ALLSTUDIES-DR1/ALLSTUDIES.tsv" in names
    # the study page's demographics charts and Dataset JSON-LD are searched with it
    study_page = crafted.surfaces[f"/shared/study/{crafted.study}/"]
    assert b'<script type="application/ld+json">' in study_page
    assert b'id="chart-age_group"' in study_page
    assert len(names) > 30
    # the rows are there: absences below are not those of empty tables
    assert crafted.frames["Tab/arm_2_subject"].height == 3
    assert crafted.frames["Parquet/subject_measure_result"].height == 1


def test_no_user_defined_id_anywhere(crafted):
    for udi in USER_DEFINED_IDS:
        assert where(crafted.surfaces, re.escape(udi).encode()) == [], udi
    assert where(crafted.surfaces, rb"-udi") == []
    assert where(crafted.surfaces, rb"user_defined_id") == []


def test_no_date_of_a_subject_or_biosample_anywhere(crafted):
    for spelling in DATE_SPELLINGS:
        assert where(crafted.surfaces, re.escape(spelling).encode()) == [], spelling
    # the study's period is public; the measure's date column is gone
    study_tab = f"/shared/study/{crafted.study}/DR1.zip!{crafted.study}-DR1/Tab/study.txt"
    assert STUDY_START.isoformat().encode() in crafted.surfaces[study_tab]
    for read in ("Tab", "Parquet"):
        assert "YEAR_OF_MEASURE" not in crafted.frames[f"{read}/subject_measure_result"].columns
        assert crafted.frames[f"{read}/biosample"]["DESCRIPTION"].to_list() == [None]


def test_no_place_finer_than_a_us_state_anywhere(crafted):
    for place in FINE_PLACES:
        assert where(crafted.surfaces, re.escape(place).encode()) == [], place
    for read in ("Tab", "Parquet"):
        locations = crafted.frames[f"{read}/arm_2_subject"]["SUBJECT_LOCATION"].to_list()
        assert sorted(locations, key=str) == sorted([None, None, "US: Massachusetts"], key=str)


def test_no_age_above_90_anywhere(crafted):
    for read in ("Tab", "Parquet"):
        ages = crafted.frames[f"{read}/arm_2_subject"].select(
            pl.col("MIN_SUBJECT_AGE").cast(pl.Float64),
            pl.col("MAX_SUBJECT_AGE").cast(pl.Float64),
            "AGE_UNIT",
        )
        assert sorted(ages.rows(), key=str) == sorted(
            [(90.0, 90.0, "Years"), (90.0, 90.0, "Years"), (40.0, 40.0, "Years")], key=str
        )
        study = crafted.frames[f"{read}/study"]
        assert study["MAXIMUM_AGE"].to_list() == [str(AGE_SHOWN)]
        # every column named as an age, in every table: nothing above 90
        for name, frame in crafted.frames.items():
            for column in frame.columns:
                if "AGE" in column.split("_") and "UNIT" not in column.split("_"):
                    numbers = frame[column].cast(pl.String).str.extract_all(r"[0-9]+(\.[0-9]+)?")
                    values = [float(n) for cell in numbers.drop_nulls() for n in cell]
                    assert all(value <= AGE_SHOWN for value in values), (name, column)
    # no Tab cell anywhere holds 95, 1200 or 100 (sizes in the manifest aside)
    tab_files = {
        name: data
        for name, data in crafted.surfaces.items()
        if "/Tab/" in name or name.endswith(".tsv!") or name.endswith("ALLSTUDIES.tsv")
    }
    assert where(tab_files, rb"(^|\t)(95|1200|100)(\.0+)?(\t|\n|$)") == []


def test_withheld_free_text_never_appears_and_cleared_text_does(crafted):
    for text in WITHHELD:
        assert where(crafted.surfaces, re.escape(text).encode()) == [], text
    shown = where(crafted.surfaces, re.escape(CLEARED_PHONE).encode())
    top = f"/shared/study/{crafted.study}/DR1.zip!{crafted.study}-DR1"
    assert f"{top}/Tab/study.txt" in shown
    assert f"{top}/Parquet/study.parquet" in shown
    assert f"/shared/study/{crafted.study}/" in shown
    # a withheld title: the pages, README, citation and ALLSTUDIES use the official one
    assert "/shared/releases/DR1/ALLSTUDIES.zip!ALLSTUDIES-DR1/ALLSTUDIES.tsv" in where(
        crafted.surfaces, re.escape(OFFICIAL_TITLE).encode()
    )
    assert OFFICIAL_TITLE in public.released_study(crafted.study).citation()


def test_the_private_study_appears_nowhere(crafted):
    assert where(crafted.surfaces, re.escape(PRIVATE_TITLE).encode()) == []
    assert where(crafted.surfaces, rb"lupus") == []
    for accession in crafted.private_records:
        assert where(crafted.surfaces, rf"\b{accession}(?![0-9])".encode()) == [], accession


def test_a_date_in_a_short_text_field_of_a_biosample_or_subject_is_not_public():
    frames = {
        "biosample": pl.DataFrame(
            {
                "biosample_accession": ["BS1"],
                "study_time_t0_event_specify": ["Vaccinated 2023-03-14"],
            }
        ),
        "arm_2_subject": pl.DataFrame(
            {
                "arm_accession": ["ARM1"],
                "subject_accession": ["SUB1"],
                "age_event_specify": ["born 1931-02-02"],
            }
        ),  # fmt: skip
    }
    withheld = [(table, key, column) for table, key, column, _ in flag_free_text(frames)]
    shown = public_tables(frames, withheld=withheld)
    text = "".join(frame.write_csv() for frame in shown.values())
    assert "2023-03-14" not in text
    assert "1931-02-02" not in text
