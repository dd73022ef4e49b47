"""The less common templates, one small filled file each on top of the golden package:
the validator accepts it, the loader stores its values where the registry says.

A case is data only: the files to write (rows keyed by column key, written under the
template's own header) and the rows expected afterwards in the target tables.
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from immunoport.ingest.loader import load_package
from immunoport.schema.templates import MARKER_TEXT, SCHEMA_VERSION, templates
from immunoport.studies.registry import models_by_table
from immunoport.validation.validator import validate_package

GOLDEN = Path(__file__).resolve().parents[2] / "validation" / "tests" / "packages" / "valid"

Rows = list[dict[str, str]]


@dataclass(frozen=True)
class Expect:
    """One stored row of ``table``, found by ``where``, holding ``values``; its
    accession (when the table has one) starts with ``prefix``."""

    table: str
    where: dict[str, str]
    values: dict[str, object]
    prefix: str | None = None


@dataclass(frozen=True)
class Case:
    files: dict[str, Rows]
    expect: tuple[Expect, ...]
    counts: dict[str, int] = field(default_factory=dict)
    extra: dict[str, bytes] = field(default_factory=dict)  # other files of the package

    def __str__(self) -> str:
        return "+".join(self.files)


def write_template(folder: Path, file_name: str, rows: Rows) -> None:
    """``rows`` (column key -> value) as a filled ImmPort text template."""
    template = templates()[file_name]
    unknown = {k for row in rows for k in row} - {c.key for c in template.columns}
    assert not unknown, f"{file_name} has no columns {unknown}"
    lines = [
        f"{template.name}\tSchema Version {SCHEMA_VERSION}",
        MARKER_TEXT,
        *template.extra_header_lines,
        "\t".join(["Column Name", *template.header]),
        *("\t".join(["", *(row.get(c.key, "") for c in template.columns)]) for row in rows),
    ]
    (folder / file_name).write_text("\n".join(lines) + "\n")


# Rows of templates that several cases need.
EXPERIMENT = {
    "User Defined ID": "exp_other",
    "Name": "Other assay",
    "Measurement Technique": "ELISPOT",
    "Study ID": "flu_vax_2021",
    "Protocol ID(s)": "prot_serum",
}
LAB_TEST_PANEL = {
    "User Defined ID": "ltp_chem",
    "Name Reported": "Chemistry",
    "Study ID": "flu_vax_2021",
    "Protocol ID(s)": "prot_serum",
}
ASSESSMENT_PANEL = {
    "User Defined ID": "ap_vitals",
    "Study ID": "flu_vax_2021",
    "Name Reported": "Vital signs",
}
EXPSAMPLE = {
    "Experiment ID": "exp_other",
    "Reagent ID(s)": "rea_il6",
    "Treatment ID(s)": "trt_none",
}


def expsamples(technique: str, results: Rows) -> Rows:
    """Two expsamples of a new experiment of ``technique``, one result each."""
    return [
        {
            **EXPSAMPLE,
            "Expsample ID": f"es_x{n}",
            "Biosample ID": biosample,
            "Experiment Name": "Other assay",
            "Measurement Technique": technique,
            "Study ID": "flu_vax_2021",
            "Protocol ID(s)": "prot_serum",
            **result,
        }
        for n, (biosample, result) in enumerate(zip(("bs_1_d0", "bs_2_d0"), results, strict=True))
    ]


CASES = [
    Case(
        files={
            "adverseEvents.txt": [
                {
                    "User Defined ID": "ae_1",
                    "Subject ID": "sub_1",
                    "Study ID": "flu_vax_2021",
                    "Name Reported": "Headache",
                    "Severity Reported": "Mild",
                    "Outcome Reported": "Recovered",
                    "Relation To Study Treatment": "Possibly related",
                    "Start Study Day": "2",
                },
                {
                    "User Defined ID": "ae_2",
                    "Subject ID": "sub_2",
                    "Study ID": "flu_vax_2021",
                    "Name Reported": "Injection site pain",
                    "Severity Reported": "Moderate",
                    "Outcome Reported": "Recovered",
                    "Relation To Study Treatment": "Related",
                },
            ]
        },
        expect=(
            Expect(
                "adverse_event",
                {"user_defined_id": "ae_1"},
                {"severity_reported": "Mild", "name_reported": "Headache", "start_study_day": 2},
                prefix="AE",
            ),
            Expect("adverse_event", {"user_defined_id": "ae_2"}, {"severity_reported": "Moderate"}),
        ),
        counts={"adverse_event": 2},
    ),
    Case(
        files={
            "interventions.txt": [
                {
                    "User Defined ID": "cm_1",
                    "Subject ID": "sub_1",
                    "Study ID": "flu_vax_2021",
                    "Name Reported": "Paracetamol",
                    "Compound Name Reported": "Acetaminophen",
                    "Compound Role": "Concomitant Medication",
                    "Dose Reported": "500 mg",
                    "Start Day": "1",
                },
                {
                    "User Defined ID": "su_1",
                    "Subject ID": "sub_2",
                    "Study ID": "flu_vax_2021",
                    "Name Reported": "Tobacco",
                    "Compound Name Reported": "Nicotine",
                    "Compound Role": "Substance Use",
                    "Dose Reported": "10 per day",
                },
            ]
        },
        expect=(
            Expect(
                "intervention",
                {"user_defined_id": "cm_1"},
                {"compound_role": "Concomitant Medication", "dose_reported": "500 mg"},
                prefix="SM",
            ),
            Expect("intervention", {"user_defined_id": "su_1"}, {"compound_role": "Substance Use"}),
        ),
        counts={"intervention": 2},
    ),
    Case(
        files={
            "subjectAnimals.txt": [
                {
                    "Subject ID": "mouse_1",
                    "Arm Or Cohort ID": "arm_vaccine",
                    "Gender": "Female",
                    "Min Subject Age": "8",
                    "Max Subject Age": "8",
                    "Age Unit": "Weeks",
                    "Age Event": "Age at enrollment",
                    "Subject Location": "United States of America",
                    "Species": "Mus musculus",
                    "Strain": "C57BL/6",
                    "Exposure Process Reported": "vaccination",
                    "Exposure Material Reported": "inactivated influenza vaccine",
                },
                {
                    "Subject ID": "mouse_2",
                    "Arm Or Cohort ID": "arm_placebo",
                    "Gender": "Male",
                    "Min Subject Age": "10",
                    "Age Unit": "Weeks",
                    "Age Event": "Age at enrollment",
                    "Subject Location": "United States of America",
                    "Species": "Mus musculus",
                    "Strain": "BALB/c",
                    "Exposure Process Reported": "no exposure",
                },
            ]
        },
        expect=(
            Expect(
                "subject",
                {"user_defined_id": "mouse_1"},
                {"species": "Mus musculus", "strain": "C57BL/6", "gender": "Female"},
                prefix="SUB",
            ),
            Expect("subject", {"user_defined_id": "mouse_2"}, {"strain": "BALB/c"}),
            Expect(
                "arm_2_subject",
                {"subject__user_defined_id": "mouse_1"},
                {"arm__user_defined_id": "arm_vaccine", "min_subject_age": 8.0},
            ),
            Expect(
                "immune_exposure",
                {"subject__user_defined_id": "mouse_2"},
                {"exposure_process_reported": "no exposure"},
            ),
        ),
        counts={"subject": 4},
    ),
    Case(
        files={
            "assessmentpanel.txt": [ASSESSMENT_PANEL],
            "assessmentcomponent.txt": [
                {
                    "User Defined ID": "ac_1",
                    "Assessment Panel ID": "ap_vitals",
                    "Subject ID": "sub_1",
                    "Planned Visit ID": "pv_d0",
                    "Name Reported": "Body temperature",
                    "Study Day": "0",
                    "Result Value Reported": "37.2",
                    "Result Unit Reported": "C",
                },
                {
                    "User Defined ID": "ac_2",
                    "Assessment Panel ID": "ap_vitals",
                    "Subject ID": "sub_2",
                    "Planned Visit ID": "pv_d28",
                    "Name Reported": "Body temperature",
                    "Study Day": "28",
                    "Result Value Reported": "36.8",
                    "Result Unit Reported": "C",
                },
            ],
        },
        expect=(
            Expect(
                "assessment_panel",
                {"user_defined_id": "ap_vitals"},
                {"name_reported": "Vital signs", "study__user_defined_id": "flu_vax_2021"},
                prefix="AP",
            ),
            Expect(
                "assessment_component",
                {"user_defined_id": "ac_2"},
                {
                    "name_reported": "Body temperature",
                    "result_value_reported": "36.8",
                    "assessment_panel__user_defined_id": "ap_vitals",
                    "subject__user_defined_id": "sub_2",
                    "planned_visit__user_defined_id": "pv_d28",
                },
                prefix="AC",
            ),
        ),
        counts={"assessment_component": 2},
    ),
    Case(
        files={
            "assessments.txt": [
                {
                    "Subject ID": "sub_1",
                    "Assessment Panel ID": "ap_vitals",
                    "Study ID": "flu_vax_2021",
                    "Name Reported": "Vital signs",
                    "User Defined ID": "ac_1",
                    "Planned Visit ID": "pv_d0",
                    "Name Reported (result)": "Heart rate",
                    "Study Day": "0",
                    "Result Value Reported": "72",
                    "Result Unit Reported": "bpm",
                },
                {
                    "Subject ID": "sub_2",
                    "Assessment Panel ID": "ap_vitals",
                    "User Defined ID": "ac_2",
                    "Planned Visit ID": "pv_d28",
                    "Name Reported (result)": "Heart rate",
                    "Study Day": "28",
                    "Result Value Reported": "65",
                    "Result Unit Reported": "bpm",
                },
            ],
        },
        expect=(
            Expect(
                "assessment_panel",
                {"user_defined_id": "ap_vitals"},
                {"name_reported": "Vital signs", "study__user_defined_id": "flu_vax_2021"},
                prefix="AP",
            ),
            Expect(
                "assessment_component",
                {"user_defined_id": "ac_1"},
                {
                    "name_reported": "Heart rate",
                    "result_value_reported": "72",
                    "result_unit_reported": "bpm",
                    "assessment_panel__user_defined_id": "ap_vitals",
                    "subject__user_defined_id": "sub_1",
                },
                prefix="AC",
            ),
        ),
        counts={"assessment_panel": 1, "assessment_component": 2},
    ),
    Case(
        files={
            "labTestPanels.txt": [LAB_TEST_PANEL],
            "labTest_Results.txt": [
                {
                    "User Defined ID": "lt_1",
                    "Lab Test Panel ID": "ltp_chem",
                    "Biosample ID": "bs_1_d0",
                    "Name Reported": "Glucose",
                    "Result Value Reported": "5.4",
                    "Result Unit Reported": "mmol/L",
                },
                {
                    "User Defined ID": "lt_2",
                    "Lab Test Panel ID": "ltp_chem",
                    "Biosample ID": "bs_2_d0",
                    "Name Reported": "Glucose",
                    "Result Value Reported": "6.1",
                    "Result Unit Reported": "mmol/L",
                },
            ],
        },
        expect=(
            Expect(
                "lab_test_panel",
                {"user_defined_id": "ltp_chem"},
                {"name_reported": "Chemistry", "study__user_defined_id": "flu_vax_2021"},
                prefix="LP",
            ),
            Expect(
                "lab_test_panel_2_protocol",
                {"lab_test_panel__user_defined_id": "ltp_chem"},
                {"protocol__user_defined_id": "prot_serum"},
            ),
            Expect(
                "lab_test",
                {"user_defined_id": "lt_2"},
                {
                    "name_reported": "Glucose",
                    "result_value_reported": "6.1",
                    "result_unit_reported": "mmol/L",
                    "biosample__user_defined_id": "bs_2_d0",
                    "lab_test_panel__user_defined_id": "ltp_chem",
                },
                prefix="LT",
            ),
        ),
        counts={"lab_test": 2},
    ),
    Case(
        files={
            "labTests.txt": [
                {
                    "Biosample ID": "bs_1_d0",
                    "Lab Test Panel ID": "ltp_cbc",
                    "Study ID": "flu_vax_2021",
                    "Protocol ID(s)": "prot_serum",
                    "Name Reported": "Complete blood count",
                    "User Defined ID": "lt_wbc_1",
                    "Name Reported (result)": "WBC",
                    "Result Value Reported": "6.2",
                    "Result Unit Reported": "10^9/L",
                },
                {
                    "Biosample ID": "bs_2_d0",
                    "Lab Test Panel ID": "ltp_cbc",
                    "User Defined ID": "lt_wbc_2",
                    "Name Reported (result)": "WBC",
                    "Result Value Reported": "7.9",
                    "Result Unit Reported": "10^9/L",
                },
            ],
        },
        expect=(
            Expect(
                "lab_test_panel",
                {"user_defined_id": "ltp_cbc"},
                {"name_reported": "Complete blood count", "study__user_defined_id": "flu_vax_2021"},
                prefix="LP",
            ),
            Expect(
                "lab_test",
                {"user_defined_id": "lt_wbc_1"},
                {
                    "name_reported": "WBC",
                    "result_value_reported": "6.2",
                    "result_unit_reported": "10^9/L",
                    "biosample__user_defined_id": "bs_1_d0",
                    "lab_test_panel__user_defined_id": "ltp_cbc",
                },
                prefix="LT",
            ),
        ),
        counts={"lab_test_panel": 1, "lab_test": 2},
    ),
    Case(
        files={"experiments.txt": [EXPERIMENT]},
        expect=(
            Expect(
                "experiment",
                {"user_defined_id": "exp_other"},
                {
                    "name": "Other assay",
                    "measurement_technique": "ELISPOT",
                    "study__user_defined_id": "flu_vax_2021",
                },
                prefix="EXP",
            ),
            Expect(
                "experiment_2_protocol",
                {"experiment__user_defined_id": "exp_other"},
                {"protocol__user_defined_id": "prot_serum"},
            ),
        ),
    ),
    Case(
        files={
            "experimentSamples.ELISPOT.txt": expsamples(
                "ELISPOT",
                [
                    {
                        "Analyte Reported": "IFNG",
                        "Spot Number Reported": "120",
                        "Cell Number Reported": "200000",
                    },
                    {
                        "Analyte Reported": "IFNG",
                        "Spot Number Reported": "45",
                        "Cell Number Reported": "200000",
                    },
                ],
            )
        },
        expect=(
            Expect(
                "elispot_result",
                {"expsample__user_defined_id": "es_x0"},
                {
                    "analyte_reported": "IFNG",
                    "spot_number_reported": "120",
                    "subject__user_defined_id": "sub_1",
                    "arm__user_defined_id": "arm_vaccine",
                },
            ),
            Expect("expsample", {"user_defined_id": "es_x1"}, {}, prefix="ES"),
        ),
        counts={"elispot_result": 2},
    ),
    Case(
        files={
            "experimentSamples.HAI.txt": expsamples(
                "Hemagglutination Inhibition",
                [
                    {
                        "Virus Strain Reported": "A/California/7/2009",
                        "Value Reported": "40",
                        "Unit Reported": "titer",
                    },
                    {
                        "Virus Strain Reported": "A/California/7/2009",
                        "Value Reported": "160",
                        "Unit Reported": "titer",
                    },
                ],
            )
        },
        expect=(
            Expect(
                "hai_result",
                {"expsample__user_defined_id": "es_x1"},
                {
                    "virus_strain_reported": "A/California/7/2009",
                    "value_reported": "160",
                    "subject__user_defined_id": "sub_2",
                },
            ),
        ),
        counts={"hai_result": 2},
    ),
    Case(
        files={
            "experiments.txt": [EXPERIMENT],
            "controlSamples.txt": [
                {
                    "Control Sample ID": "cs_pos",
                    "Experiment ID": "exp_other",
                    "Source": "Positive control serum",
                    "Catalog ID": "PC-1",
                    "Dilution Factor": "1:100",
                    "Assay ID": "plate_1",
                    "ImmPort Template?": "No",
                },
                {
                    "Control Sample ID": "cs_neg",
                    "Experiment ID": "exp_other",
                    "Source": "Negative control serum",
                    "Catalog ID": "NC-1",
                    "Dilution Factor": "1:10",
                    "Assay ID": "plate_1",
                    "ImmPort Template?": "No",
                },
            ],
        },
        expect=(
            Expect(
                "control_sample",
                {"user_defined_id": "cs_pos"},
                {
                    "source": "Positive control serum",
                    "dilution_factor": "1:100",
                    "experiment__user_defined_id": "exp_other",
                },
                prefix="CS",
            ),
        ),
        counts={"control_sample": 2},
    ),
    Case(
        files={
            "experiments.txt": [EXPERIMENT],
            "standardCurves.txt": [
                {
                    "Standard Curve ID": "sc_1",
                    "Experiment ID": "exp_other",
                    "Formula": "4PL",
                    "Analyte Reported": "IL6",
                    "Lower Limit": "1.5",
                    "Lower Limit Unit": "pg/ml",
                    "Upper Limit": "1000",
                    "Upper Limit Unit": "pg/ml",
                    "Assay ID": "plate_1",
                    "ImmPort Template?": "No",
                },
                {
                    "Standard Curve ID": "sc_2",
                    "Experiment ID": "exp_other",
                    "Formula": "5PL",
                    "Analyte Reported": "TNFA",
                    "Lower Limit": "2",
                    "Lower Limit Unit": "pg/ml",
                    "Upper Limit": "500",
                    "Upper Limit Unit": "pg/ml",
                    "Assay ID": "plate_1",
                    "ImmPort Template?": "No",
                },
            ],
        },
        expect=(
            Expect(
                "standard_curve",
                {"user_defined_id": "sc_1"},
                {
                    "formula": "4PL",
                    "analyte_reported": "IL6",
                    "lower_limit": "1.5",
                    "experiment__user_defined_id": "exp_other",
                },
                prefix="SC",
            ),
        ),
        counts={"standard_curve": 2},
    ),
]


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    """Stored files go to a folder of the test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "storage")},
        },
    }


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_filled_template_loads_into_its_tables(workspace, tmp_path, case):
    folder = tmp_path / "package"
    shutil.copytree(GOLDEN, folder)
    for file_name, rows in case.files.items():
        write_template(folder, file_name, rows)
    for name, content in case.extra.items():
        (folder / name).write_bytes(content)
    report = validate_package(folder)
    assert report.is_valid, report.findings.select(
        "severity", "file", "line", "column", "value", "message"
    ).rows()

    load_package(folder, workspace)

    models = models_by_table()
    for expect in case.expect:
        model = models[expect.table]
        row = model.objects.filter(workspace=workspace, **expect.where)
        fields = list(expect.values)
        stored = row.values("pk", *fields).get()
        assert {f: stored[f] for f in fields} == expect.values, expect
        if expect.prefix:
            assert stored["pk"].startswith(expect.prefix)
    for table, n in case.counts.items():
        assert models[table].objects.filter(workspace=workspace).count() == n, table
