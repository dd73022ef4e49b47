"""A complete study as the wizard's steps take it, shared by the wizard's tests."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from immunoport.core.models import AccessionedRecord
from immunoport.schema.templates import templates
from immunoport.studies import registration, wizard
from immunoport.studies.drafts import StudyDraft
from immunoport.studies.registry import models_by_table

PROTOCOL_DOCUMENT = b"%PDF-1.4\n% flu vaccine study protocol\n"
CONSENT_DOCUMENT = b"Consent form, version 2\n"

STEPS: dict[str, dict[str, list[dict[str, str]]]] = {
    "basic-info": {
        "study": [
            {
                "User Defined ID": "flu_vax_2024",
                "Brief Title": "Antibody response to seasonal influenza vaccine",
                "Official Title": "Antibody response to the 2024 seasonal influenza vaccine "
                "in healthy adults",
                "Brief Description": "Healthy adults were vaccinated and followed for 28 days.",
                "Description": "Serum was taken before and after vaccination to measure "
                "haemagglutination inhibition titres.",
                "Intervention Agent": "Trivalent inactivated influenza vaccine",
                "Endpoints": "HAI titre at day 28",
                "Sponsoring Organization": "NIAID",
                "Age Unit": "Years",
                "Actual Start Date": "15-Sep-2024",
                "Hypothesis": "Prior vaccination lowers the response.",
                "Objectives": "Measure the antibody response.",
                "Target Enrollment": "40",
                "Minimum Age": "18",
                "Maximum Age": "64",
            }
        ]
    },
    "categorization": {"study_categorization": [{"Research Focus": "Vaccine Response"}]},
    "condition": {"study_2_condition_or_disease": [{"Condition Reported": "influenza"}]},
    "arms": {
        "arm_or_cohort": [
            {
                "User Defined ID": "arm_young",
                "Name": "Young adults",
                "Description": "Aged 18 to 40",
                "Type Reported": "Experimental Arm",
            },
            {
                "User Defined ID": "arm_older",
                "Name": "Older adults",
                "Description": "Aged 41 to 64",
                "Type Reported": "Experimental Arm",
            },
        ]
    },
    "criteria": {
        "inclusion_exclusion": [
            {
                "User Defined ID": "crit_healthy",
                "Criterion": "Healthy adult",
                "Criterion Category": "Inclusion",
            },
            {
                "User Defined ID": "crit_pregnant",
                "Criterion": "Pregnancy",
                "Criterion Category": "Exclusion",
            },
        ]
    },
    "personnel": {
        "study_personnel": [
            {
                "User Defined ID": "pi_1",
                "Honorific": "Dr.",
                "Last Name": "Okafor",
                "First Name": "Ada",
                "Organization": "Example University",
                "Email": "ada.okafor@example.org",
                "Title In Study": "Principal Investigator",
                "Role In Study": "Principal Investigator",
                "Site Name": "Example University",
            }
        ]
    },
    "visits": {
        "planned_visit": [
            {
                "User Defined ID": "pv_d0",
                "Name": "Day 0",
                "Order Number": "1",
                "Min Start Day": "0",
                "Max Start Day": "0",
            },
            {
                "User Defined ID": "pv_d28",
                "Name": "Day 28",
                "Order Number": "2",
                "Min Start Day": "26",
                "Max Start Day": "30",
                "Start Rule": "28 days after vaccination",
            },
        ]
    },
    "protocol": {
        "protocols": [
            {
                "User Defined ID": "prot_main",
                "File Name": "protocol.pdf",
                "Name": "Study protocol",
                "Type": "Study Protocol",
                "Description": "The clinical protocol",
            }
        ]
    },
    "publications": {
        "study_pubmed": [{"Pubmed ID": "12345678", "Title": "Antibodies after vaccination"}],
        "study_link": [{"Name": "ClinicalTrials.gov", "Value": "https://clinicaltrials.gov/"}],
    },
    "study-files": {
        "study_file": [
            {
                "File Name": "consent.txt",
                "Description": "Consent form",
                "Study File Type": "Study Data",
            }
        ]
    },
}

UPLOADS = {
    "protocol": ("protocol.pdf", PROTOCOL_DOCUMENT),
    "study-files": ("consent.txt", CONSENT_DOCUMENT),
}


def fill_draft(draft: StudyDraft, skip: tuple[str, ...] = ()) -> None:
    """Save every step of ``draft`` with the study above; each step must be accepted."""
    for slug, rows in STEPS.items():
        if slug in skip:
            continue
        uploads = {}
        if slug in UPLOADS:
            name, content = UPLOADS[slug]
            uploads[name] = SimpleUploadedFile(name, content)
        step = wizard.step(slug)
        assert step is not None
        problems = registration.save_step(draft, step, rows, uploads)
        assert not [p for p in problems if p.is_error], (slug, problems)


def register(workspace, user=None):
    """The study above, registered through the wizard's services in ``workspace``."""
    draft = registration.start_draft(workspace, user)
    fill_draft(draft)
    return registration.finish(draft, user)


