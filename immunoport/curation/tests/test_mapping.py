"""The curation queue on a real database: reported values without a preferred value
in two workspaces, grouped and counted; suggestions; mappings, their history, new
terms, and the loader applying a mapping to a package loaded later."""

import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from immunoport.curation.models import LookupTermAddition, ValueMapping
from immunoport.curation.services import (
    CurationError,
    add_term,
    map_values,
    mapped_preferred,
    queue,
    reported_columns,
    suggestions,
)
from immunoport.ingest.loader import load_package
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.schema.models import LookupTerm
from immunoport.schema.services import load_lookups
from immunoport.studies.models import Study2ConditionOrDisease

GOLDEN = Path(__file__).resolve().parents[2] / "validation" / "tests" / "packages" / "valid"
CONDITION = "lk_disease_condition"


@pytest.fixture
def curator(db) -> User:
    return User.objects.create_user("curator", is_staff=True)


def preferred(value: str) -> list[str | None]:
    return list(
        Study2ConditionOrDisease.objects.filter(condition_reported=value).values_list(
            "condition_preferred", flat=True
        )
    )


def test_reported_columns_come_from_the_template_registry():
    found = {(c.table, c.reported): (c.preferred, c.lookup) for c in reported_columns()}
    assert found[("study_2_condition_or_disease", "condition_reported")] == (
        "condition_preferred",
        CONDITION,
    )
    assert found[("arm_or_cohort", "type_reported")] == ("type_preferred", "lk_arm_type")
    assert found[("elisa_result", "analyte_reported")] == ("analyte_preferred", "lk_analyte")
    assert found[("fcs_analyzed_result", "population_name_reported")] == (
        "population_name_preferred",
        "lk_cell_population",
    )
    assert found[("immune_exposure", "disease_reported")] == ("disease_preferred", "lk_disease")
    disease = next(c for c in reported_columns() if c.reported == "disease_reported")
    assert disease.targets == ("disease_preferred", "disease_ontology_id")
    # the registry's columns whose reported or preferred column no model has are left out
    # (rna_seq_result's, assessment_component.time_unit_preferred, lk_hmdb's parts)
    assert len(reported_columns()) == 21
    assert ("rna_seq_result", "transcript_type_reported") not in found


def test_the_queue_groups_values_across_workspaces_with_their_counts(conditions):
    items = {i.key: i for i in queue(CONDITION)}
    assert set(items) == {"influenza", "flu", "type 1 diabetes"}
    influenza = items["influenza"]
    assert (influenza.rows, influenza.studies) == (3, 3)
    assert influenza.spellings == ("INFLUENZA", "Influenza", "influenza ")
    assert (items["flu"].rows, items["flu"].studies) == (2, 2)
    assert [i.key for i in queue(CONDITION)] == ["influenza", "flu", "type 1 diabetes"]
    assert {(i.lookup, i.key) for i in queue()} >= {("lk_arm_type", "arm"), (CONDITION, "flu")}


def test_the_queue_is_counted_by_the_database(conditions, django_assert_max_num_queries):
    with django_assert_max_num_queries(len(reported_columns())):
        queue()


def test_suggestions_rank_the_expected_term_first_with_a_reason(conditions):
    flu = suggestions(CONDITION, "flu")
    assert (flu[0].term, flu[0].reason, flu[0].score) == ("influenza", "synonym", 100.0)
    assert flu[0].link == "http://purl.obolibrary.org/obo/DOID_8469"
    assert suggestions(CONDITION, "Type 1 diabetes")[0].reason == "synonym"
    diabetes = suggestions(CONDITION, "Type-1 diabetes melitus", n=3)
    assert (diabetes[0].term, diabetes[0].reason) == (
        "type 1 diabetes mellitus",
        "similar spelling",
    )
    assert len(diabetes) == 3
    assert diabetes[0].score >= diabetes[1].score


def test_map_values_updates_every_matching_row_and_records_history(
    conditions, curator, workspace, other_workspace
):
    result = map_values(CONDITION, ["influenza", "FLU"], "Influenza", curator, note="obvious")
    assert result.rows_changed == 5
    rows = Study2ConditionOrDisease.objects.exclude(condition_reported="Type 1 diabetes")
    assert set(rows.values_list("condition_preferred", flat=True)) == {"influenza"}
    assert {r.workspace_id for r in rows} == {workspace.pk, other_workspace.pk}
    assert preferred("Type 1 diabetes") == [None]
    history = ValueMapping.objects.order_by("reported_value")
    assert [(m.reported_value, m.preferred, m.rows_changed) for m in history] == [
        ("flu", "influenza", 2),
        ("influenza", "influenza", 3),
    ]
    assert history[0].curator == curator
    assert history[0].note == "obvious"
    assert [i.key for i in queue(CONDITION)] == ["type 1 diabetes"]


