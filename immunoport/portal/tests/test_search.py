"""The shared data search's index: built from the current release's public tables,
searched with facets and text, on crafted studies and on the demo's DR1."""

import datetime

import polars as pl
import pytest
from django.db import transaction
from polars.testing import assert_frame_equal

from immunoport.demo.services import load_demo
from immunoport.portal import search
from immunoport.portal.search import (
    FACETS,
    SearchIndex,
    StudyHit,
    build_index,
    current_index,
)
from immunoport.portal.services import compute_banner_figures
from immunoport.releases import services
from immunoport.releases.public import public_table, released_studies
from immunoport.studies.models import (
    Arm2Subject,
    ArmOrCohort,
    AssessmentPanel,
    Biosample,
    ContractGrant,
    ContractGrant2Study,
    Experiment,
    LabTest,
    LabTestPanel,
    Program,
    Study,
    Study2ConditionOrDisease,
    StudyCategorization,
    Subject,
)

TODAY = datetime.date(2026, 11, 24)
PRIVATE_TITLE = "Hepatitis Zeta private cohort"
PRIVATE_CONDITION = "Hepatitis Zeta"
SECRET_ID = "PROVIDER-SUBJECT-0042"


def make_study(workspace, *, title, clinical_trial="N", focus=(), conditions=(), biosamples=(),
               assays=(), program=None, subjects=(), lab_tests=False, assessments=False,
               shared=True) -> Study:  # fmt: skip
    """A study with the given facet values; ``subjects``: dicts of Subject fields plus
    ``age`` and ``age_unit`` (Arm2Subject) and ``user_defined_id``."""
    study = Study.objects.create(
        workspace=workspace, brief_title=title, clinical_trial=clinical_trial,
        description=f"About {title.lower()}.",
    )  # fmt: skip
    for research_focus in focus:
        StudyCategorization.objects.create(
            workspace=workspace, study=study, research_focus=research_focus
        )
    for reported, preferred in conditions:
        Study2ConditionOrDisease.objects.create(
            workspace=workspace, study=study, condition_reported=reported,
            condition_preferred=preferred,
        )  # fmt: skip
    for technique in assays:
        Experiment.objects.create(workspace=workspace, study=study, measurement_technique=technique)
    if program:
        grant = ContractGrant.objects.create(
            workspace=workspace, category="Grant", external_id=f"U19 {title[:10]}",
            program=Program.objects.create(workspace=workspace, category="NIAID", name=program),
        )  # fmt: skip
        ContractGrant2Study.objects.create(workspace=workspace, contract_grant=grant, study=study)
    arm = ArmOrCohort.objects.create(workspace=workspace, study=study, name="Cohort")
    panel = LabTestPanel.objects.create(workspace=workspace, study=study, name_reported="CBC")
    for fields in subjects:
        fields = {"species": "Homo sapiens", **fields}
        age, unit = fields.pop("age", None), fields.pop("age_unit", "Years")
        subject = Subject.objects.create(workspace=workspace, **fields)
        Arm2Subject.objects.create(
            workspace=workspace, arm=arm, subject=subject, min_subject_age=age,
            max_subject_age=age, age_unit=unit,
        )  # fmt: skip
        for biosample_type in biosamples:
            biosample = Biosample.objects.create(
                workspace=workspace, study=study, subject=subject, type=biosample_type
            )
            if lab_tests:
                LabTest.objects.create(
                    workspace=workspace, lab_test_panel=panel, biosample=biosample,
                    name_reported="WBC",
                )  # fmt: skip
    if assessments:
        AssessmentPanel.objects.create(
            workspace=workspace, study=study, name_reported="SLEDAI", result_schema="OTHER"
        )
    if shared:
        sharing = services.request_sharing(study, None, TODAY)
        checked = [key for key, _ in services.REVIEW_CHECKLIST]
        services.review(sharing, None, checked=checked, approve=True)
    return study


