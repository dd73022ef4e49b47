"""Full-text search of the current release (portal.fulltext) through SearchIndex.search:
the same assertions on SQLite (FTS5) and PostgreSQL (tsvector), whichever database
the run uses."""

import pytest
from django.db import connection, transaction
from django.test import override_settings

from immunoport.portal import fulltext
from immunoport.portal.search import build_index, current_index
from immunoport.portal.tests.test_search import TODAY, accessions, make_study
from immunoport.releases import services
from immunoport.releases.models import DataRelease
from immunoport.studies.models import ArmOrCohort, InclusionExclusion
from immunoport.workspaces.models import Workspace

PRIVATE_WORD = "Quokkavirus"  # only in the private study
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def texts(django_db_setup, django_db_blocker, tmp_path_factory):
    """Released studies whose words are spread over titles, conditions, arms, criteria,
    assays and programs, and a private one; the release's index stored (in a storage
    of the module's own). Made once for the module, rolled back after it."""
    storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path_factory.mktemp("fulltext-storage"))},
    }
    from django.conf import settings

    with (
        override_settings(STORAGES={**settings.STORAGES, "default": storage}),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield _texts()
        transaction.set_rollback(True)


def _texts():
    workspace = Workspace.objects.create(name="Full-text provider lab")
    other_workspace = Workspace.objects.create(name="Full-text other lab")
    once = make_study(  # first, so accession order differs from relevance order
        workspace, title="Household contacts of tuberculosis cases",
        subjects=[{"age": 30}],
    )  # fmt: skip
    InclusionExclusion.objects.create(
        workspace=workspace, study=once, criterion="Recent malaria treatment",
        criterion_category="Exclusion",
    )  # fmt: skip
    vaccine = make_study(
        workspace, title="Seasonal influenza vaccine trial", conditions=[("flu", "Influenza")],
        assays=["Hemagglutination Inhibition"], program="Human Immunology Project Consortium",
        subjects=[{"age": 25}],
    )  # fmt: skip
    vaccination = make_study(
        workspace, title="Vaccination against malaria in children",
        conditions=[("Plasmodium falciparum malaria", "Malaria")], subjects=[{"age": 8}],
    )  # fmt: skip
    ArmOrCohort.objects.create(
        workspace=workspace, study=vaccination, name="Malaria vaccinees",
        description="Children who received the malaria vaccine RTS,S",
    )  # fmt: skip
    sjogren = make_study(
        workspace, title="Sjögren’s syndrome salivary gland biopsies",
        conditions=[("Sjögren syndrome", None)], subjects=[{"age": 50}],
    )  # fmt: skip
    InclusionExclusion.objects.create(
        workspace=workspace, study=sjogren, criterion="Pregnancy or breastfeeding",
        criterion_category="Exclusion",
    )  # fmt: skip
    make_study(
        other_workspace, title=f"{PRIVATE_WORD} outbreak cohort", shared=False,
        conditions=[(PRIVATE_WORD, None)], subjects=[{"age": 40}],
    )  # fmt: skip
    release = services.build_release(today=TODAY)
    services.build_downloads(release.pk)
    return {
        "once": once.pk,
        "vaccine": vaccine.pk,
        "vaccination": vaccination.pk,
        "sjogren": sjogren.pk,
        "release": release,
    }


def found(text, **options):
    return accessions(current_index().search(text, per_page=100, **options))


def test_there_is_an_engine_for_the_database_of_this_run(db):
    assert connection.vendor in ("sqlite", "postgresql")
    assert fulltext.available()


def test_the_users_words_become_quoted_terms_the_last_a_prefix():
    assert fulltext.fts5_query("Influenza  vaccin") == '"influenza" "vaccin"*'
    assert fulltext.fts5_query('"flu" OR NEAR(x y) -z col:w* (a) ü') == (
        '"flu" "or" "near" "x" "y" "z" "col" "w" "a" "ü"*'
    )
    assert fulltext.fts5_query(' * " ( ) : - ') is None
    assert fulltext.fts5_query("") is None


def test_a_stem_or_the_start_of_the_last_word_finds_its_forms(texts):
    assert found("vaccin") == [texts["vaccination"], texts["vaccine"]]  # by relevance
    assert set(found("vaccinations")) == {texts["vaccination"], texts["vaccine"]}  # stems
    assert found("Vaccines seasonal") == [texts["vaccine"]]  # a stem before the last word
    assert found("tubercul") == [texts["once"]]
    assert found("sjögren") == [texts["sjogren"]]


def test_every_word_must_occur(texts):
    assert found("malaria children") == [texts["vaccination"]]
    assert found("influenza malaria") == []
    assert set(found("malaria")) == {texts["once"], texts["vaccination"]}


def test_words_of_conditions_criteria_arms_assays_and_programs_are_found(texts):
    assert found("flu") == [texts["vaccine"]]  # a condition as reported
    assert found("falciparum") == [texts["vaccination"]]
    assert found("pregnancy") == [texts["sjogren"]]  # an exclusion criterion
    assert found("breastfeeding") == [texts["sjogren"]]
    assert found("vaccinees") == [texts["vaccination"]]  # an arm's name
    assert found("RTS") == [texts["vaccination"]]  # an arm's description
    assert found("hemagglutination") == [texts["vaccine"]]  # an assay method
    assert found("immunology consortium") == [texts["vaccine"]]  # a program


def test_an_accession_finds_its_study(texts):
    for key in ("once", "vaccine", "sjogren"):
        assert texts[key] in found(texts[key])
        assert texts[key] in found(texts[key].lower())


NASTY = [
    '"', '""', "'", "*", "malaria*", '"malaria', "malaria OR influenza", "NEAR(malaria",
    "NEAR(malaria, 2)", "body:malaria", "-malaria", "malaria -", "(malaria", ")",
    "malaria AND (", "^malaria", "{body}: malaria", "malaria & | ! <->", "'malaria':*",
    "\\", "%", "_", "😷 malaria", "疟疾", "ﬁ", "\x00malaria", "malaria\u200b",
    "a" * 1000, "b" * 5000, " ".join(["malaria"] * 50), " ".join(["x"] * 5000),
]  # fmt: skip


def test_query_syntax_in_the_users_text_never_errors(texts):
    for text in NASTY:
        result = current_index().search(text)
        assert 0 <= result.total_studies <= 4, text


def test_syntax_characters_only_separate_words(texts):
    malaria = found("malaria")
    for text in ('"malaria"', "malaria*", "(malaria)", "-malaria", "malaria:", "'malaria'"):
        assert found(text) == malaria
    assert found('" * ( ) : -') == found("")  # no words: no text filter


def test_the_most_relevant_study_comes_first_unless_a_sort_is_asked(texts):
    by_relevance = [texts["vaccination"], texts["once"]]  # many mentions; one in a criterion
    assert found("malaria") == by_relevance
    assert found("malaria", sort="relevance") == by_relevance
    assert found("malaria", sort="-relevance") == by_relevance[::-1]
    assert found("malaria", sort="study_accession") == [texts["once"], texts["vaccination"]]
    # relevance without text is accession order
    assert found("", sort="relevance") == found("") == found("", sort="study_accession")


def test_facets_narrow_a_text_search(texts):
    result = current_index().search("malaria", {"age_group": ["0-17"]})
    assert accessions(result) == [texts["vaccination"]]
    assert dict(result.facets["age_group"]) == {"0-17": 1, "30-49": 1}


def test_a_private_studys_text_never_enters_the_full_text_table(texts):
    release = texts["release"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT study_accession, release_id FROM {fulltext.TABLE}")
        rows = set(cursor.fetchall())
    public = {texts[k] for k in ("once", "vaccine", "vaccination", "sjogren")}
    assert rows == {(accession, release.pk) for accession in public}
    assert fulltext.matching(release, PRIVATE_WORD) == set()
    assert fulltext.matching(release, "outbreak") == set()
    assert found(PRIVATE_WORD) == []


def test_matching_gives_the_accessions_or_none_without_words(texts):
    release = texts["release"]
    assert fulltext.matching(release, "malaria") == {texts["once"], texts["vaccination"]}
    assert fulltext.matching(release.pk, "MALARIA children") == {texts["vaccination"]}
    assert fulltext.matching(release, "") is None
    assert fulltext.matching(release, " -*() ") is None


def test_rows_are_kept_for_the_current_release_only(texts, workspace):
    first = texts["release"]
    make_study(workspace, title="Dengue serotypes in travellers", subjects=[{"age": 33}])
    second = services.build_release(today=TODAY)
    assert (fulltext.has_rows(first), fulltext.has_rows(second)) == (True, False)
    services.build_downloads(second.pk)
    assert (fulltext.has_rows(first), fulltext.has_rows(second)) == (False, True)
    assert len(found("dengue")) == 1
    assert len(found("malaria")) == 2  # the carried studies are in DR2's rows too
    assert fulltext.matching(first, "malaria") == set()


def test_without_a_database_the_index_matches_text_in_memory(texts):
    index = build_index(DataRelease.objects.get())
    assert index.text_search is None
    assert set(accessions(index.search("vaccin"))) == {texts["vaccine"], texts["vaccination"]}
    assert accessions(index.search("pregnancy")) == [texts["sjogren"]]
    assert accessions(index.search("malaria")) == [texts["vaccination"], texts["once"]]
    assert index.search(PRIVATE_WORD).total_studies == 0


def test_the_stored_index_searches_through_the_database(texts, monkeypatch):
    index = current_index()
    assert index.text_search is not None
    calls = []
    monkeypatch.setattr(fulltext, "ranked", lambda release, text: calls.append(text) or [])
    assert index.search("malaria").total_studies == 0  # the engine decides
    assert calls == ["malaria"]
