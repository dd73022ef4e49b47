"""The synthetic-data generator, on the real database.

One generated set is shared by the module (in a transaction rolled back after it):
12 studies in several chunks, so every result table and the chunk boundaries are
exercised. Tests that generate their own data use the small 3 x 5 x 4 scale.
"""

import re
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef

from immunoport.core.models import AccessionedRecord
from immunoport.demo.generate import generate
from immunoport.schema.models import LookupTerm
from immunoport.studies.models import (
    Arm2Subject,
    ArmOrCohort,
    Biosample,
    Experiment,
    Experiment2Protocol,
    Expsample,
    Expsample2Biosample,
    LabTest,
    LabTestPanel,
    MbaaResult,
    PlannedVisit,
    Protocol,
    Study,
    Study2ConditionOrDisease,
    Study2Protocol,
    StudyCategorization,
    Subject,
)
from immunoport.studies.registry import models_by_table, result_models
from immunoport.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

STUDIES, SUBJECTS, RESULTS = 12, 4, 6


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        workspace = Workspace.objects.create(name="Generated")
        # About 100 rows a chunk: one study per chunk.
        yield generate(STUDIES, SUBJECTS, RESULTS, workspace, seed=3, chunk_rows=100)
        transaction.set_rollback(True)


def table_counts(workspace: Workspace | None = None) -> dict[str, int]:
    counts = {}
    for table, model in models_by_table().items():
        rows = model._default_manager.all()
        if workspace is not None:
            rows = rows.filter(workspace=workspace)
        if count := rows.count():
            counts[table] = count
    return counts


def terms(lookup: str, part: str | None = None) -> set[str]:
    rows = LookupTerm.objects.filter(lookup=lookup)
    return {t.parts[part] for t in rows} if part else set(rows.values_list("name", flat=True))


def values(queryset, field: str) -> set:
    return set(queryset.values_list(field, flat=True))


def generated_results(report) -> list:
    """The result tables a run wrote rows into."""
    return [m for m in result_models() if m._meta.db_table in report.rows]


def per_study(model, workspace: Workspace, path: str = "study") -> Counter:
    rows = model.objects.filter(workspace=workspace)
    return Counter(rows.values_list(path, flat=True))


def test_small_scale_writes_exactly_the_designed_rows(workspace):
    report = generate(3, 5, 4, workspace, seed=1)

    assert report.rows == table_counts(workspace)
    assert report.total_rows == sum(report.rows.values())
    assert report.seconds > 0
    assert report.rows["study"] == report.rows["study_categorization"] == 3
    assert report.rows["subject"] == report.rows["arm_2_subject"] == 15
    assert sum(m.objects.filter(workspace=workspace).count() for m in result_models()) == 60
    assert all(2 <= n <= 4 for n in per_study(ArmOrCohort, workspace).values())
    assert all(2 <= n <= 5 for n in per_study(PlannedVisit, workspace).values())
    assert all(1 <= n <= 3 for n in per_study(Experiment, workspace).values())
    assert all(1 <= n <= 2 for n in per_study(Study2ConditionOrDisease, workspace).values())
    # A biosample per subject and visit, an experiment sample per visit and
    # experiment, as far as the subject's four results reach.
    visits, experiments = per_study(PlannedVisit, workspace), per_study(Experiment, workspace)
    subjects = per_study(Arm2Subject, workspace, "arm__study")
    assert report.rows["biosample"] == sum(n * min(4, visits[s]) for s, n in subjects.items())
    assert report.rows["expsample"] == report.rows["expsample_2_biosample"]
    assert report.rows["expsample"] == sum(
        n * min(4, visits[s] * experiments[s]) for s, n in subjects.items()
    )
    assert report.rows["protocol"] == report.rows["study_2_protocol"] == 3 + experiments.total()
    assert report.rows["experiment_2_protocol"] == experiments.total()


def test_generated_counts_match_the_database(generated):
    assert generated.rows == table_counts()
    results = generated_results(generated)
    assert sum(m.objects.count() for m in results) == STUDIES * SUBJECTS * RESULTS
    # The seed was chosen so that every result table and a lab test panel appear.
    assert {m._meta.db_table for m in results} == {
        "elisa_result",
        "elispot_result",
        "fcs_analyzed_result",
        "hai_result",
        "mbaa_result",
        "neut_ab_titer_result",
        "pcr_result",
    }
    assert LabTestPanel.objects.exists()
    for panel in LabTestPanel.objects.all():
        tests = LabTest.objects.filter(lab_test_panel=panel)
        assert tests.count() == SUBJECTS * len(values(tests, "name_preferred"))
        assert 3 <= len(values(tests, "name_preferred")) <= 6