@pytest.fixture
def crafted(workspace, other_workspace, own_storage):
    """Three released studies (flu in adults, lupus, flu in mice) and a private one."""
    flu = make_study(
        workspace, title="Influenza vaccine response in adults", clinical_trial="Y",
        focus=["Vaccine Response"], conditions=[("flu", "Influenza")],
        biosamples=["PBMC", "Serum"], assays=["ELISA", "Flow Cytometry"],
        program="Human Immunology Project Consortium", lab_tests=True,
        subjects=[
            {"age": 20, "gender": "Female", "race": "White", "user_defined_id": SECRET_ID},
            {"age": 70, "gender": "Male", "race": "Asian"},
            {"age": 95, "gender": "Female", "race": "White"},  # published as 90
        ],
    )  # fmt: skip
    lupus = make_study(
        workspace, title="Lupus autoantibody cohort", focus=["Autoimmune"],
        conditions=[("Systemic lupus erythematosus", None)], biosamples=["Serum"],
        assays=["ELISA"], assessments=True,
        subjects=[
            {"age": 240, "age_unit": "Months", "gender": "Female"},  # 20 years
            {"age": None, "gender": "Male"},
        ],
    )  # fmt: skip
    mice = make_study(
        workspace, title="Influenza infection in a mouse model", focus=["Infection Response"],
        conditions=[("influenza A", "Influenza")], biosamples=["Whole blood"],
        assays=["CyTOF"],
        subjects=[{"age": 10, "age_unit": "Weeks", "species": "Mus musculus"}],
    )  # fmt: skip
    make_study(
        other_workspace, title=PRIVATE_TITLE, conditions=[(PRIVATE_CONDITION, None)],
        biosamples=["Serum"], assays=["ELISA"], subjects=[{"age": 40, "gender": "Female"}],
        shared=False,
    )  # fmt: skip
    services.build_release(today=TODAY)
    return {"flu": flu.pk, "lupus": lupus.pk, "mice": mice.pk}


def facet(result, key):
    return [tuple(value) for value in result.facets[key]]


def accessions(result):
    return [hit.study_accession for hit in result.studies]


# --- the index ---------------------------------------------------------------------------


def test_the_index_holds_a_row_per_released_study_and_subject(crafted):
    index = build_index()
    studies = {row["study_accession"]: row for row in index.studies.to_dicts()}
    assert list(studies) == [crafted["flu"], crafted["lupus"], crafted["mice"]]
    flu = studies[crafted["flu"]]
    assert flu["brief_title"] == "Influenza vaccine response in adults"
    assert flu["research_focus"] == ["Vaccine Response"]
    assert flu["condition_or_disease"] == ["Influenza"]  # preferred over reported
    assert flu["biosample_type"] == ["PBMC", "Serum"]
    assert flu["assay_method"] == ["ELISA", "Flow Cytometry"]
    assert flu["program_name"] == ["Human Immunology Project Consortium"]
    assert (flu["is_clinical_trial"], flu["has_lab_tests"], flu["has_assessments"]) == (
        True, True, False,
    )  # fmt: skip
    assert flu["subject_count"] == 3
    lupus = studies[crafted["lupus"]]
    assert lupus["condition_or_disease"] == ["Systemic lupus erythematosus"]  # reported
    assert lupus["program_name"] == []
    assert (lupus["is_clinical_trial"], lupus["has_lab_tests"], lupus["has_assessments"]) == (
        False, False, True,
    )  # fmt: skip

    subjects = index.subjects.sort("study_accession", "age", nulls_last=True)
    assert subjects.select("study_accession", "age", "age_group", "gender").rows() == [
        (crafted["flu"], 20.0, "18-29", "Female"),
        (crafted["flu"], 70.0, "65-89", "Male"),
        (crafted["flu"], 90.0, "90+", "Female"),  # 95 as the release publishes it
        (crafted["lupus"], 20.0, "18-29", "Female"),  # 240 months
        (crafted["lupus"], None, "Unknown", "Male"),
        (crafted["mice"], pytest.approx(10 * 7 / 365.25), "0-17", "Not Specified"),
    ]
    assert subjects["species"].to_list() == ["Homo sapiens"] * 5 + ["Mus musculus"]


def test_the_index_holds_no_user_defined_id_and_nothing_of_a_private_study(crafted):
    index = build_index()
    for frame in (index.studies, index.subjects):
        assert not [c for c in frame.columns if "user_defined" in c or "workspace" in c]
        cells = str(frame.to_dicts())
        for private in (SECRET_ID, PRIVATE_TITLE, PRIVATE_CONDITION):
            assert private not in cells
    assert index.search(PRIVATE_TITLE).total_studies == 0
    assert index.search(filters={"condition_or_disease": [PRIVATE_CONDITION]}).total_studies == 0


def test_the_index_is_written_and_read_back_as_parquet(crafted, tmp_path):
    index = build_index()
    index.write(tmp_path / "index")
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == [
        "studies.parquet",
        "subjects.parquet",
    ]
    again = SearchIndex.read(tmp_path / "index")
    assert_frame_equal(again.studies, index.studies)
    assert_frame_equal(again.subjects, index.subjects)
    query = {"text": "influenza", "filters": {"gender": ["Female"]}}
    first, second = index.search(**query), again.search(**query)
    assert (first.studies, first.facets) == (second.studies, second.facets)


