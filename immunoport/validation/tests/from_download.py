"""Turn an ImmPort study download (DR34 MySQL) into a package of filled upload templates.

Test support: it writes the templates a data provider would have uploaded to create
that study, so the validator can be run on real data. User-defined IDs are ImmPort's
accessions (``SUB12345``), as in a re-submission, so every reference between
templates lines up without a mapping.

Columns are filled generically from the template registry: a column with
``db_table``/``db_column`` takes that column of that table, a ``user_defined_id``
takes the table's accession, and a list column (``Reagent ID(s)``) takes the
``;``-joined values of its link table. What the registry does not describe (result
file names, ``Use Treatment?``, the exposure group when ImmPort holds none) is
supplied per template below.

The protocol and result files themselves are not in the download; each named file
is written as an empty placeholder so that the package is complete.
"""

import re
from pathlib import Path

import polars as pl

from immunoport.ingest.immport_download import open_package, read_package
from immunoport.schema.filled import compound_text, tabular_text
from immunoport.schema.reference import tables as reference_tables
from immunoport.schema.templates import (
    Column,
    Section,
    Template,
    templates,
)

# Columns ImmPort's loader sets to 'Not Specified' when a treatments.txt cell is
# empty (the template's set-to-value pre-processes); a provider left them empty.
_TREATMENT_FILLED_BY_IMMPORT = (
    "amount_value",
    "amount_unit",
    "duration_value",
    "duration_unit",
    "temperature_value",
    "temperature_unit",
)
_NOT_SPECIFIED = "Not Specified"
# lk_exposure_process term for subjects whose exposure ImmPort does not record
_NO_EXPOSURE_RECORDED = "unknown"
_COMPENSATION = "Flow cytometry compensation or control"
# records that bioSamples.txt and experiments.txt define: experimentSamples rows only
# name them, as a provider does who fills those templates
_DEFINED_ELSEWHERE = frozenset({"biosample", "experiment", "experiment_2_protocol"})

Data = dict[str, pl.DataFrame]  # the download's tables by name, values as text


def write_package(download: Path, target: Path) -> list[str]:
    """Write the templates and placeholder files for ``download`` into ``target``.

    Returns the template file names written, in ImmPort's loading order.
    """
    data = read_download(download)
    filled = {
        "protocols.txt": fill(templates()["protocols.txt"], _base(data, "protocol")),
        "subjectHumans.txt": _subjects(data),
        "bioSamples.txt": _biosamples(data),
        "treatments.txt": _treatments(data),
        **_reagents(data),
        "experiments.txt": _experiments(data),
        **_expsamples(data),
        "publicRepositories.txt": fill(
            templates()["publicRepositories.txt"], _base(data, "expsample_public_repository")
        ),
    }
    target.mkdir(parents=True, exist_ok=True)
    design = templates()["basic_study_design.txt"]
    (target / design.file_name).write_text(
        compound_text(design, _study_sections(data)), encoding="utf-8"
    )
    written = [design.file_name]
    for file_name, rows in filled.items():
        if rows.height == 0:
            continue
        template = templates()[file_name]
        (target / file_name).write_text(tabular_text(template, rows), encoding="utf-8")
        written.append(file_name)
        for column in template.columns:
            if column.names_package_file:
                for name in rows[column.key].drop_nulls().str.split(";").explode().unique():
                    (target / name).touch()
    order = {name: t.loading_order for name, t in templates().items()}
    return sorted(written, key=order.__getitem__)


# --- reading the download ---------------------------------------------------------


def read_download(download: Path) -> Data:
    """Every research table of the download as text, as a provider would write it.

    Tables the download ships empty are empty frames with the model's columns.
    """
    with open_package(download) as package:
        frames = read_package(package).frames
    out = {
        name: pl.DataFrame(schema=dict.fromkeys(_columns(name), pl.String))
        for name in reference_tables()
    }
    for name, frame in frames.items():
        out[name] = frame.drop("_line").select(
            _as_text(c, frame[c].dtype) for c in frame.columns if c != "_line"
        )
    # a provider names its own files; ImmPort stores them renamed with an ID inside
    out["protocol"] = out["protocol"].with_columns(pl.col("original_file_name").alias("file_name"))
    out["file_info"] = out["file_info"].with_columns(pl.col("original_file_name").alias("name"))
    return out


def _columns(table: str) -> list[str]:
    spec = reference_tables()[table]
    return [c["name"] for c in spec["columns"] if c["name"] != "workspace_id"]


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.Date:
        return column.dt.strftime("%d-%b-%Y").alias(name)
    if dtype.is_float():
        whole = column.round(0) == column
        return (
            pl.when(whole)
            .then(column.cast(pl.Int64).cast(pl.String))
            .otherwise(column.cast(pl.String))
            .alias(name)
        )
    text = column.cast(pl.String).str.strip_chars()
    return pl.when(text != "").then(text).alias(name)


