"""A study's download as one ZIP: ImmPort's Tab layout, Parquet, and what describes them.

The data come in (public tables already privacy-filtered, documents that open), a ZIP
goes out; no database here. Under a top folder ``<SDY>-<release>/`` the ZIP holds::

    Parquet/<table>.parquet   the tables with their types
    README.txt                what the download is, how to cite it, what was withheld
    Tab/<table>.txt           ImmPort's Tab layout: tab-separated, UPPER-CASE header
    data_dictionary.tsv       TABLE, COLUMN, TYPE, DESCRIPTION of every column written
    datapackage.json          a Frictionless tabular data package of the Tab tables
    files/<kind>/<name>       the study's documents: protocols, study files, FCS files
    manifest.tsv              PATH, SIZE, MD5 of every other member

Tab files are UTF-8 with LF line ends, an empty cell for a null and dates as
YYYY-MM-DD. A value holding a tab, a line break or a double quote is written between
double quotes, a quote inside doubled (RFC 4180 quoting with a tab separator): pandas,
polars, R and Frictionless read that by default, and datapackage.json's dialect says so.

Every member is written to a temporary file first, then copied into the ZIP in chunks,
so memory holds one chunk, not a table's text or a document. The same inputs give the
same bytes: members in sorted order, a fixed timestamp and fixed attributes (with the
same zlib and polars versions), so a release's download can be rebuilt and compared.
"""

import hashlib
import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from immunoport.schema import reference

CHUNK = 1024 * 1024
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a ZIP can say: a build date would vary
STUDY_ACCESSION = re.compile(r"SDY[0-9]+")
RELEASE = re.compile(r"DR[0-9]+(\.[0-9]+)?")
TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Open Definition's "other-at" (other, attribution): the repository's data-use
# agreement, which every user accepts at sign-in, and a citation of the study.
LICENSES: tuple[Mapping[str, str], ...] = (
    {
        "name": "other-at",
        "title": "The repository's data-use agreement; cite the study as README.txt says",
    },
)
PRIVACY_NOTE = """\
Privacy: this download holds what the study's providers shared, made public as every
data release makes it: no user-defined IDs (rows are identified by accessions only), no
dates for subjects or biosamples (times are given relative to a study day), locations
no finer than US state or country, and ages over 89 shown as 90."""


@dataclass(frozen=True)
class StudyDocument:
    name: str  # the file name as the provider named it: protocol.pdf, sample1.fcs
    kind: str  # "protocol", "study file", "result file", "fcs", ...
    size: int
    md5: str
    open: Callable[[], BinaryIO]  # opens the stored file for reading


@dataclass(frozen=True)
class DownloadSummary:
    md5: str
    size: int
    members: list[str]  # the ZIP's member names, in order