def test_the_current_index_follows_the_release_and_the_storage(crafted, workspace, settings,
                                                               tmp_path):  # fmt: skip
    index = current_index()
    assert index.studies.height == 3
    assert current_index() is index  # kept while the release is current

    make_study(workspace, title="Tuberculosis household contacts", subjects=[{"age": 30}])
    services.build_release(today=TODAY)
    newer = current_index()
    assert newer is not index
    assert newer.studies.height == 4
    assert newer.search("tuberculosis").total_studies == 1

    settings.STORAGES = {  # another storage: the same release id names other files
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "elsewhere")},
        },
    }
    assert current_index() is not newer


def test_the_index_is_stored_once_with_the_release_downloads_and_read_back(
    crafted, own_storage, monkeypatch
):
    builds = []
    build = search.build_index
    monkeypatch.setattr(search, "build_index", lambda *a: builds.append(a) or build(*a))
    monkeypatch.setattr(search, "_current", None)  # a new process
    release = services.current_release()
    assert release is not None
    folder = own_storage / "releases" / release.label / "search"
    assert not folder.exists()  # build_release left it to the download job

    services.build_downloads(release.pk)
    assert len(builds) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["studies.parquet", "subjects.parquet"]
    assert_frame_equal(pl.read_parquet(folder / "studies.parquet"), build_index().studies)

    index = current_index()  # read back, not built again
    assert len(builds) == 1
    assert index.studies.height == 3
    assert accessions(index.search("influenza", sort="study_accession")) == [
        crafted["flu"], crafted["mice"],
    ]  # fmt: skip
    monkeypatch.setattr(search, "_current", None)  # another process
    current_index()
    services.build_downloads(release.pk)  # a job run again
    assert len(builds) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["studies.parquet", "subjects.parquet"]


def test_a_release_stored_without_an_index_has_it_built_once_when_searched(
    crafted, own_storage, monkeypatch
):
    builds = []
    build = search.build_index
    monkeypatch.setattr(search, "build_index", lambda *a: builds.append(a) or build(*a))
    monkeypatch.setattr(search, "_current", None)
    assert current_index().search("lupus").total_studies == 1
    assert len(builds) == 1
    release = services.current_release()
    assert release is not None
    assert (own_storage / "releases" / release.label / "search" / "studies.parquet").exists()
    monkeypatch.setattr(search, "_current", None)
    current_index()
    services.build_downloads(release.pk)
    assert len(builds) == 1


def test_an_empty_release_gives_an_empty_index(db, own_storage):
    services.build_release(today=TODAY)
    result = current_index().search("anything", {"gender": ["Female"]})
    assert (result.total_studies, result.total_subjects, result.studies) == (0, 0, [])
    assert all(counts == [] for counts in result.facets.values())


# --- searching ---------------------------------------------------------------------------


def test_an_unfiltered_search_counts_every_study_and_subject(crafted):
    result = build_index().search()
    assert (result.total_studies, result.total_subjects) == (3, 6)
    assert result.studies == [
        StudyHit(crafted["flu"], "Influenza vaccine response in adults", 3),
        StudyHit(crafted["lupus"], "Lupus autoantibody cohort", 2),
        StudyHit(crafted["mice"], "Influenza infection in a mouse model", 1),
    ]
    assert set(result.facets) == {f.key for f in FACETS}
    assert facet(result, "condition_or_disease") == [
        ("Influenza", 2),
        ("Systemic lupus erythematosus", 1),
    ]
    assert facet(result, "biosample_type") == [("Serum", 2), ("PBMC", 1), ("Whole blood", 1)]
    assert facet(result, "assay_method") == [
        ("ELISA", 2), ("CyTOF", 1), ("Flow Cytometry", 1),
    ]  # fmt: skip
    assert facet(result, "research_focus") == [
        ("Autoimmune", 1), ("Infection Response", 1), ("Vaccine Response", 1),
    ]  # fmt: skip
    assert facet(result, "program_name") == [("Human Immunology Project Consortium", 1)]
    assert facet(result, "is_clinical_trial") == [("No", 2), ("Yes", 1)]
    assert facet(result, "has_lab_tests") == [("No", 2), ("Yes", 1)]
    assert facet(result, "has_assessments") == [("No", 2), ("Yes", 1)]
    assert facet(result, "age_group") == [
        ("18-29", 2), ("0-17", 1), ("65-89", 1), ("90+", 1), ("Unknown", 1),
    ]  # fmt: skip
    assert facet(result, "gender") == [("Female", 3), ("Male", 2), ("Not Specified", 1)]
    assert facet(result, "species") == [("Homo sapiens", 5), ("Mus musculus", 1)]
    assert facet(result, "race") == [("Not Specified", 3), ("White", 2), ("Asian", 1)]
    assert result.elapsed_ms > 0


