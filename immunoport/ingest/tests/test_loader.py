"""The loader of filled templates on a real database: the golden package, reloads,
failures half-way, two workspaces, and the real DR34 studies re-written as templates."""

import shutil
import threading
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import connection

from immunoport.ingest import loader
from immunoport.ingest.loader import LoadError, load_package
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.schema.templates import templates
from immunoport.studies import models as m
from immunoport.studies.history import RecordHistory
from immunoport.studies.registry import models_by_table
from immunoport.validation.tests.from_download import read_download, write_package
from immunoport.validation.validator import validate_package

GOLDEN = Path(__file__).resolve().parents[2] / "validation" / "tests" / "packages" / "valid"
DEMO_DATA = Path(__file__).resolve().parents[2] / "demo" / "data"


@pytest.fixture(autouse=True)
def _files(own_storage):
    """Every test here stores its files in a folder of its own."""


@pytest.fixture
def golden(tmp_path) -> Path:
    target = tmp_path / "valid"
    shutil.copytree(GOLDEN, target)
    return target


def stored_files() -> list[str]:
    root = Path(default_storage.location)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every research table, and the history, in a comparable form."""
    out = {
        table: sorted(map(repr, model.objects.values_list()))
        for table, model in models_by_table().items()
    }
    out["record_history"] = sorted(map(repr, RecordHistory.objects.values_list()))
    return out


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.django_db
def test_the_golden_package_loads_every_table(workspace, golden):
    assert validate_package(golden).is_valid
    steps: list[tuple[str, int]] = []
    result = load_package(golden, workspace, progress=lambda label, n: steps.append((label, n)))
    assert steps[0] == ("protocols.txt: protocol", 1)
    assert ("subjectHumans.txt: subject", 16) in steps
    assert [n for _, n in steps] == sorted(n for _, n in steps)

    def rows(model):
        return model.objects.filter(workspace=workspace)

    study = rows(m.Study).get()
    assert study.user_defined_id == "flu_vax_2021"
    assert study.pk.startswith("SDY")
    assert study.brief_title == "Antibody response to seasonal influenza vaccine"
    assert str(study.actual_start_date) == "2021-03-01"
    assert study.target_enrollment == 2
    vaccine = rows(m.ArmOrCohort).get(user_defined_id="arm_vaccine")
    assert (vaccine.name, vaccine.study_id) == ("Vaccinated", study.pk)
    assert vaccine.type_reported == "Experimental Arm"
    assert rows(m.StudyCategorization).get().research_focus == "Vaccine Response"
    assert list(rows(m.Study2Protocol).values_list("protocol__user_defined_id", flat=True)) == [
        "prot_serum"
    ]
    assert rows(m.PlannedVisit).get(user_defined_id="pv_d28").order_number == 2
    assert rows(m.StudyPersonnel).get().last_name == "Curie"
    assert rows(m.InclusionExclusion).get().criterion_category == "Inclusion"

    assert rows(m.Subject).count() == 2
    sub_1 = rows(m.Subject).get(user_defined_id="sub_1")
    assert (sub_1.gender, sub_1.species, sub_1.race) == ("Female", "Homo sapiens", "White")
    assignment = rows(m.Arm2Subject).get(subject=sub_1)
    assert (assignment.arm_id, assignment.min_subject_age) == (vaccine.pk, 34.0)
    exposure = rows(m.ImmuneExposure).get(subject=sub_1)
    # reported values are kept as given; preferred ones come from the lookups
    assert exposure.exposure_process_reported == "vaccination"
    assert exposure.exposure_process_preferred == "vaccination"
    assert exposure.exposure_material_preferred == "inactivated influenza vaccine"
    assert rows(m.Study2ConditionOrDisease).get().condition_preferred == "influenza"

    biosample = rows(m.Biosample).get(user_defined_id="bs_1_d28")
    assert biosample.subject_id == sub_1.pk
    assert biosample.planned_visit.user_defined_id == "pv_d28"
    assert (biosample.study_time_collected, biosample.study_time_collected_unit) == (28, "Days")

    experiment = rows(m.Experiment).get()  # defined inline on experimentSamples.ELISA rows
    assert (experiment.user_defined_id, experiment.name) == ("exp_elisa", "Serum cytokines")
    assert experiment.measurement_technique == "ELISA"
    assert rows(m.Experiment2Protocol).get().protocol.user_defined_id == "prot_serum"
    assert rows(m.Expsample).count() == 3
    es = rows(m.Expsample).get(user_defined_id="es_1_d0")
    assert rows(m.Expsample2Biosample).get(expsample=es).biosample.user_defined_id == "bs_1_d0"
    assert rows(m.Expsample2Reagent).get(expsample=es).reagent.user_defined_id == "rea_il6"
    assert rows(m.Expsample2Treatment).get(expsample=es).treatment.user_defined_id == "trt_none"

    results = rows(m.ElisaResult).order_by("result_id")
    assert results.count() == 4
    tnfa = results.get(expsample=es, analyte_reported="TNFA")
    assert (tnfa.value_reported, tnfa.unit_reported) == ("3.1", "pg/ml")
    # a result carries its biosample's subject, study and time, and the subject's arm
    assert (tnfa.subject_id, tnfa.study_id, tnfa.arm_id) == (sub_1.pk, study.pk, vaccine.pk)
    assert tnfa.study_time_collected == 0
    assert tnfa.analyte_preferred  # IL6 and TNFA are terms of lk_analyte

    protocol = rows(m.Protocol).get()
    assert (protocol.file_name, protocol.original_file_name) == (
        "serum_protocol.pdf",
        "serum_protocol.pdf",
    )
    info = rows(m.FileInfo).get()
    assert info.original_file_name == "serum_protocol.pdf"
    assert info.name.startswith(f"workspaces/{workspace.pk}/files/")
    assert stored_files() == [info.name]
    with default_storage.open(info.name) as stored:
        assert stored.read() == (golden / "serum_protocol.pdf").read_bytes()

    assert {r.action for r in result.records} == {"created"}
    assert result.count("subject") == 2
    assert result.count("elisa_result") == 4
    assert {(r.table, r.user_defined_id) for r in result.records} >= {
        ("subject", "sub_1"),
        ("expsample", "es_2_d0"),
    }
    assert RecordHistory.objects.count() == 0


@pytest.mark.django_db
def test_loading_again_updates_records_keeps_accessions_and_history(workspace, golden):
    user = User.objects.create_user("provider")
    first = load_package(golden, workspace, user=user)
    accessions = {(r.table, r.user_defined_id): r.accession for r in first.records}
    edit(golden / "basic_study_design.txt", "\tVaccinated\t", "\tVaccinated adults\t")
    edit(golden / "experimentSamples.ELISA.txt", "\t12.5\t", "\t13.5\t")
    edit(golden / "basic_study_design.txt", "Reported\tinfluenza", "Reported\tflu")

    second = load_package(golden, workspace, user=user, package_id="pkg-2")

    updated = {(r.table, r.user_defined_id): r.accession for r in second.records}
    assert {r.action for r in second.records if r.user_defined_id} == {"updated"}
    assert {k: v for k, v in updated.items() if k[1]} == {
        k: v for k, v in accessions.items() if k[1] and k[0] != "experiment"
    }
    # an experiment described inline on experimentSamples rows is only named once it
    # exists: experiments.txt is where it is changed
    assert m.Experiment.objects.get().pk == accessions[("experiment", "exp_elisa")]
    assert m.Subject.objects.count() == 2
    assert m.Arm2Subject.objects.count() == 2
    assert m.ElisaResult.objects.count() == 4
    assert m.Expsample2Reagent.objects.count() == 3
    # a study's satellites are replaced with the package's
    assert list(m.Study2ConditionOrDisease.objects.values_list("condition_reported")) == [("flu",)]
    assert m.StudyCategorization.objects.count() == 1
    study = RecordHistory.objects.get(table_name="study").previous_values
    assert study["brief_title"] == "Antibody response to seasonal influenza vaccine"
    assert [
        row["condition_reported"] for row in study["replaced"]["study_2_condition_or_disease"]
    ] == ["influenza"]
    arm = m.ArmOrCohort.objects.get(user_defined_id="arm_vaccine")
    assert (arm.pk, arm.name) == (accessions[("arm_or_cohort", "arm_vaccine")], "Vaccinated adults")
    assert set(m.ElisaResult.objects.values_list("value_reported", flat=True)) == {
        "13.5",
        "3.1",
        "20.0",
        "9.75",
    }

    history = RecordHistory.objects.get(table_name="arm_or_cohort", accession=arm.pk)
    assert history.previous_values["name"] == "Vaccinated"
    assert (history.changed_by, history.package_id, history.workspace) == (
        user,
        "pkg-2",
        workspace,
    )
    es = accessions[("expsample", "es_1_d0")]
    replaced = RecordHistory.objects.get(table_name="expsample", accession=es).previous_values
    assert {r["value_reported"] for r in replaced["replaced"]["elisa_result"]} == {"12.5", "3.1"}
    assert RecordHistory.objects.filter(table_name="subject").count() == 2


@pytest.mark.django_db
def test_preferred_values_come_from_mapping_tables_and_lookups(workspace, golden):
    design = golden / "basic_study_design.txt"
    edit(design, "\tExperimental Arm\n", "\tExperimental\n")  # a synonym in the mapping
    edit(design, "\tPlacebo Comparator Arm\n", "\tsaline group\n")  # no term at all
    edit(golden / "subjectHumans.txt", "\tFemale\t", "\tfemale\t")
    load_package(golden, workspace)

    vaccine = m.ArmOrCohort.objects.get(user_defined_id="arm_vaccine")
    assert (vaccine.type_reported, vaccine.type_preferred) == ("Experimental", "Experimental Arm")
    placebo = m.ArmOrCohort.objects.get(user_defined_id="arm_placebo")
    assert (placebo.type_reported, placebo.type_preferred) == ("saline group", None)
    # a controlled term is stored in the lookup's spelling
    assert m.Subject.objects.get(user_defined_id="sub_1").gender == "Female"


@pytest.mark.django_db
def test_result_files_and_repository_accessions_are_linked(
    workspace, golden, django_capture_on_commit_callbacks
):
    edit(
        golden / "experimentSamples.ELISA.txt",
        "trt_none\t\t\t\tflu_vax_2021",
        "trt_none\t\t\tplate1.csv;plate2.csv\tflu_vax_2021",
    )
    (golden / "plate1.csv").write_text("well,od\nA1,0.12\n")
    (golden / "plate2.csv").write_text("well,od\nA1,0.34\n")
    (golden / "publicRepositories.txt").write_text(
        "public_repositories\tSchema Version 3.36\n"
        "Please do not delete or edit this column\n"
        "Column Name\tExpsample ID\tRepository Name\tRepository Accession\n"
        "\tes_1_d28\tGEO\tGSM1234567\n"
    )
    assert validate_package(golden).is_valid
    load_package(golden, workspace)

    es = m.Expsample.objects.get(user_defined_id="es_1_d0")
    links = m.Expsample2FileInfo.objects.filter(expsample=es).select_related("file_info")
    assert sorted(link.file_info.original_file_name for link in links) == [
        "plate1.csv",
        "plate2.csv",
    ]
    assert m.FileInfo.objects.count() == 3  # and the protocol document
    assert len(stored_files()) == 3
    repository = m.ExpsamplePublicRepository.objects.get()
    assert (repository.expsample.user_defined_id, repository.repository_name) == ("es_1_d28", "GEO")
    assert repository.repository_accession == "GSM1234567"

    plates = set(m.FileInfo.objects.filter(name__endswith=".csv").values_list("name", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        load_package(golden, workspace)  # again: the links are replaced, not doubled
    assert m.Expsample2FileInfo.objects.filter(expsample=es).count() == 2
    assert m.ExpsamplePublicRepository.objects.count() == 1
    # the earlier copies of the result files are gone, from file_info and storage
    now = set(m.FileInfo.objects.filter(name__endswith=".csv").values_list("name", flat=True))
    assert len(now) == 2
    assert not now & plates
    assert not plates & set(stored_files())
    assert now <= set(stored_files())


@pytest.mark.django_db
def test_a_failure_half_way_leaves_database_and_storage_as_they_were(
    workspace, golden, monkeypatch
):
    load_package(golden, workspace)
    before, files_before = snapshot(), stored_files()
    edit(golden / "subjectHumans.txt", "\tHealthy\t", "\tConvalescent\t")
    real_insert = loader.insert_frame

    def insert(model, frame):
        if model is m.ElisaResult:
            raise RuntimeError("the database went away")
        return real_insert(model, frame)

    monkeypatch.setattr(loader, "insert_frame", insert)
    with pytest.raises(RuntimeError):
        load_package(golden, workspace)

    assert snapshot() == before
    assert stored_files() == files_before


@pytest.mark.django_db
def test_a_failed_first_load_writes_nothing_and_deletes_its_files(workspace, golden, monkeypatch):
    before = snapshot()

    def insert(model, frame):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "insert_frame", insert)
    with pytest.raises(RuntimeError):
        load_package(golden, workspace)
    assert snapshot() == before
    assert stored_files() == []


@pytest.mark.django_db
def test_a_reference_the_workspace_no_longer_holds_stops_the_load(workspace, golden):
    (golden / "subjectHumans.txt").unlink()  # bioSamples.txt names sub_1 and sub_2
    with pytest.raises(LoadError) as error:
        load_package(golden, workspace)
    assert (error.value.file, error.value.line, error.value.column) == (
        "bioSamples.txt",
        4,
        "Subject ID",
    )
    assert "'sub_1' names no subject" in str(error.value)
    assert m.Study.objects.count() == 0
    assert stored_files() == []


@pytest.mark.django_db
def test_another_workspace_gets_records_of_its_own(workspace, other_workspace, golden):
    first = load_package(golden, workspace)
    second = load_package(golden, other_workspace)

    assert {r.action for r in second.records} == {"created"}
    ours = {r.accession for r in first.records}
    theirs = {r.accession for r in second.records}
    assert not ours & theirs
    assert m.Subject.objects.filter(workspace=other_workspace).count() == 2
    assert m.Subject.objects.filter(workspace=workspace).count() == 2
    result = m.ElisaResult.objects.filter(workspace=other_workspace).first()
    assert result.expsample.workspace == other_workspace
    assert result.biosample.workspace == other_workspace
    assert RecordHistory.objects.count() == 0


# Tables the written templates fill whose DR34 rows differ for reasons of the download:
# - immune_exposure: DR34 holds none for these studies; from_download writes the
#   exposure 'unknown' for each subject, since subjectHumans.txt asks for one;
# - reagent_set_2_reagent: sets naming reagents of other studies' packages are left
#   out of Reagent_Sets.txt by from_download;
# - file_info: ImmPort's rows include files no template names; the loader stores each
#   file a package names once.
NOT_COMPARED = {"immune_exposure", "reagent_set_2_reagent", "file_info"}


@pytest.mark.django_db
@pytest.mark.parametrize("sdy", ["SDY1389", "SDY702", "SDY1041", "SDY1097"])
def test_a_real_study_loads_with_the_downloads_rows(workspace, tmp_path, sdy):
    written = write_package(DEMO_DATA / sdy, tmp_path / sdy)
    result = load_package(tmp_path / sdy, workspace)

    data = read_download(DEMO_DATA / sdy)
    filled = {
        t
        for name in written
        for c in templates()[name].all_columns
        for t in (c.db_table or "").split(" And ")
        if t
    } | {"expsample_2_biosample", "expsample_2_file_info"}
    compared = sorted(filled - NOT_COMPARED)
    loaded = {t: models_by_table()[t].objects.filter(workspace=workspace).count() for t in compared}
    assert loaded == {t: data[t].height for t in compared}
    assert loaded["subject"] > 0
    assert loaded["expsample"] > 0
    # user-defined IDs are ImmPort's accessions here; each record got a new one
    subjects = m.Subject.objects.filter(workspace=workspace)
    assert set(subjects.values_list("user_defined_id", flat=True)) == set(
        data["subject"]["subject_accession"]
    )
    assert result.count("subject") == subjects.count()


@pytest.mark.django_db(transaction=True)
def test_two_packages_loaded_at_once_into_one_workspace(workspace, golden, tmp_path):
    """Both define the same subjects and samples: one load creates them, the other,
    waiting for the workspace, finds and updates them; every reference stays whole."""
    other = tmp_path / "other"
    shutil.copytree(golden, other)
    edit(other / "subjectHumans.txt", "\tHealthy\t", "\tConvalescent\t")
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def load(name: str, path: Path) -> None:
        try:
            start.wait()
            outcomes[name] = load_package(path, workspace)
        except Exception as error:  # reported by the assertions below
            outcomes[name] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=load, args=(name, path))
        for name, path in (("golden", golden), ("other", other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    results = list(outcomes.values())
    assert all(isinstance(r, loader.LoadResult) for r in results), results
    actions = sorted(
        {r.action for r in result.records if r.table == "subject"} for result in results
    )
    assert actions == [{"created"}, {"updated"}]
    assert m.Subject.objects.filter(workspace=workspace).count() == 2
    assert m.Expsample.objects.filter(workspace=workspace).count() == 3
    assert m.ElisaResult.objects.filter(workspace=workspace).count() == 4
    assert m.Arm2Subject.objects.filter(workspace=workspace).count() == 2
    subjects = set(m.Subject.objects.values_list("pk", flat=True))
    assert set(m.Biosample.objects.values_list("subject_id", flat=True)) == subjects
    expsamples = set(m.Expsample.objects.values_list("pk", flat=True))
    assert set(m.ElisaResult.objects.values_list("expsample_id", flat=True)) == expsamples
    assert RecordHistory.objects.filter(table_name="subject").count() == 2
