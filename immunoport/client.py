"""A Python client for the Shared Data API of an immunoport server (or of ImmPort).

    from immunoport.client import Client

    shared = Client("https://data.example.org", username="me", password="…")
    studies = shared.search_studies("influenza", conditionOrDisease="Influenza")
    hai = shared.results("hai", studyAccession="SDY702")       # a polars DataFrame
    shared.download_study("SDY702", "downloads/")              # resumes if interrupted

Tables come back as polars DataFrames, or as pandas DataFrames with ``frame="pandas"``
(pandas must then be installed). The client speaks only ImmPort's documented API, so
it works against ImmPort's own base address as well.
"""

import io
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

import polars as pl
import requests

API = "/data/query"
PAGE_SIZE = 500
CHUNK = 1 << 20
Frame = Literal["polars", "pandas"]


class ApiError(Exception):
    """An answer other than success; the message is the server's own where it gave one."""

    def __init__(self, response: requests.Response) -> None:
        self.status = response.status_code
        try:
            detail = response.json()
        except ValueError:
            detail = response.text[:500]
        super().__init__(f"{response.request.method} {response.url}: {self.status} {detail}")


class Client:
    """One server's Shared Data API, signed in with a token or a user name and password.

    A password is exchanged for a short-lived token at ``/auth/token``, as ImmPort's
    own tools do; the client asks again when the server says the token has expired.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 60,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._credentials = (username, password) if username and password else None
        self.http = session or requests.Session()
        self.timeout = timeout

    # --- tokens and requests ----------------------------------------------------------

    def sign_in(self) -> str:
        """A fresh token for the user name and password the client was given."""
        if self._credentials is None:
            raise ValueError("This client was given no user name and password.")
        username, password = self._credentials
        response = self.http.post(
            f"{self.base_url}/auth/token",
            data={"username": username, "password": password},
            timeout=self.timeout,
        )
        if not response.ok:
            raise ApiError(response)
        answer = response.json()
        self.token = answer.get("access_token") or answer["token"]
        return self.token

    def get(self, path: str, params: Mapping[str, Any] | None = None, **options: Any):
        """GET ``path`` under the API, with the token; a 401 gets one new token and a retry."""
        if self.token is None and self._credentials is not None:
            self.sign_in()
        response = self._get(path, params, **options)
        if response.status_code == 401 and self._credentials is not None:
            self.sign_in()
            response = self._get(path, params, **options)
        if response.status_code == 429:
            time.sleep(float(response.headers.get("Retry-After", 1)))
            response = self._get(path, params, **options)
        if not response.ok:
            raise ApiError(response)
        return response

    def _get(self, path: str, params: Mapping[str, Any] | None, **options: Any):
        headers = dict(options.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"bearer {self.token}"
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{API}{path}"
        return self.http.get(
            url, params=_query(params), headers=headers, timeout=self.timeout, **options
        )

    def table(self, path: str, params: Mapping[str, Any] | None = None, frame: Frame = "polars"):
        """An endpoint's records as a data frame, fetched as TSV."""
        body = self.get(path, {**(params or {}), "format": "tsv"}).content
        if frame == "pandas":
            import pandas as pd

            return pd.read_csv(io.BytesIO(body), sep="\t")
        return pl.read_csv(io.BytesIO(body), separator="\t", infer_schema_length=None)

    # --- search -----------------------------------------------------------------------

    def search_studies(self, term: str | None = None, frame: Frame = "polars", **filters: Any):
        """Every study matching ``term`` and the filters (``conditionOrDisease="Influenza"``,
        ``sex=["Female", "Male"]``, …), one row per study."""
        return _frame(list(self.search_hits("study", term, **filters)), frame)

    def search_subjects(self, term: str | None = None, frame: Frame = "polars", **filters: Any):
        """Every study subject matching ``term`` and the filters, one row per subject."""
        return _frame(list(self.search_hits("subject", term, **filters)), frame)

    def search_hits(self, kind: str, term: str | None = None, **filters: Any) -> Iterator[dict]:
        """The ``_source`` of every hit, fetched page by page."""
        start = 0
        while True:
            params = {**filters, "term": term, "fromRecord": start, "pageSize": PAGE_SIZE}
            hits = self.get(f"/api/search/{kind}", params).json()["hits"]
            page = [hit["_source"] for hit in hits["hits"]]
            yield from page
            start += len(page)
            if not page or start >= hits["total"]["value"]:
                return

    # --- studies, results, lookups ----------------------------------------------------

    def study(self, accession: str) -> dict[str, Any]:
        """A study's summary: title, PI, description, publications, links, personnel."""
        return self.get(f"/api/study/summary/{accession}").json()

    def study_table(self, part: str, accession: str, frame: Frame = "polars"):
        """One part of a study (``arm``, ``demographic``, ``biosample``, ``expsample``…)."""
        return self.table(f"/api/study/{part}/{accession}", frame=frame)

    def results(self, assay: str, frame: Frame = "polars", **filters: Any):
        """Results of one assay type (``hai``, ``elisa``, ``neutAbTiter``, ``fcsAnalyzed``…)
        across the shared studies, narrowed by ImmPort's filters (``studyAccession``,
        ``minSubjectAgeGte``, ``biosampleType``…)."""
        return self.table(f"/result/{assay}", filters, frame)

    def lookup(self, name: str, frame: Frame = "polars"):
        """A controlled vocabulary, e.g. ``lkResearchFocus``."""
        return self.table(f"/api/lookup/{name}", frame=frame)

    # --- files ------------------------------------------------------------------------

    def manifest(self, accession: str, file_type: str = "all", frame: Frame = "polars"):
        """A study's files with their sizes, MD5 sums and identifiers."""
        return self.table(f"/api/study/manifest/{accession}", {"fileType": file_type}, frame)

    def download_study(self, accession: str, folder: str | Path) -> Path:
        """The study's download of the current data release, into ``folder``."""
        archives = self.manifest(accession, "archive_file")
        if archives.is_empty():
            raise ValueError(f"{accession} has no download.")
        archive = archives.row(0, named=True)
        return self.download(archive["fileUUID"], Path(folder) / archive["fileName"])

    def download(self, file_uuid: str, target: str | Path) -> Path:
        """The file ``file_uuid`` written to ``target``.

        The bytes go to ``<target>.part`` first; a later call continues from where an
        interrupted one stopped (an HTTP Range request) and renames it when complete.
        """
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        found = self.get(f"/drs/download/stream/{file_uuid}").json()["url"]
        url = urljoin(f"{self.base_url}/", found)
        partial = target.with_name(target.name + ".part")
        done = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={done}-"} if done else {}
        try:
            response = self.get(url, headers=headers, stream=True)
        except ApiError as error:
            if error.status != 416:  # asked past the end: the part file is whole
                raise
        else:
            with response, partial.open("ab" if response.status_code == 206 else "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
        partial.replace(target)
        return target


def _query(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query parameters without empty ones; lists are sent comma separated, as ImmPort's
    search expects (its result endpoints take both forms)."""
    query = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set):
            value = ",".join(str(item) for item in value)
        query[name] = value
    return query


def _frame(records: list[dict], frame: Frame):
    if frame == "pandas":
        import pandas as pd

        return pd.DataFrame.from_records(records)
    return pl.DataFrame(records, infer_schema_length=None)
