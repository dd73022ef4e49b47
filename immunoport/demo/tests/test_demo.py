"""The demo, loaded once for this module (in a transaction rolled back after it)."""

import datetime
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from immunoport.core.accessions import issue_accessions, split_accession
from immunoport.demo.services import DEMO_WORKSPACE, demo_packages, load_demo
from immunoport.ingest.tests.immport_files import database_counts, distinct_rows
from immunoport.releases.services import shared_studies
from immunoport.schema.models import Lookup
from immunoport.studies.models import ArmOrCohort, Reagent, Study, Subject

STUDIES = {"SDY139", "SDY208", "SDY702", "SDY1041", "SDY1097", "SDY1389"}

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo()
        transaction.set_rollback(True)


def accessions_in_files(table: str, column: int = 0) -> Counter:
    """How many packages ship each record of ``table`` (by its first field)."""
    seen: Counter = Counter()
    for package in demo_packages():
        for path in package.glob(f"*/*/{table}.txt"):
            lines = path.read_text().splitlines()
            rows = lines if path.parent.name == "MySQL" else lines[1:]
            separator = "~@~" if path.parent.name == "MySQL" else "\t"
            seen.update({row.split(separator)[column] for row in rows if row})
    return seen


def test_the_demo_holds_every_row_of_the_six_packages(demo):
    assert [path.name for path in demo_packages()] == sorted(STUDIES)
    expected = {table: len(rows) for table, rows in distinct_rows(*demo_packages()).items()}
    expected["study_data_release"] += 2  # SDY139 and SDY208 (DR16) had no release row
    assert database_counts() == expected
    assert demo.lookups_loaded
    assert Lookup.objects.count() == 53
    assert demo.workspace.name == DEMO_WORKSPACE


def test_real_values_arrive_typed(demo):
    study = Study.objects.get(pk="SDY702")
    assert study.brief_title == "Human T Cell Profile"
    assert study.actual_start_date == datetime.date(2013, 7, 1)
    assert study.actual_enrollment == 56
    assert study.workspace == demo.workspace
    # DR16 arm_or_cohort.type is type_reported now.
    assert ArmOrCohort.objects.get(pk="ARM678").type_reported == "Observational"


def test_records_several_packages_ship_are_stored_once(demo):
    reagents = accessions_in_files("reagent")
    subjects = accessions_in_files("subject")
    shared_reagents = [accession for accession, n in reagents.items() if n > 1]
    shared_subjects = [accession for accession, n in subjects.items() if n > 1]
    assert shared_reagents  # one lab's antibody panels
    assert shared_subjects  # organ donors sampled for several studies

    assert Reagent.objects.filter(pk__in=shared_reagents).count() == len(shared_reagents)
    assert Reagent.objects.count() == len(reagents)
    assert Subject.objects.count() == len(subjects)
    skipped = sum(
        load.skipped for r in demo.reports for load in r.tables if load.table == "reagent"
    )
    assert skipped == sum(reagents.values()) - len(reagents)


def test_the_demo_studies_are_shared(demo):
    assert set(shared_studies().values_list("pk", flat=True)) == STUDIES
    assert sorted(demo.studies) == sorted(STUDIES)


def test_new_accessions_come_after_the_imported_ones(demo):
    (study,) = issue_accessions("SDY", 1)
    assert split_accession(study)[1] > 1389
    highest_reagent = max(split_accession(a)[1] for a in accessions_in_files("reagent"))
    (reagent,) = issue_accessions("ESR", 1)
    assert split_accession(reagent)[1] > highest_reagent


def test_loading_the_demo_again_changes_nothing(demo):
    before = database_counts()

    again = load_demo()

    assert database_counts() == before
    assert again.inserted == 0
    assert again.skipped == demo.inserted + demo.skipped
    assert not again.lookups_loaded


def test_the_demo_command_prints_a_summary(demo):
    out = StringIO()
    call_command("demo", stdout=out)

    summary = out.getvalue()
    assert f"Workspace '{DEMO_WORKSPACE}': 6 shared studies" in summary
    assert f"0 rows inserted, {demo.inserted + demo.skipped:,} already present" in summary
