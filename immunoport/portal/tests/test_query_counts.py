"""Pinned SQL query counts of the public pages, so an N+1 query fails a test."""

import pytest

pytestmark = pytest.mark.usefixtures("shared_and_private_studies")


def study_url() -> str:
    from immunoport.releases.public import released_studies

    return f"/shared/study/{released_studies().first().study_accession}/"


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        ("/", 1),  # the current release
        ("/shared/releases/DR1/", 2),  # the release, its studies
        ("/shared/search/", 1),  # the current release: its index and answers are in memory
        ("study", 4),  # current release, released study, its cached summary, its releases
    ],
)
def test_public_pages_make_a_fixed_number_of_queries(
    client, django_assert_num_queries, url, queries
):
    url = study_url() if url == "study" else url
    assert client.get(url).status_code == 200  # warms the caches: the summary, the index
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