def _key(table: str) -> str:
    """The column a table's records are identified by: its accession."""
    return reference_tables()[table]["primary_key"][0]


# --- rows: one frame per template, columns named "<table>.<column>" ---------------


def _base(data: Data, table: str, frame: pl.DataFrame | None = None) -> pl.DataFrame:
    frame = data[table] if frame is None else frame
    return frame.select(pl.all().name.prefix(f"{table}."))


def _attach(
    rows: pl.DataFrame,
    data: Data,
    table: str,
    on: str,
    *,
    by: str | None = None,
) -> pl.DataFrame:
    """Left-join ``table`` on its column ``on`` (``by``: the rows' column, default the
    rows' only column named ``on``); several matches become ``;``-joined lists."""
    by = by or next(c for c in rows.columns if c.rsplit(".", 1)[-1] == on)
    other = data[table]
    if other.select(pl.col(on).is_duplicated().any()).item():
        other = other.group_by(on, maintain_order=True).agg(
            pl.exclude(on).drop_nulls().unique(maintain_order=True).str.join(";")
        )
    joined = rows.join(_base(data, table, other), left_on=by, right_on=f"{table}.{on}", how="left")
    return joined.with_columns(pl.col(by).alias(f"{table}.{on}"))


def source(column: Column) -> str | None:
    """The ``<table>.<column>`` a template column is filled from, from the registry."""
    if not column.db_table or not column.db_column:
        return None
    table = column.db_table.split(" And ")[0].strip()
    name = column.db_column
    for entity in ("biosample", "experiment"):
        # the registry files the inline biosample and experiment names and
        # descriptions of experimentSamples under expsample ('Biosample Name' is
        # data column biosample_name, the biosample's name)
        prefix = f"{entity}_"
        if table == "expsample" and column.data_column.startswith(prefix):
            table, name = entity, column.data_column.removeprefix(prefix)
    if name == "user_defined_id":
        name = _key(table)
    return f"{table}.{name}"