def test_every_reference_resolves(generated):
    connection.check_constraints()  # the database's own foreign keys (deferred until now)
    for table in generated.rows:
        model = models_by_table()[table]
        for field in model._meta.concrete_fields:
            if not field.is_relation or field.name == "workspace":
                continue
            targets = field.related_model._default_manager.values(field.target_field.attname)
            dangling = model._default_manager.exclude(**{f"{field.attname}__isnull": True})
            assert not dangling.exclude(**{f"{field.attname}__in": targets}).exists(), (
                table,
                field.name,
            )
    assert not MbaaResult.objects.exclude(source_accession__in=Expsample.objects.values("pk"))


def test_references_stay_within_a_study(generated):
    assert Arm2Subject.objects.values("subject").distinct().count() == Subject.objects.count()
    assert not Biosample.objects.exclude(subject__arm2subject__arm__study=F("study")).exists()
    assert not Biosample.objects.exclude(planned_visit__study=F("study")).exists()
    assert not LabTest.objects.exclude(biosample__study=F("lab_test_panel__study")).exists()
    assert not Expsample2Biosample.objects.exclude(
        biosample__study=F("expsample__experiment__study")
    ).exists()
    assert not Study2Protocol.objects.exclude(
        Exists(Experiment2Protocol.objects.filter(protocol=OuterRef("protocol")))
        | Exists(Protocol.objects.filter(pk=OuterRef("protocol"), type="Study Protocol"))
    ).exists()
    for model in generated_results(generated):
        results = model.objects.all()
        assert not results.exclude(arm__study=F("study")).exists(), model
        assert not results.exclude(biosample__subject=F("subject")).exists(), model
        assert not results.exclude(biosample__study=F("study")).exists(), model
        assert not results.exclude(experiment__study=F("study")).exists(), model
        assert not results.exclude(study_time_collected=F("biosample__study_time_collected"))
        if any(f.name == "expsample" for f in model._meta.fields):
            assert not results.exclude(expsample__experiment=F("experiment")).exists(), model
            linked = Expsample2Biosample.objects.filter(
                expsample=OuterRef("expsample"), biosample=OuterRef("biosample")
            )
            assert not results.exclude(Exists(linked)).exists(), model


def test_values_are_drawn_from_the_lookups(generated):
    assert values(Subject.objects, "gender") <= terms("lk_gender")
    assert values(Subject.objects, "race") <= terms("lk_race")
    assert values(Subject.objects, "ethnicity") <= terms("lk_ethnicity")
    assert values(Subject.objects, "species") <= terms("lk_species")
    assert values(Study.objects, "age_unit") <= terms("lk_time_unit")
    assert values(StudyCategorization.objects, "research_focus") <= terms("lk_research_focus")
    assert values(Study2ConditionOrDisease.objects, "condition_preferred") <= terms(
        "lk_disease", "disease_preferred"
    )
    assert values(ArmOrCohort.objects, "type_preferred") <= terms("lk_arm_type")
    assert values(Arm2Subject.objects, "age_event") <= terms("lk_age_event")
    assert values(Biosample.objects, "type") <= terms("lk_sample_type")
    assert values(Biosample.objects, "study_time_collected_unit") <= terms("lk_time_unit")
    assert values(Biosample.objects, "study_time_t0_event") <= terms("lk_t0_event")
    assert values(Experiment.objects, "measurement_technique") <= terms("lk_exp_measurement_tech")
    assert values(Protocol.objects, "type") <= terms("lk_protocol_type")
    assert values(LabTestPanel.objects, "name_preferred") <= terms("lk_lab_test_panel_name")
    assert values(LabTest.objects, "name_preferred") <= terms("lk_lab_test_name")
    assert values(LabTest.objects, "result_unit_preferred") <= terms("lk_unit_of_measure")
    models = models_by_table()
    analytes = terms("lk_analyte", "immunology_symbol")
    for table in ("elisa_result", "elispot_result", "mbaa_result"):
        assert values(models[table].objects, "analyte_preferred") <= analytes
        assert values(models[table].objects, "analyte_accession") <= terms(
            "lk_analyte", "analyte_preferred"
        )
    assert values(models["pcr_result"].objects, "gene_symbol_preferred") <= analytes
    for table in ("hai_result", "neut_ab_titer_result"):
        assert values(models[table].objects, "virus_strain_preferred") <= terms("lk_virus_strain")
        assert values(models[table].objects, "unit_preferred") <= terms("lk_titer_unit")
    assert values(models["elisa_result"].objects, "unit_preferred") <= terms(
        "lk_concentration_unit"
    )
    assert values(models["pcr_result"].objects, "unit_preferred") <= terms("lk_pcr_expression_unit")
    assert values(models["fcs_analyzed_result"].objects, "population_name_preferred") <= terms(
        "lk_cell_population", "population_name_preferred"
    )


