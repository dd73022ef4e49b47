"""Write immunoport/studies/models/*.py from ImmPort's relational model.

The source is the packaged copy of the model, immunoport/schema/reference/
immport-data-model.json. Run `make models` after changing this script or the model;
the output is committed, and a test fails when it is out of date.

Mapping rules, each following from the data rather than typed per table:
- every research table (not ``lk_*``, not ``workspace``) becomes one model with
  ``db_table`` and column names as ImmPort spells them;
- a single accession primary key is the model's primary key, and the model issues
  accessions with the table's prefix; a single integer key is an auto field; a
  composite key becomes a unique constraint over ImmPort's key columns beside a
  surrogate ``id``;
- a column referencing another research table is a ForeignKey named after the
  column without its ``_accession``/``_id`` suffix, with ``db_column`` kept;
- a column referencing a lookup (``lk_*``) stays a plain value column: lookups are
  vocabularies that change between releases, and the reported value must survive
  a term's removal. Validation and curation check them instead of the database;
- ``workspace_id`` comes from the WorkspaceRecord base, on every table.
"""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "immunoport" / "schema" / "reference" / "immport-data-model.json"
TARGET = ROOT / "immunoport" / "studies" / "models"

# Accession prefixes ImmPort uses but the model does not record (seen in study
# downloads, e.g. PSN1572 in study_personnel), and ours for tables without one.
EXTRA_PREFIXES = {
    "study_personnel": "PSN",
    "protocol_deviation": "PD",
    "reference_range": "RR",
    "reported_early_termination": "RET",
    "subject_measure_definition": "SMD",
    "subject_measure_result": "SMR",
}

MODULES = {
    "design": {"arm_or_cohort", "arm_2_subject", "period", "planned_visit", "subject"},
    "clinical": {
        "adverse_event",
        "assessment_panel",
        "assessment_component",
        "assessment_2_file_info",
        "lab_test_panel",
        "lab_test",
        "lab_test_panel_2_protocol",
        "intervention",
        "immune_exposure",
        "protocol_deviation",
        "reported_early_termination",
        "reference_range",
        "subject_measure_definition",
        "subject_measure_result",
    },
}
STUDY_PREFIXES = ("study", "program", "contract_grant", "personnel", "protocol", "inclusion")

MODULE_DOCS = {
    "study": "Studies and what describes them: personnel, publications, files, programs, grants.",
    "design": "Study design: arms or cohorts, periods, planned visits, subjects.",
    "clinical": "Clinical assessments, lab tests, interventions, exposures and adverse events.",
    "samples": "Biosamples, experiments, experiment samples, reagents, treatments and files.",
    "results": "Assay results, one table per result type.",
}


def module_of(table: str) -> str:
    if table.endswith(("_result", "_result_marker")):
        return "results"
    for module, tables in MODULES.items():
        if table in tables:
            return module
    if table.startswith(STUDY_PREFIXES):
        return "study"
    return "samples"


def class_name(table: str) -> str:
    return "".join(part.capitalize() for part in table.split("_"))


def fk_field_name(column: str) -> str:
    return re.sub(r"_(accession|id)$", "", column)


def is_research(table: str) -> bool:
    return not table.startswith("lk_") and table != "workspace"


def key_owners(tables: dict) -> dict[str, str]:
    """Single-column primary key name -> its research table (study_accession -> study)."""
    owners: dict[str, list[str]] = {}
    for name, t in tables.items():
        key = t["primary_key"]
        # expsample_mbaa_detail's key is a reference to expsample, not a key of its own.
        if is_research(name) and len(key) == 1 and key[0] not in references(t, tables):
            owners.setdefault(key[0], []).append(name)
    # result_id is every result table's key: a name shared by several owns nothing.
    return {key: names[0] for key, names in owners.items() if len(names) == 1}


def inferred_references(table: dict, tables: dict) -> dict[str, str]:
    """Columns named like another table's key but without a declared foreign key.

    ImmPort's DDL leaves some out (study_data_release.study_accession,
    lab_test.reference_range_accession, most of mass_spectrometry_result).
    """
    owners = key_owners(tables)
    declared = references(table, tables)
    return {
        c["name"]: owners[c["name"]]
        for c in table["columns"]
        if c["name"] in owners and table["primary_key"] != [c["name"]] and c["name"] not in declared
    }