def test_a_subject_facet_selects_studies_with_a_matching_subject_and_counts_those(crafted):
    result = build_index().search(filters={"gender": ["Female"]})
    assert (result.total_studies, result.total_subjects) == (2, 3)
    assert [(h.study_accession, h.subjects) for h in result.studies] == [
        (crafted["flu"], 2),
        (crafted["lupus"], 1),
    ]
    # a facet is counted without its own filter, so the selection can be widened
    assert facet(result, "gender") == [("Female", 3), ("Male", 2), ("Not Specified", 1)]
    assert facet(result, "species") == [("Homo sapiens", 3)]
    assert facet(result, "age_group") == [("18-29", 2), ("90+", 1)]
    assert facet(result, "condition_or_disease") == [
        ("Influenza", 1),
        ("Systemic lupus erythematosus", 1),
    ]


def test_filters_are_or_within_a_facet_and_and_across_facets(crafted):
    index = build_index()
    result = index.search(filters={"age_group": ["90+", "0-17"]})
    assert (result.total_studies, result.total_subjects) == (2, 2)
    assert accessions(result) == [crafted["flu"], crafted["mice"]]

    result = index.search(filters={"condition_or_disease": ["Influenza"], "gender": ["Male"]})
    assert (result.total_studies, result.total_subjects) == (1, 1)
    assert result.studies == [StudyHit(crafted["flu"], "Influenza vaccine response in adults", 1)]
    # gender without its own filter: the subjects of the influenza studies
    assert facet(result, "gender") == [("Female", 2), ("Male", 1), ("Not Specified", 1)]
    # condition without its own filter: the studies with a male subject
    assert facet(result, "condition_or_disease") == [
        ("Influenza", 1),
        ("Systemic lupus erythematosus", 1),
    ]
    assert facet(result, "age_group") == [("65-89", 1)]

    result = index.search(filters={"is_clinical_trial": ["No"], "biosample_type": ["Serum"]})
    assert accessions(result) == [crafted["lupus"]]
    assert facet(result, "is_clinical_trial") == [("No", 1), ("Yes", 1)]  # Serum studies
    assert facet(result, "biosample_type") == [("Serum", 1), ("Whole blood", 1)]

    result = index.search(filters={"gender": ["Male"], "species": ["Mus musculus"]})
    assert (result.total_studies, result.total_subjects) == (0, 0)
    assert facet(result, "species") == [("Homo sapiens", 2)]  # the male subjects
    assert facet(result, "gender") == [("Not Specified", 1)]  # the mice

    assert index.search(filters={"gender": [], "species": ()}).total_studies == 3  # no filter
    assert index.search(filters={"gender": ["Nonexistent"]}).total_studies == 0


def test_text_must_hold_every_word_in_any_case(crafted):
    index = build_index()
    assert accessions(index.search("LUPUS")) == [crafted["lupus"]]
    assert accessions(index.search("influenza", sort="study_accession")) == [
        crafted["flu"], crafted["mice"],
    ]  # fmt: skip
    # by default, text sorts by relevance: the mouse study names influenza once more
    # (its condition as reported); in memory, relevance is the words' occurrences
    assert accessions(index.search("influenza")) == [crafted["mice"], crafted["flu"]]
    assert accessions(index.search("influenza", sort="-relevance")) == [
        crafted["flu"], crafted["mice"],
    ]  # fmt: skip
    assert accessions(index.search("flu")) == [
        crafted["flu"],
        crafted["mice"],
    ]  # in memory: parts of words
    assert accessions(index.search(" ", sort="relevance")) == accessions(index.search())
    assert accessions(index.search("  Influenza   MOUSE ")) == [crafted["mice"]]
    assert accessions(index.search(crafted["lupus"].lower())) == [crafted["lupus"]]
    assert accessions(index.search("about lupus autoantibody")) == [crafted["lupus"]]  # text
    assert index.search("influenza lupus").total_studies == 0
    result = index.search("influenza", {"gender": ["Female"]})
    assert (result.total_studies, result.total_subjects) == (1, 2)
    assert facet(result, "gender") == [("Female", 2), ("Male", 1), ("Not Specified", 1)]
    assert facet(result, "condition_or_disease") == [("Influenza", 1)]