def test_a_remapping_keeps_both_history_rows(conditions, curator):
    map_values(CONDITION, ["flu"], "influenza", curator)
    map_values(CONDITION, ["flu"], "swine influenza", curator, note="they meant H1N1")
    assert preferred("flu") == ["swine influenza", "swine influenza"]
    history = ValueMapping.objects.filter(reported_value="flu").order_by("pk")
    assert [(m.preferred, m.rows_changed) for m in history] == [
        ("influenza", 2),
        ("swine influenza", 2),
    ]
    assert mapped_preferred(CONDITION) == {"flu": "swine influenza"}


def test_an_unknown_preferred_value_is_refused_and_nothing_changes(conditions, curator):
    with pytest.raises(CurationError, match="not a term of lk_disease_condition"):
        map_values(CONDITION, ["Type 1 diabetes"], "diabetes type one", curator)
    assert preferred("Type 1 diabetes") == [None]
    assert not ValueMapping.objects.exists()


def test_a_composite_term_is_found_by_its_preferred_part(lookups, workspace, curator):
    from immunoport.studies.models import ImmuneExposure

    column = next(c for c in reported_columns() if c.reported == "disease_reported")
    assert column.model is ImmuneExposure
    term = LookupTerm.objects.get(lookup="lk_disease", name__startswith="influenza ;")
    # by the term's preferred part, as suggestions show it
    map_values("lk_disease", ["the flu"], "influenza", curator)
    assert ValueMapping.objects.get().preferred == term.name


def test_a_new_term_is_added_once_and_can_then_be_mapped_to(conditions, curator):
    term = add_term(
        CONDITION, "Type 1 diabetes (juvenile)", ontology_id="DOID:9744", curator=curator
    )
    assert (term.term_id, term.link) == ("DOID:9744", "http://purl.obolibrary.org/obo/DOID_9744")
    assert LookupTermAddition.objects.get().term == term
    with pytest.raises(CurationError, match="already has the term"):
        add_term(CONDITION, "type 1 DIABETES (juvenile)", curator=curator)
    with pytest.raises(CurationError, match="already has the term 'influenza'"):
        add_term(CONDITION, "Influenza", curator=curator)
    with pytest.raises(CurationError, match="not an ontology identifier"):
        add_term(CONDITION, "Something", ontology_id="see DOID", curator=curator)
    with pytest.raises(CurationError, match="named as 'disease_preferred ; disease_ontology_id'"):
        add_term("lk_disease", "Something", curator=curator)
    assert (
        LookupTerm.objects.filter(lookup=CONDITION, name__icontains="diabetes (juvenile)").count()
        == 1
    )
    map_values(CONDITION, ["type 1 diabetes"], "Type 1 diabetes (juvenile)", curator)
    assert preferred("Type 1 diabetes") == ["Type 1 diabetes (juvenile)"]
    load_lookups()  # reloading ImmPort's lookups keeps the curators' terms
    assert LookupTerm.objects.filter(pk=term.pk, curated=True).exists()


@pytest.fixture
def golden(tmp_path, own_storage) -> Path:  # noqa: F811 - the fixture imported above
    target = tmp_path / "valid"
    shutil.copytree(GOLDEN, target)
    return target


def report_condition(package: Path, value: str) -> None:
    design = package / "basic_study_design.txt"
    text = design.read_text()
    assert "Condition Reported\tinfluenza" in text
    design.write_text(text.replace("Condition Reported\tinfluenza", f"Condition Reported\t{value}"))


def test_the_loader_gives_a_later_package_the_mapped_preferred_value(
    lookups, golden, workspace, curator
):
    map_values(CONDITION, ["Seasonal grippe"], "influenza", curator)
    report_condition(golden, "SEASONAL GRIPPE ")
    load_package(golden, workspace)
    row = Study2ConditionOrDisease.objects.get(workspace=workspace)
    assert (row.condition_reported, row.condition_preferred) == ("SEASONAL GRIPPE", "influenza")


def test_the_loader_gives_a_curator_added_term(lookups, golden, workspace, curator):
    add_term(CONDITION, "seasonal grippe", curator=curator)
    map_values(CONDITION, ["grippe"], "Seasonal Grippe", curator)
    report_condition(golden, "Grippe")
    load_package(golden, workspace)
    row = Study2ConditionOrDisease.objects.get(workspace=workspace)
    assert row.condition_preferred == "seasonal grippe"


def test_the_loader_leaves_unmapped_values_for_a_curator(lookups, golden, workspace):
    report_condition(golden, "Grippe")
    load_package(golden, workspace)
    assert Study2ConditionOrDisease.objects.get(workspace=workspace).condition_preferred is None
    assert [i.key for i in queue(CONDITION)] == ["grippe"]