# --- the same study written as templates by hand ---------------------------------------


def _rows(part: str) -> list[dict[str, str]]:
    return next((rows[part] for rows in STEPS.values() if part in rows), [])


def write_templates(folder: Path) -> Path:
    """The study above as ``basic_study_design.txt`` + ``protocols.txt`` and its two
    documents in ``folder``: plain text in ImmPort's layout, written without the wizard
    (only the templates' column names and order come from the schema)."""
    folder.mkdir(parents=True, exist_ok=True)
    design = templates()[wizard.DESIGN]
    lines = [
        f"basic_study_design\tSchema Version {design.schema_version}",
        "Please do not delete or edit this column\tCore study definition",
        "Column Name",
        "",
        "",
    ]
    protocol_ids = [row["User Defined ID"] for row in _rows("protocols")]
    for section in design.sections:
        names = [c.name for c in section.columns]
        rows = _rows(section.name)
        if section.name == "study_2_protocol":
            rows = [{"Protocol ID": udi} for udi in protocol_ids]
        if not rows and not section.required:
            continue
        lines.append(section.name)
        if section.layout == "vertical":
            for name in names:
                lines.append("\t".join([name, *([r[name] for r in rows if r.get(name)] or [""])]))
        else:
            lines.append("\t".join(names))
            lines += ["\t".join(row.get(n, "") for n in names) for row in rows]
        lines.append("")
    (folder / wizard.DESIGN).write_text("\n".join(lines) + "\n", encoding="utf-8")
    protocols = templates()[wizard.PROTOCOLS]
    names = [c.name for c in protocols.columns]
    lines = [
        f"protocols\tSchema Version {protocols.schema_version}",
        "Please do not delete or edit this column",
        "\t".join(["Column Name", *names]),
        *("\t" + "\t".join(row.get(n, "") for n in names) for row in _rows("protocols")),
    ]
    (folder / wizard.PROTOCOLS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, content in UPLOADS.values():
        (folder / name).write_bytes(content)
    return folder


# --- a workspace's study rows, comparable across workspaces ---------------------------

# Every ImmPort table a study registered with the wizard writes rows to.
STUDY_TABLES = (
    "study",
    "study_categorization",
    "study_2_condition_or_disease",
    "arm_or_cohort",
    "inclusion_exclusion",
    "study_personnel",
    "planned_visit",
    "protocol",
    "study_2_protocol",
    "study_pubmed",
    "study_link",
    "study_file",
)


def study_rows(workspace, tables=STUDY_TABLES) -> dict[str, list[dict]]:
    """Every column of every row of ``tables`` in ``workspace``, except the workspace,
    accessions and surrogate keys; references to accessioned records are given as the
    records' user-defined IDs. Rows are sorted, so two workspaces compare with ==."""
    models = models_by_table()
    names: dict[str, str] = {}  # accession -> user-defined ID
    for model in models.values():
        if issubclass(model, AccessionedRecord):
            rows = model._default_manager.filter(workspace=workspace)
            names.update(rows.exclude(user_defined_id=None).values_list("pk", "user_defined_id"))
    found: dict[str, list[dict]] = {}
    for table in tables:
        model = models[table]
        columns = [
            f
            for f in model._meta.fields
            if f.column != "workspace_id" and not (f.primary_key and not f.is_relation)
        ]
        rows = []
        for record in model._default_manager.filter(workspace=workspace):
            row = {}
            for f in columns:
                value = getattr(record, f.attname)
                if f.is_relation and value is not None:
                    value = "ref:" + names.get(value, f"unnamed {f.related_model._meta.db_table}")
                row[f.column] = value
            rows.append(row)
        found[table] = sorted(rows, key=lambda r: sorted((k, repr(v)) for k, v in r.items()))
    return found