def references(table: dict, tables: dict) -> dict[str, str]:
    """column -> referenced research table, following composite keys through."""
    refs: dict[str, str] = {}
    for fk in table["foreign_keys"]:
        target = tables[fk["references"]]
        if len(fk["columns"]) == 1:
            refs[fk["columns"][0]] = fk["references"]
            continue
        # e.g. immune_exposure (arm_accession, subject_accession) -> arm_2_subject:
        # each part points on to the table the referenced column itself references.
        inner = references(target, tables)
        for column, ref_column in zip(fk["columns"], fk["ref_columns"], strict=True):
            if ref_column in inner:
                refs.setdefault(column, inner[ref_column])
    for column in table["columns"]:
        if column.get("fk") and column["name"] not in refs:
            refs[column["name"]] = column["fk"].split(".")[0]
    return {c: t for c, t in refs.items() if is_research(t)}


def python_default(column: dict) -> str | None:
    default = column.get("default")
    if default is None:
        return None
    kind = column["type"].split("(")[0]
    if kind == "INT":
        return str(int(default))
    if kind == "FLOAT":
        return repr(float(default))
    return repr(default)


def value_field(column: dict, primary_key: bool) -> str:
    kind, _, size = column["type"].partition("(")
    args = []
    if primary_key:
        args.append("primary_key=True")
    if kind == "VARCHAR":
        field = "CharField"
        args.append(f"max_length={size.rstrip(')')}")
    elif kind == "INT":
        if primary_key:
            return "models.BigAutoField(primary_key=True)"
        field = "BigIntegerField" if column["name"].endswith("bytes") else "IntegerField"
    elif kind == "FLOAT":
        field = "FloatField"
    elif kind == "DATE":
        field = "DateField"
    elif kind in {"TEXT", "MEDIUMTEXT", "LONGTEXT"}:
        field = "TextField"
    else:
        raise ValueError(f"unknown column type {column['type']}")
    if not primary_key and column["nullable"] is not False:
        args.append("null=True")
        args.append("blank=True")
    default = python_default(column)
    if default is not None:
        args.append(f"default={default}")
    return f"models.{field}({', '.join(args)})"


def relation_field(
    column: dict, target: str, primary_key: bool, related_name: str | None, enforced: bool
) -> str:
    target_class = class_name(target)
    if primary_key:
        return (
            f'models.OneToOneField("{target_class}", on_delete=models.CASCADE, '
            f'primary_key=True, db_column="{column["name"]}")'
        )
    nullable = column["nullable"] is not False
    args = [
        f'"{target_class}"',
        "on_delete=models.SET_NULL" if nullable else "on_delete=models.CASCADE",
        f'db_column="{column["name"]}"',
    ]
    if nullable:
        args += ["null=True", "blank=True"]
    if related_name:
        args.append(f'related_name="{related_name}"')
    if not enforced:
        # Not a constraint in ImmPort: historical data may point at records it lacks.
        args.append("db_constraint=False")
    return f"models.ForeignKey({', '.join(args)})"


def docstring(table: dict) -> str:
    text = (table.get("description") or f"ImmPort table {table['name']}.").strip()
    text = " ".join(text.split()).replace('"""', "'")
    first = text.split(". ")[0].rstrip(".") + "."
    lines = textwrap.wrap(first, width=88)
    if len(lines) == 1:
        return f'"""{first}"""'
    body = "\n    ".join(lines)
    return f'"""{body}\n    """'


