import pytest

from immunoport.schema.models import Lookup, LookupTerm
from immunoport.schema.reference import LOOKUPS_DIR, lookup_index
from immunoport.schema.services import load_lookups


def data_lines(file_name: str) -> int:
    with open(LOOKUPS_DIR / file_name, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip()) - 1  # minus the header


@pytest.mark.django_db
def test_all_53_lookups_load_with_every_term():
    load_lookups()
    assert Lookup.objects.count() == 53
    for entry in lookup_index():
        assert LookupTerm.objects.filter(lookup=entry["table"]).count() == data_lines(
            entry["file"]
        ), entry["table"]


@pytest.mark.django_db
def test_loading_twice_changes_nothing():
    load_lookups()
    before = list(LookupTerm.objects.order_by("pk").values_list("pk", "lookup", "name", "parts"))
    loads = load_lookups()
    after = list(LookupTerm.objects.order_by("pk").values_list("pk", "lookup", "name", "parts"))
    assert before == after
    assert sum(load.removed for load in loads) == 0


@pytest.mark.django_db
def test_composite_and_mapping_terms_keep_their_parts():
    load_lookups()
    disease = LookupTerm.objects.get(
        lookup="lk_disease", name="acquired immunodeficiency syndrome ; DOID:635"
    )
    assert disease.parts == {
        "disease_preferred": "acquired immunodeficiency syndrome",
        "disease_ontology_id": "DOID:635",
    }
    assert disease.link == "http://purl.obolibrary.org/obo/DOID_635"
    mapping = LookupTerm.objects.get(lookup="lk_arm_type_pref_mapping", name="Arm")
    assert mapping.parts == {"name_preferred": "Treatment Arm"}
    assert Lookup.objects.get(pk="lk_analyte").name_components == [
        "immunology_symbol",
        "short_label",
        "analyte_preferred",
    ]


@pytest.mark.django_db
def test_a_term_dropped_from_the_vocabulary_is_removed_on_reload():
    load_lookups()
    gender = Lookup.objects.get(pk="lk_gender")
    LookupTerm.objects.create(lookup=gender, name="Retired term")
    loads = {load.lookup: load for load in load_lookups()}
    assert loads["lk_gender"].removed == 1
    assert not LookupTerm.objects.filter(lookup=gender, name="Retired term").exists()