def test_reported_and_preferred_values_are_both_filled(generated):
    for model in generated_results(generated):
        for field in model._meta.fields:
            if field.name.endswith("_reported") and model.objects.exists():
                preferred = field.name.removesuffix("_reported") + "_preferred"
                rows = model.objects.filter(**{f"{field.name}__isnull": True})
                if field.name == "population_defnition_reported":
                    continue  # ImmPort defines only some cell populations
                assert not rows.exists(), (model, field.name)
                assert not model.objects.filter(**{f"{preferred}__isnull": True}).exists()


def test_subjects_are_mostly_human_and_studies_vary(workspace):
    report = generate(60, 2, 0, workspace, seed=5)
    studies = Study.objects.filter(workspace=workspace)
    species = Counter(Subject.objects.filter(workspace=workspace).values_list("species", flat=True))
    assert species.most_common(1)[0][0] == "Homo sapiens"
    assert species["Homo sapiens"] > 0.6 * species.total()
    assert len(values(studies, "brief_title")) > 50
    assert len(values(studies, "actual_start_date")) > 50
    assert "biosample" not in report.rows  # no results asked for, so no samples either
    for study in studies:
        assert int(study.minimum_age) <= int(study.maximum_age)
        assert study.target_enrollment >= study.actual_enrollment == 2
        assert study.actual_start_date < study.actual_completion_date


def test_accessions_carry_their_tables_prefix(generated):
    for table in generated.rows:
        model = models_by_table()[table]
        if issubclass(model, AccessionedRecord):
            pattern = re.compile(rf"^{model.accession_prefix}\d+$")
            accessions = list(model.objects.values_list("pk", flat=True))
            assert all(pattern.match(a) for a in accessions), table
            assert len(set(accessions)) == len(accessions) == generated.rows[table]


def test_running_twice_adds_a_second_set(workspace, other_workspace):
    first = generate(3, 5, 4, workspace, seed=1)
    before = {m: set(m.objects.values_list("pk", flat=True)) for m in (Study, Subject, Expsample)}
    second = generate(3, 5, 4, workspace, seed=2)
    third = generate(3, 5, 4, other_workspace, seed=1)

    counts = Counter(first.rows) + Counter(second.rows)
    assert table_counts(workspace) == counts
    assert table_counts(other_workspace) == first.rows
    for model, accessions in before.items():
        assert len(set(model.objects.values_list("pk", flat=True))) == (
            len(accessions) + second.rows[model._meta.db_table] + third.rows[model._meta.db_table]
        )
    connection.check_constraints()


def test_the_same_seed_gives_the_same_data(workspace, other_workspace):
    def shape(report, workspace):
        subjects = Subject.objects.filter(workspace=workspace)
        studies = Study.objects.filter(workspace=workspace)
        return (
            report.rows,
            sorted(subjects.values_list("species", "gender", "race", "ethnicity", "strain")),
            sorted(studies.values_list("brief_title", "actual_start_date", "minimum_age")),
            sorted(model.objects.filter(workspace=workspace).count() for model in result_models()),
        )

    first = shape(generate(3, 5, 4, workspace, seed=11), workspace)
    again = shape(generate(3, 5, 4, other_workspace, seed=11), other_workspace)
    assert first == again
    other = Workspace.objects.create(name="Third lab")
    assert shape(generate(3, 5, 4, other, seed=12), other) != first


def test_generate_command_creates_the_workspace_and_reports_the_rate(db):
    out = StringIO()
    call_command(
        "generate",
        "--studies=2",
        "--subjects-per-study=3",
        "--results-per-subject=2",
        stdout=out,
    )
    workspace = Workspace.objects.get(name="Synthetic")
    assert Study.objects.filter(workspace=workspace).count() == 2
    total = sum(table_counts(workspace).values())
    assert re.search(
        rf"'Synthetic': {total:,} rows written in [\d.]+ s \([\d,]+ rows/s\)", out.getvalue()
    )

    call_command(
        "generate",
        "--studies=1",
        "--subjects-per-study=1",
        "--results-per-subject=1",
        "--workspace=Load test",
        "--seed=4",
        stdout=StringIO(),
    )
    assert Study.objects.filter(workspace__name="Load test").count() == 1
