import threading

import pytest
from django.db import connection, transaction

from immunoport.core.accessions import advance_counter, issue_accessions, split_accession
from immunoport.studies.models import Study, Subject


@pytest.mark.django_db
def test_accessions_are_consecutive_per_prefix():
    assert issue_accessions("SDY", 3) == ["SDY1", "SDY2", "SDY3"]
    assert issue_accessions("SUB", 1) == ["SUB1"]
    assert issue_accessions("SDY", 1) == ["SDY4"]


@pytest.mark.django_db
def test_saving_a_record_assigns_the_next_accession(workspace):
    first = Study.objects.create(workspace=workspace, brief_title="One")
    second = Study.objects.create(workspace=workspace, brief_title="Two")
    assert (first.study_accession, second.study_accession) == ("SDY1", "SDY2")
    subject = Subject.objects.create(workspace=workspace, species="Homo sapiens")
    assert subject.accession == "SUB1"


@pytest.mark.django_db
def test_imported_accessions_are_never_issued_again(workspace):
    advance_counter("SDY", 702)
    advance_counter("SDY", 139)  # a lower imported number does not move the counter back
    assert issue_accessions("SDY", 1) == ["SDY703"]
    assert split_accession("SDY703") == ("SDY", 703)
    with pytest.raises(ValueError, match="not an accession"):
        split_accession("702")


@pytest.mark.django_db
def test_numbers_of_a_rolled_back_load_are_not_visible(workspace):
    def failing_load():
        with transaction.atomic():
            Study.objects.create(workspace=workspace, brief_title="lost")
            raise RuntimeError("load failed")

    with pytest.raises(RuntimeError):
        failing_load()
    kept = Study.objects.create(workspace=workspace, brief_title="kept")
    assert Study.objects.count() == 1
    assert kept.study_accession.startswith("SDY")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_share_an_accession(workspace):
    """Threads with their own connections race for the same prefix."""
    threads, per_thread = 8, 25
    issued: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer():
        try:
            start.wait()
            for _ in range(per_thread):
                with transaction.atomic():
                    study = Study.objects.create(workspace=workspace, brief_title="race")
                issued.append(study.study_accession)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert len(issued) == threads * per_thread
    assert len(set(issued)) == len(issued)
    numbers = sorted(split_accession(a)[1] for a in issued)
    assert numbers == list(range(1, threads * per_thread + 1))
    assert Study.objects.count() == threads * per_thread