def write_study_download(
    target: BinaryIO,
    *,
    study_accession: str,
    release: str,
    version: int,
    tables: Mapping[str, pl.DataFrame],
    documents: Iterable[StudyDocument] = (),
    citation: str = "",
    licenses: Sequence[Mapping[str, str]] = LICENSES,
) -> DownloadSummary:
    """Write the study's download ZIP into ``target`` (readable, writable, seekable).

    ``tables`` are ImmPort table names -> public rows with ImmPort's (lower-case)
    column names; every table given is written, an empty one as a header alone.
    Raises ValueError for a malformed accession, release or table name, for two
    columns or documents that would share a name, and for a document whose bytes do
    not match its size or md5.
    """
    if not STUDY_ACCESSION.fullmatch(study_accession):
        raise ValueError(f"Not a study accession: {study_accession!r}")
    _check_release(release)
    for table in tables:
        if not TABLE_NAME.fullmatch(table):
            raise ValueError(f"Not an ImmPort table name: {table!r}")
    folder = f"{study_accession}-{release}"
    frames = {table: _upper_case(table, tables[table]) for table in sorted(tables)}
    stored = _document_paths(documents)
    study_title = _study_title(tables.get("study"))
    model = reference.tables()

    with tempfile.TemporaryDirectory(prefix="immunoport-download-") as scratch:
        staged: dict[str, Path] = {}  # member path inside the folder -> temporary file
        for table, frame in frames.items():
            staged[f"Parquet/{table}.parquet"] = _scratch(scratch, f"{table}.parquet")
            frame.write_parquet(staged[f"Parquet/{table}.parquet"])
            staged[f"Tab/{table}.txt"] = _scratch(scratch, f"{table}.txt")
            _write_tab(frame, staged[f"Tab/{table}.txt"])
        staged["README.txt"] = _scratch(scratch, "README.txt")
        staged["README.txt"].write_text(
            _readme(study_accession, study_title, release, version, citation, frames, stored),
            encoding="utf-8",
        )
        staged["data_dictionary.tsv"] = _scratch(scratch, "data_dictionary.tsv")
        _write_tab(_data_dictionary(frames, model), staged["data_dictionary.tsv"])
        tab = {f"Tab/{table}.txt": _digest(staged[f"Tab/{table}.txt"]) for table in frames}
        package = {
            "profile": "tabular-data-package",
            "name": folder.lower(),
            "id": f"{study_accession}/{release}",
            "title": f"{study_accession}: {study_title}" if study_title else study_accession,
            "description": (
                f"Study {study_accession}, version {version}, as data release {release} "
                "shares it: ImmPort's tables in its Tab layout. Parquet/ holds the same "
                "tables with their types; manifest.tsv lists every file with its MD5."
            ),
            "version": str(version),
            "licenses": [dict(license) for license in licenses],
            "keywords": ["ImmPort", "immunology", study_accession, release],
            "resources": [
                _resource(table, f"Tab/{table}.txt", frame, *tab[f"Tab/{table}.txt"], model)
                for table, frame in frames.items()
            ],
        }
        if citation:
            package["citation"] = citation
        staged["datapackage.json"] = _scratch(scratch, "datapackage.json")
        _write_json(package, staged["datapackage.json"])

        with _zip_writer(target) as archive:
            listed: list[tuple[str, int, str]] = []
            members = sorted([*staged, *stored])
            assert all(member < "manifest.tsv" for member in members)  # it comes last
            for member in members:
                if member in stored:
                    size, md5 = _copy_document(archive, f"{folder}/{member}", stored[member])
                else:
                    size, md5 = _copy_file(archive, f"{folder}/{member}", staged[member])
                listed.append((member, size, md5))
            manifest = pl.DataFrame(listed, schema=["PATH", "SIZE", "MD5"], orient="row")
            staged["manifest.tsv"] = _scratch(scratch, "manifest.tsv")
            _write_tab(manifest, staged["manifest.tsv"])
            _copy_file(archive, f"{folder}/manifest.tsv", staged["manifest.tsv"])
            names = archive.namelist()
    return _summary(target, names)


def write_all_studies(target: BinaryIO, *, release: str, studies: pl.DataFrame) -> DownloadSummary:
    """ALLSTUDIES: one summary row per study of the release (accession, version, title,
    counts...), as a small ZIP with ALLSTUDIES.tsv, ALLSTUDIES.parquet and a
    datapackage.json, under a top folder ``ALLSTUDIES-<release>/``.

    The rows are written in the order given, with UPPER-CASE headers.
    """
    _check_release(release)
    folder = f"ALLSTUDIES-{release}"
    frame = _upper_case("ALLSTUDIES", studies)
    with tempfile.TemporaryDirectory(prefix="immunoport-allstudies-") as scratch:
        tsv, parquet = _scratch(scratch, "ALLSTUDIES.tsv"), _scratch(scratch, "ALLSTUDIES.parquet")
        _write_tab(frame, tsv)
        frame.write_parquet(parquet)
        package = {
            "profile": "tabular-data-package",
            "name": folder.lower(),
            "id": f"ALLSTUDIES/{release}",
            "title": f"The studies of data release {release}",
            "description": (
                f"One row per study shared in data release {release}. ALLSTUDIES.parquet "
                "holds the same rows with their types."
            ),
            "version": release,
            "licenses": [dict(license) for license in LICENSES],
            "keywords": ["ImmPort", "immunology", release],
            "resources": [_resource("allstudies", "ALLSTUDIES.tsv", frame, *_digest(tsv), {})],
        }
        datapackage = _scratch(scratch, "datapackage.json")
        _write_json(package, datapackage)
        with _zip_writer(target) as archive:
            staged = {"ALLSTUDIES.parquet": parquet, "ALLSTUDIES.tsv": tsv}
            staged["datapackage.json"] = datapackage
            for member in sorted(staged):
                _copy_file(archive, f"{folder}/{member}", staged[member])
            names = archive.namelist()
    return _summary(target, names)


# Tables