def model_source(table: dict, tables: dict) -> str:
    name = table["name"]
    pk = table["primary_key"]
    single_pk = pk[0] if len(pk) == 1 else None
    declared = references(table, tables)
    refs = {**declared, **inferred_references(table, tables)}
    target_counts: dict[str, int] = {}
    for target in refs.values():
        target_counts[target] = target_counts.get(target, 0) + 1
    prefix = table.get("accession_prefix") or EXTRA_PREFIXES.get(name)
    accessioned = bool(prefix) and single_pk is not None and single_pk not in refs
    base = "AccessionedRecord" if accessioned else "WorkspaceRecord"

    lines = [f"class {class_name(name)}({base}):", f"    {docstring(table)}", ""]
    if accessioned:
        lines += [f'    accession_prefix = "{prefix}"', ""]
    field_names: set[str] = set()
    indexed = {idx["columns"][0] for idx in table.get("indexes", []) if len(idx["columns"]) == 1}
    for column in table["columns"]:
        col = column["name"]
        if col == "workspace_id":
            continue
        is_pk = col == single_pk
        if col in refs:
            field = fk_field_name(col)
            related = None
            if target_counts[refs[col]] > 1:
                related = f"{name}_by_{field}"
            definition = relation_field(column, refs[col], is_pk, related, col in declared)
        else:
            field = col
            definition = value_field(column, is_pk)
            if col in indexed and not is_pk:
                definition = definition[:-1] + ", db_index=True)"
        if field in field_names or field in {"workspace", "user_defined_id", "id"}:
            raise ValueError(f"{name}.{col}: field name {field} is taken")
        field_names.add(field)
        lines.append(f"    {field} = {definition}")

    meta = [f'        db_table = "{name}"']
    if single_pk is None:
        fields = [fk_field_name(c) if c in refs else c for c in pk]
        meta.append(
            "        constraints = [models.UniqueConstraint("
            f'fields={fields!r}, name="{name}_immport_key")]'
        )
    # Accessioned models inherit the base's unique (workspace, user_defined_id).
    meta_base = "(AccessionedRecord.Meta)" if accessioned else ""
    lines += ["", f"    class Meta{meta_base}:", *meta]
    return "\n".join(lines)


def render(module: str, tables: list[dict], all_tables: dict) -> str:
    used_bases = set()
    bodies = []
    for table in sorted(tables, key=lambda t: t["name"]):
        body = model_source(table, all_tables)
        used_bases.add(body.split("(", 1)[1].split(")", 1)[0])
        bodies.append(body)
    header = [
        f'"""{MODULE_DOCS[module]}',
        "",
        "Generated by scripts/generate_models.py from ImmPort's relational model; do not edit.",
        '"""',
        "",
        "from django.db import models",
        "",
        f"from immunoport.core.models import {', '.join(sorted(used_bases))}",
    ]
    return "\n".join(header) + "\n\n\n" + "\n\n\n".join(bodies) + "\n"


def generate() -> dict[Path, str]:
    model = json.loads(SOURCE.read_text())
    tables = {t["name"]: t for t in model["tables"]}
    by_module: dict[str, list[dict]] = {}
    for table in tables.values():
        if is_research(table["name"]):
            by_module.setdefault(module_of(table["name"]), []).append(table)
    files = {
        TARGET / f"{module}.py": render(module, group, tables)
        for module, group in sorted(by_module.items())
    }
    init = ['"""ImmPort\'s research tables as Django models (generated; see the modules)."""', ""]
    # hand-written, not ImmPort's tables: registration drafts, a record's earlier values
    init += [
        "from immunoport.studies.drafts import DraftFile, StudyDraft  # noqa: F401",
        "from immunoport.studies.history import RecordHistory  # noqa: F401",
        "",
    ]
    for module in sorted(by_module):
        init.append(f"from .{module} import *  # noqa: F403")
    files[TARGET / "__init__.py"] = "\n".join(init) + "\n"
    return files


def formatted(files: dict[Path, str]) -> dict[Path, str]:
    """Format the generated source with ruff so it reads like the rest of the code."""
    out = {}
    for path, source in files.items():
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
            input=source,
            capture_output=True,
            text=True,
            check=True,
        )
        out[path] = result.stdout
    return out


def main(argv: list[str]) -> int:
    files = formatted(generate())
    if "--check" in argv:
        stale = [p for p, s in files.items() if not p.exists() or p.read_text() != s]
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)} (run make models)")
        return 1 if stale else 0
    TARGET.mkdir(parents=True, exist_ok=True)
    for path, source in files.items():
        path.write_text(source)
    print(f"wrote {len(files)} files to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