def test_pages_and_sorting(crafted):
    index = build_index()
    first = index.search(per_page=2)
    assert accessions(first) == [crafted["flu"], crafted["lupus"]]
    assert (first.total_studies, first.pages) == (3, 2)
    assert accessions(index.search(per_page=2, page=2)) == [crafted["mice"]]
    assert index.search(per_page=2, page=3).studies == []
    assert accessions(index.search(sort="-study_accession")) == [
        crafted["mice"], crafted["lupus"], crafted["flu"],
    ]  # fmt: skip
    assert [h.brief_title for h in index.search(sort="brief_title").studies] == [
        "Influenza infection in a mouse model",
        "Influenza vaccine response in adults",
        "Lupus autoantibody cohort",
    ]
    by_subjects = index.search(sort="-subjects", per_page=2)
    assert [(h.study_accession, h.subjects) for h in by_subjects.studies] == [
        (crafted["flu"], 3),
        (crafted["lupus"], 2),
    ]
    females = index.search(filters={"gender": ["Female"]}, sort="subjects")
    assert [(h.study_accession, h.subjects) for h in females.studies] == [
        (crafted["lupus"], 1),
        (crafted["flu"], 2),
    ]


def test_accessions_sort_by_their_number():
    studies = pl.DataFrame({"study_accession": ["SDY10", "SDY9", "SDY100", "SDY1"]})
    result = SearchIndex(studies, pl.DataFrame()).search()
    assert accessions(result) == ["SDY1", "SDY9", "SDY10", "SDY100"]
    assert [h.brief_title for h in result.studies] == ["SDY1", "SDY9", "SDY10", "SDY100"]


def test_a_subject_in_two_studies_counts_once_in_totals_and_once_in_each_study():
    studies = pl.DataFrame({"study_accession": ["SDY1", "SDY2"], "brief_title": ["A", "B"]})
    subjects = pl.DataFrame(
        {
            "study_accession": ["SDY1", "SDY1", "SDY2", "SDY2"],
            "subject_accession": ["SUB1", "SUB2", "SUB1", "SUB3"],
            "age_group": ["18-29", "30-49", "30-49", None],
            "gender": ["Female", "Male", "Female", "Female"],
        }
    )
    index = SearchIndex(studies, subjects)
    result = index.search()
    assert (result.total_studies, result.total_subjects) == (2, 3)
    assert [hit.subjects for hit in result.studies] == [2, 2]
    assert facet(result, "gender") == [("Female", 2), ("Male", 1)]
    assert facet(result, "age_group") == [("30-49", 2), ("18-29", 1), ("Unknown", 1)]
    assert facet(result, "species") == [("Not Specified", 3)]
    female = index.search(filters={"gender": ["Female"]})
    assert (female.total_subjects, [hit.subjects for hit in female.studies]) == (2, [1, 2])
    assert facet(female, "age_group") == [("18-29", 1), ("30-49", 1), ("Unknown", 1)]
    second = index.search("b")
    assert (second.total_subjects, facet(second, "gender")) == (2, [("Female", 2)])


def test_a_wrong_facet_or_sort_is_refused(crafted):
    index = build_index()
    with pytest.raises(ValueError, match="Unknown facet"):
        index.search(filters={"sex": ["Female"]})
    with pytest.raises(TypeError, match="collection of values"):
        index.search(filters={"gender": "Female"})
    with pytest.raises(ValueError, match="Unknown sort"):
        index.search(sort="age")


# --- the demo's DR1 ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo()
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_the_demo_release_is_indexed_whole(demo):
    index = build_index()
    assert index.studies.height == 6
    banner = {figure.label: figure.value for figure in compute_banner_figures()}
    assert index.subjects.height == 239  # (study, subject): some subjects are in two studies
    result = index.search()
    assert (result.total_studies, result.total_subjects) == (6, banner["Subjects"]) == (6, 218)
    assert sum(hit.subjects for hit in result.studies) == 239
    for key in ("ethnicity", "gender", "race", "species"):  # a subject's own values
        assert sum(count for _, count in result.facets[key]) == 218
    # an age is per study (age at enrolment): a shared subject may be in two groups
    assert sum(count for _, count in result.facets["age_group"]) >= 218
    human = pl.concat(
        public_table(study, "subject")
        .filter(pl.col("species") == "Homo sapiens")
        .select("subject_accession")
        for study in released_studies()
    )["subject_accession"].n_unique()
    assert dict(result.facets["species"])["Homo sapiens"] == human > 0
    assert sum(count for _, count in result.facets["is_clinical_trial"]) == 6
    assert index.subjects["age"].drop_nulls().max() <= 90