def _check_release(release: str) -> None:
    if not RELEASE.fullmatch(release):
        raise ValueError(f"Not a data release (DR<n> or DR<n>.<m>): {release!r}")


def _upper_case(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with UPPER-CASE column names, as ImmPort's Tab files head them."""
    upper = [column.upper() for column in frame.columns]
    if len(set(upper)) != len(upper):
        raise ValueError(f"{table}: two columns differ only in case: {frame.columns}")
    for column, dtype in frame.schema.items():
        if _field_type(dtype) is None:
            raise ValueError(f"{table}.{column}: a {dtype} column has no place in a Tab file")
    return frame.rename(dict(zip(frame.columns, upper, strict=True)))


def _write_tab(frame: pl.DataFrame, path: Path) -> None:
    """Tab-separated with a header; quotes only around values that need them."""
    frame.write_csv(
        path,
        separator="\t",
        line_terminator="\n",
        quote_char='"',
        quote_style="necessary",
        null_value="",
        date_format="%Y-%m-%d",
    )


def _field_type(dtype: pl.DataType) -> str | None:
    """The Frictionless Table Schema type of a polars column, None if it has none."""
    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "number"
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return "string"
    types: dict[type[pl.DataType], str] = {
        pl.Boolean: "boolean",
        pl.Date: "date",
        pl.Datetime: "datetime",
        pl.Time: "time",
        pl.Null: "any",  # a column of nulls only: typed by nothing
    }
    return types.get(type(dtype))


def _model_columns(table: str, model: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The data model's columns of ``table`` by UPPER-CASE name; none if not ImmPort's."""
    return {column["name"].upper(): column for column in model.get(table, {}).get("columns", [])}


def _data_dictionary(frames: Mapping[str, pl.DataFrame], model: Mapping[str, Any]) -> pl.DataFrame:
    """TABLE, COLUMN, TYPE, DESCRIPTION of every column written: the model's type and
    description, or the polars type and no description for a column the model lacks."""
    rows = []
    for table, frame in frames.items():
        known = _model_columns(table, model)
        for column, dtype in frame.schema.items():
            entry = known.get(column)
            if entry:
                rows.append((table, column, entry["type"], entry.get("description") or ""))
            else:
                rows.append((table, column, str(dtype), ""))
    return pl.DataFrame(rows, schema=["TABLE", "COLUMN", "TYPE", "DESCRIPTION"], orient="row").cast(
        pl.String
    )


def _resource(
    name: str, path: str, frame: pl.DataFrame, size: int, md5: str, model: Mapping[str, Any]
) -> dict[str, Any]:
    """A Frictionless tabular data resource for one Tab file."""
    known = _model_columns(name, model)
    fields = []
    for column, dtype in frame.schema.items():
        field = {"name": column, "type": _field_type(dtype)}
        if description := known.get(column, {}).get("description"):
            field["description"] = description
        fields.append(field)
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    key = [column.upper() for column in model.get(name, {}).get("primary_key", [])]
    if key and all(column in frame.columns for column in key):
        schema["primaryKey"] = key
    resource = {
        "name": name,
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/tab-separated-values",
        "encoding": "utf-8",
        "bytes": size,
        "hash": md5,
        "dialect": {
            "delimiter": "\t",
            "lineTerminator": "\n",
            "quoteChar": '"',
            "doubleQuote": True,
            "header": True,
        },
        "schema": schema,
    }
    if description := model.get(name, {}).get("description"):
        resource["description"] = description
    return resource


def _study_title(study: pl.DataFrame | None) -> str:
    for column in ("brief_title", "official_title", "BRIEF_TITLE", "OFFICIAL_TITLE"):
        if study is not None and column in study.columns and study.height:
            title = study[column][0]
            if title:
                return " ".join(str(title).split())
    return ""


def _readme(
    study_accession: str,
    title: str,
    release: str,
    version: int,
    citation: str,
    frames: Mapping[str, pl.DataFrame],
    documents: Mapping[str, StudyDocument],
) -> str:
    rows = "\n".join(f"  {table:<40} {frame.height:>12,} rows" for table, frame in frames.items())
    folders = sorted({path.split("/")[1] for path in documents})
    files = (
        f"{len(documents)} documents under files/: " + ", ".join(folders)
        if documents
        else "none shared"
    )
    return f"""\
{study_accession}{": " + title if title else ""}
Version {version} of the study, as data release {release} shares it.

How to cite
{citation or f"immunoport study {study_accession}, version {version}, data release {release}."}

Layout
  Tab/<table>.txt      ImmPort's Tab layout, one file per table: tab-separated, UTF-8,
                       a header of UPPER-CASE column names, an empty cell for a null,
                       dates as YYYY-MM-DD. A value holding a tab, a line break or a
                       double quote is written between double quotes, a quote inside
                       doubled (as pandas, polars, R and Frictionless read by default).
                       With pandas: pd.read_csv(path, sep="\\t", keep_default_na=False,
                       na_values=[""]) keeps texts such as "NA" as they were given.
  Parquet/<table>.parquet  the same tables with their column types
  data_dictionary.tsv  TABLE, COLUMN, TYPE, DESCRIPTION of every column, from ImmPort's
                       data model
  datapackage.json     a Frictionless Data Package describing the Tab tables
  files/<kind>/<name>  the study's documents, named as the providers named them
  manifest.tsv         PATH, SIZE and MD5 of every other file, to check the download

Tables
{rows}

Documents
  {files}

{PRIVACY_NOTE}
"""


# Documents


def _document_paths(documents: Iterable[StudyDocument]) -> dict[str, StudyDocument]:
    """Each document by its path under the top folder: files/<kind>/<name>."""
    paths: dict[str, StudyDocument] = {}
    for document in documents:
        for part in (document.kind, document.name):
            if not part or part in (".", "..") or "/" in part or "\\" in part or "\0" in part:
                raise ValueError(
                    f"Document {document.name!r} ({document.kind!r}): "
                    "a kind and a name must be plain file names"
                )
        path = f"files/{document.kind}/{document.name}"
        if path in paths:
            raise ValueError(f"Two documents would both be {path}")
        paths[path] = document
    return paths


def _copy_document(
    archive: zipfile.ZipFile, member: str, document: StudyDocument
) -> tuple[int, str]:
    """Copy a document into the archive in chunks; its bytes must match its size and md5."""
    md5, size = hashlib.md5(usedforsecurity=False), 0
    with document.open() as source, archive.open(_member(member, document.size), "w") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > document.size:
                raise ValueError(
                    f"Document {document.name!r} ({document.kind}) is larger than the "
                    f"{document.size} bytes recorded for it"
                )
            md5.update(chunk)
            out.write(chunk)
    if size != document.size:
        raise ValueError(
            f"Document {document.name!r} ({document.kind}) has {size} bytes, "
            f"not the {document.size} recorded for it"
        )
    if md5.hexdigest() != document.md5.lower():
        raise ValueError(
            f"Document {document.name!r} ({document.kind}) has MD5 {md5.hexdigest()}, "
            f"not the {document.md5} recorded for it: the stored file changed or is damaged"
        )
    return size, md5.hexdigest()


# The ZIP


def _zip_writer(target: BinaryIO) -> zipfile.ZipFile:
    """A ZIP written into ``target`` from its start, whatever it held before."""
    target.seek(0)
    target.truncate()
    return zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)


def _member(name: str, size: int) -> zipfile.ZipInfo:
    """A member with nothing in its header that varies between builds.

    The size is known in advance so zipfile writes ZIP64 headers only when needed.
    Parquet is compressed already and is stored as it is; the rest is deflated.
    """
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_STORED if name.endswith(".parquet") else zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, as the permissions below are; the default varies by platform
    info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
    info.file_size = size
    return info


def _copy_file(archive: zipfile.ZipFile, member: str, path: Path) -> tuple[int, str]:
    md5, size = hashlib.md5(usedforsecurity=False), path.stat().st_size
    with path.open("rb") as source, archive.open(_member(member, size), "w") as out:
        while chunk := source.read(CHUNK):
            md5.update(chunk)
            out.write(chunk)
    return size, md5.hexdigest()


def _scratch(folder: str, name: str) -> Path:
    return Path(folder) / name


def _digest(path: Path) -> tuple[int, str]:
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            md5.update(chunk)
    return path.stat().st_size, md5.hexdigest()


def _write_json(descriptor: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _summary(target: BinaryIO, members: list[str]) -> DownloadSummary:
    """The written ZIP's MD5 and size, read back from ``target`` in chunks."""
    target.flush()
    target.seek(0)
    md5, size = hashlib.md5(usedforsecurity=False), 0
    while chunk := target.read(CHUNK):
        md5.update(chunk)
        size += len(chunk)
    return DownloadSummary(md5=md5.hexdigest(), size=size, members=members)