def fill(
    template: Template | Section,
    rows: pl.DataFrame,
    extra: dict[str, pl.Expr] | None = None,
    *,
    skip: frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """The template's columns (by key) from ``rows``; ``extra`` supplies the rest."""
    extra = extra or {}
    exprs = []
    for column in template.columns:
        where = source(column)
        table = where.split(".")[0] if where else None
        named_only = table in skip and column.db_column != "user_defined_id"
        if column.key in extra:
            expr = extra[column.key]
        elif where in rows.columns and not named_only:
            expr = pl.col(where)
        else:
            expr = pl.lit(None, pl.String)
        exprs.append(expr.cast(pl.String).alias(column.key))
    return rows.select(exprs)


# --- the templates ----------------------------------------------------------------


def _study_sections(data: Data) -> dict[str, pl.DataFrame]:
    return {
        section.name: fill(section, _base(data, section.name))
        for section in templates()["basic_study_design.txt"].sections
    }


def _subjects(data: Data) -> pl.DataFrame:
    template = templates()["subjectHumans.txt"]
    rows = _base(data, "arm_2_subject")
    rows = _attach(rows, data, "subject", "subject_accession")
    rows = _attach(rows, data, "arm_or_cohort", "arm_accession")
    exposures = data["immune_exposure"]
    if exposures.height:
        rows = rows.join(
            _base(data, "immune_exposure"),
            left_on=["arm_2_subject.subject_accession", "arm_2_subject.arm_accession"],
            right_on=["immune_exposure.subject_accession", "immune_exposure.arm_accession"],
            how="left",
        )
    process = template.column("Exposure Process Reported")
    extra = {}
    if source(process) not in rows.columns:
        extra[process.key] = pl.lit(_NO_EXPOSURE_RECORDED)
    return fill(template, rows, extra)


def _biosamples(data: Data) -> pl.DataFrame:
    rows = _attach(_base(data, "biosample"), data, "biosample_2_treatment", "biosample_accession")
    return fill(templates()["bioSamples.txt"], rows)


def _treatments(data: Data) -> pl.DataFrame:
    treatment = data["treatment"].with_columns(
        pl.when(pl.col(c) != _NOT_SPECIFIED).then(pl.col(c)).alias(c)
        for c in _TREATMENT_FILLED_BY_IMMPORT
    )
    used = pl.any_horizontal(
        pl.col(f"treatment.{c}").is_not_null() for c in _TREATMENT_FILLED_BY_IMMPORT
    )
    template = templates()["treatments.txt"]
    extra = {"Use Treatment?": pl.when(used).then(pl.lit("Yes")).otherwise(pl.lit("No"))}
    return fill(template, _base(data, "treatment", treatment), extra)


def _reagents(data: Data) -> dict[str, pl.DataFrame]:
    """One reagents.<type>.txt per reagent type, and Reagent_Sets.txt for the sets."""
    reagent = data["reagent"]
    out: dict[str, pl.DataFrame] = {}
    singles = reagent.filter(pl.col("is_set") != "Y")
    for (kind,), frame in singles.group_by("type", maintain_order=True):
        file_name = _by_suffix("reagents.", str(kind)) or "reagents.Other.txt"
        rows = fill(templates()[file_name], _base(data, "reagent", frame))
        out[file_name] = pl.concat([out[file_name], rows]) if file_name in out else rows
    sets = _base(data, "reagent", reagent.filter(pl.col("is_set") == "Y"))
    if sets.height:
        sets = _attach(
            sets,
            data,
            "reagent_set_2_reagent",
            "reagent_set_accession",
            by="reagent.reagent_accession",
        )
        out["Reagent_Sets.txt"] = fill(templates()["Reagent_Sets.txt"], sets)
    return out


def _experiments(data: Data) -> pl.DataFrame:
    rows = _attach(_base(data, "experiment"), data, "experiment_2_protocol", "experiment_accession")
    return fill(templates()["experiments.txt"], rows)


def _expsamples(data: Data) -> dict[str, pl.DataFrame]:
    """experimentSamples.<technique>.txt per technique, naming the result files."""
    rows = _base(data, "expsample")
    rows = _attach(rows, data, "expsample_2_biosample", "expsample_accession")
    rows = _attach(rows, data, "biosample", "biosample_accession")
    rows = _attach(
        rows, data, "experiment", "experiment_accession", by="expsample.experiment_accession"
    )
    for link in ("expsample_2_reagent", "expsample_2_treatment", "expsample_public_repository"):
        rows = _attach(rows, data, link, "expsample_accession", by="expsample.expsample_accession")
    rows = rows.join(
        _result_files(data),
        left_on="expsample.expsample_accession",
        right_on="expsample",
        how="left",
    )
    out: dict[str, pl.DataFrame] = {}
    techniques = rows.group_by("experiment.measurement_technique", maintain_order=True)
    for (technique,), frame in techniques:
        file_name = (
            _by_suffix("experimentSamples.", str(technique)) or "experimentSamples.Other.txt"
        )
        template = templates()[file_name]
        out[file_name] = fill(template, frame, _file_columns(template), skip=_DEFINED_ELSEWHERE)
    return out


def _result_files(data: Data) -> pl.DataFrame:
    """Per expsample: its main result file, compensation files and other files.

    The main result file is its first result file, an .fcs one if it has any.
    """
    links = data["expsample_2_file_info"].join(data["file_info"], on="file_info_id")
    links = links.with_columns(
        pl.col("file_info_id").cast(pl.Int64),
        (pl.col("detail") == _COMPENSATION).alias("compensation"),
        ~pl.col("name").str.to_lowercase().str.ends_with(".fcs").alias("not_fcs"),
    ).sort("expsample_accession", "compensation", "not_fcs", "file_info_id")
    results = pl.col("name").filter(~pl.col("compensation"))
    return (
        links.group_by("expsample_accession")
        .agg(
            results.first().alias("main"),
            results.slice(1).unique(maintain_order=True).str.join(";").alias("other"),
            pl.col("name")
            .filter(pl.col("compensation"))
            .unique(maintain_order=True)
            .str.join(";")
            .alias("compensation"),
        )
        .rename({"expsample_accession": "expsample"})
    )


def _file_columns(template: Template) -> dict[str, pl.Expr]:
    named = [c for c in template.columns if c.names_package_file]
    main = next((c for c in named if not c.is_list), None)
    compensation = next((c for c in named if c.data_column.startswith("compensation")), None)
    additional = next((c for c in named if c.data_column == "additional_result_file_names"), None)
    extra = {}
    other = [pl.col("other")]
    if compensation is not None:
        extra[compensation.key] = pl.col("compensation")
    else:
        other.append(pl.col("compensation"))
    if main is not None:
        extra[main.key] = pl.col("main")
    else:
        other.insert(0, pl.col("main"))
    if additional is not None:
        joined = (
            pl.concat_list(other)
            .list.drop_nulls()
            .list.eval(pl.element().filter(pl.element() != ""))
        )
        extra[additional.key] = pl.when(joined.list.len() > 0).then(joined.list.join(";"))
    return extra


def _by_suffix(prefix: str, kind: str) -> str | None:
    """The template named ``<prefix><kind>.txt``, spelled loosely: 'RNA sequencing' finds
    experimentSamples.RNA_Sequencing.txt."""
    wanted = _loose(kind)
    return next(
        (
            name
            for name in templates()
            if name.startswith(prefix)
            and _loose(name.removeprefix(prefix).removesuffix(".txt")) == wanted
        ),
        None,
    )


def _loose(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())
