"""The less common templates, one small filled file each on top of the golden package:
the validator accepts it, the loader stores its values where the registry says.

A case is data only: the files to write (rows keyed by column key, written under the
template's own header) and the rows expected afterwards in the target tables.
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from immunoport.ingest.loader import load_package
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.schema.filled import tabular_text
from immunoport.schema.templates import templates
from immunoport.studies.registry import models_by_table
from immunoport.validation.validator import validate_package

GOLDEN = Path(__file__).resolve().parents[2] / "validation" / "tests" / "packages" / "valid"

Rows = list[dict[str, str]]

# The smallest FCS 3.0 file: a header and a TEXT segment naming one parameter.
FCS = (
    b"FCS3.0    " + b"%8d%8d%8d%8d%8d%8d" % (58, 120, 0, 0, 0, 0) + b"|$TOT|0|$PAR|1|$P1N|FSC-A|"
).ljust(200, b" ")


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
    broken: str | None = None  # why the loader cannot load it yet (an xfail)
    extra: dict[str, bytes] = field(default_factory=dict)  # other files of the package

    def __str__(self) -> str:
        return "+".join([*self.files, *(n for n in self.extra if n.endswith(".txt"))])


def write_template(folder: Path, file_name: str, rows: Rows) -> None:
    """``rows`` (column key -> value) as a filled ImmPort text template."""
    template = templates()[file_name]
    unknown = {k for row in rows for k in row} - {c.key for c in template.columns}
    assert not unknown, f"{file_name} has no columns {unknown}"
    frame = pl.DataFrame(
        {c.key: [row.get(c.key, "") for row in rows] for c in template.columns},
        schema={c.key: pl.String for c in template.columns},
    )
    (folder / file_name).write_text(tabular_text(template, frame))


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

CASES += [
    Case(
        files={
            "experimentSamples.Neutralizing_Antibody_Titer.txt": expsamples(
                "Virus Neutralization",
                [
                    {
                        "Virus Strain Reported": "B/Victoria/2/87",
                        "Value Reported": "80",
                        "Unit Reported": "titer",
                    },
                    {
                        "Virus Strain Reported": "B/Victoria/2/87",
                        "Value Reported": "320",
                        "Unit Reported": "titer",
                    },
                ],
            )
        },
        expect=(
            Expect(
                "neut_ab_titer_result",
                {"expsample__user_defined_id": "es_x0"},
                {
                    "virus_strain_reported": "B/Victoria/2/87",
                    "value_reported": "80",
                    "subject__user_defined_id": "sub_1",
                },
            ),
        ),
        counts={"neut_ab_titer_result": 2},
    ),
    Case(
        files={
            "experimentSamples.QRT-PCR.txt": expsamples(
                "Q-PCR",
                [
                    {
                        "Gene Symbol Name": "IFNG",
                        "Value Reported": "2.5",
                        "Unit Reported": "fold change",
                        "Gene ID": "3458",
                    },
                    {
                        "Gene Symbol Name": "IFNG",
                        "Value Reported": "0.8",
                        "Unit Reported": "fold change",
                        "Gene ID": "3458",
                    },
                ],
            )
        },
        expect=(
            Expect(
                "pcr_result",
                {"expsample__user_defined_id": "es_x1"},
                {"value_reported": "0.8", "unit_reported": "fold change", "gene_id": "3458"},
            ),
        ),
        counts={"pcr_result": 2},
    ),
    Case(
        files={
            "reagents.Flow_Cytometry.txt": [
                {
                    "User Defined ID": "rea_cd4",
                    "Manufacturer": "Demo Reagents",
                    "Catalog Number": "FC-4",
                    "Analyte Reported": "CD4",
                    "Clone Name": "RPA-T4",
                    "Reporter Name": "FITC",
                },
                {
                    "User Defined ID": "rea_cd8",
                    "Manufacturer": "Demo Reagents",
                    "Catalog Number": "FC-8",
                    "Analyte Reported": "CD8",
                    "Clone Name": "SK1",
                    "Reporter Name": "PE",
                },
            ],
            "experimentSamples.Flow_Cytometry.txt": [
                {
                    **row,
                    "Reagent ID(s)": "rea_cd4;rea_cd8",
                    ".Fcs Result File": f"tube{n}.fcs",
                    "Compensation Or Control File Name(s)": "compensation.fcs",
                }
                for n, row in enumerate(expsamples("Flow Cytometry", [{}, {}]))
            ],
        },
        extra={"tube0.fcs": FCS, "tube1.fcs": FCS, "compensation.fcs": FCS},
        expect=(
            Expect(
                "reagent",
                {"user_defined_id": "rea_cd8"},
                {"analyte_reported": "CD8", "clone_name": "SK1", "reporter_name": "PE"},
                prefix="ESR",
            ),
            Expect(
                "expsample_2_file_info",
                {
                    "expsample__user_defined_id": "es_x1",
                    "file_info__original_file_name": "tube1.fcs",
                },
                {"file_info__detail": "experimentSamples.Flow_Cytometry.txt: .Fcs Result File"},
            ),
            Expect(
                "experiment",
                {"user_defined_id": "exp_other"},
                {"measurement_technique": "Flow Cytometry"},
            ),
        ),
        counts={"expsample_2_reagent": 3 + 4, "expsample_2_file_info": 4, "file_info": 1 + 3},
    ),
    Case(
        files={
            "Reagent_Sets.txt": [
                {
                    "User Defined ID": "set_1",
                    "Reagent ID(s)": "rea_il6",
                    "Description": "The cytokine kit",
                    "Name": "Cytokines",
                    "Type": "ELISA",
                }
            ]
        },
        expect=(
            Expect("reagent", {"user_defined_id": "set_1"}, {"name": "Cytokines"}, prefix="ESR"),
            Expect(
                "reagent_set_2_reagent",
                {"reagent__user_defined_id": "rea_il6"},
                {"reagent_set__user_defined_id": "set_1"},
            ),
        ),
    ),
    Case(
        files={
            "publicRepositories.txt": [
                {
                    "Expsample ID": "es_1_d0",
                    "Repository Name": "GEO",
                    "Repository Accession": "GSM1",
                },
                {
                    "Expsample ID": "es_2_d0",
                    "Repository Name": "GEO",
                    "Repository Accession": "GSM2",
                },
            ]
        },
        expect=(
            Expect(
                "expsample_public_repository",
                {"expsample__user_defined_id": "es_2_d0"},
                {"repository_name": "GEO", "repository_accession": "GSM2"},
            ),
        ),
        counts={"expsample_public_repository": 2},
    ),
    Case(
        files={
            "HAI_Results.txt": [
                {
                    "Expsample ID": "es_1_d0",
                    "Virus Strain Reported": "A/Texas/50/2012",
                    "Value Reported": "20",
                    "Unit Reported": "titer",
                },
                {
                    "Expsample ID": "es_2_d0",
                    "Virus Strain Reported": "A/Texas/50/2012",
                    "Value Reported": "640",
                    "Unit Reported": "titer",
                },
            ]
        },
        expect=(
            Expect(
                "hai_result",
                {"expsample__user_defined_id": "es_2_d0"},
                {
                    "value_reported": "640",
                    "biosample__user_defined_id": "bs_2_d0",
                    "subject__user_defined_id": "sub_2",
                    "arm__user_defined_id": "arm_placebo",
                },
            ),
            # the results file itself is linked to each expsample it holds results of
            Expect(
                "expsample_2_file_info",
                {"expsample__user_defined_id": "es_1_d0"},
                {"file_info__original_file_name": "HAI_Results.txt"},
            ),
        ),
        counts={"hai_result": 2, "expsample_2_file_info": 2},
    ),
]

STUDY_DESIGN_EDIT = b"""study_design_edit\tSchema Version 3.36
Please do not delete or edit this column
Column Name

study_link
Study ID\tName\tValue
flu_vax_2021\tTrial registry\thttps://example.org/trial/1
flu_vax_2021\tProject page\thttps://example.org/project

study_pubmed
Study ID\tPubmed ID\tDOI\tTitle\tJournal\tYear\tMonth\tIssue\tPages\tAuthors
flu_vax_2021\t12345678\t\tAntibodies after vaccination\tJ Demo\t2022\t\t\t\tCurie M

planned_visit
Study ID\tUser Defined ID\tName\tOrder Number\tMin Start Day\tMax Start Day\tStart Rule\tEnd Rule
flu_vax_2021\tpv_d7\tDay 7\t3\t7\t8\t\t
"""

CASES += [
    Case(
        files={},
        extra={"study_design_edit.txt": STUDY_DESIGN_EDIT},
        expect=(
            Expect(
                "study_link",
                {"name": "Project page"},
                {"value": "https://example.org/project", "study__user_defined_id": "flu_vax_2021"},
            ),
            Expect(
                "study_pubmed",
                {"pubmed_id": "12345678"},
                {"title": "Antibodies after vaccination", "study__user_defined_id": "flu_vax_2021"},
            ),
            Expect(
                "planned_visit",
                {"user_defined_id": "pv_d7"},
                {"name": "Day 7", "order_number": 3, "study__user_defined_id": "flu_vax_2021"},
                prefix="PV",
            ),
        ),
        counts={"study_link": 2, "planned_visit": 3, "study": 1},
    ),
    Case(
        files={
            "reagents.HAI.txt": [
                {"User Defined ID": "rea_hai", "Manufacturer": "Demo", "Catalog Number": "H-1"}
            ],
            "experimentSamples.MBAA.txt": [
                {
                    **row,
                    "Reagent ID(s)": "rea_il6",
                    "ImmPort Template?": "No",
                    "Assay ID": "plate_1",
                    "Dilution Factor": "2",
                    "Plate Type": "Not Specified",
                }
                for row in expsamples("Luminex xMAP", [{}, {}])
            ],
        },
        expect=(
            Expect("reagent", {"user_defined_id": "rea_hai"}, {"catalog_number": "H-1"}),
            Expect(
                "expsample_mbaa_detail",
                {"expsample__user_defined_id": "es_x1"},
                {"assay_id": "plate_1", "dilution_factor": "2"},
            ),
        ),
        counts={"expsample_mbaa_detail": 2},
    ),
    Case(
        files={
            "PCR_Results.txt": [
                {
                    "Expsample ID": "es_1_d0",
                    "Gene Symbol Name": "IL6",
                    "Value Reported": "1.5",
                    "Unit Reported": "fold change",
                },
                {
                    "Expsample ID": "es_2_d0",
                    "Gene Symbol Name": "IL6",
                    "Value Reported": "3.5",
                    "Unit Reported": "fold change",
                },
            ]
        },
        expect=(
            Expect(
                "pcr_result",
                {"expsample__user_defined_id": "es_2_d0"},
                {"value_reported": "3.5", "subject__user_defined_id": "sub_2"},
            ),
        ),
        counts={"pcr_result": 2},
    ),
    Case(
        files={
            "FCM_Derived_data.txt": [
                {
                    "Expsample ID": "es_1_d0",
                    "Population Name Reported": "CD4+ T cells",
                    "Gating Definition Reported": "CD3+CD4+",
                    "Population Statistic (count, percentile, etc)": "35.2",
                    "Population Stat Unit Reported": "% of CD3+",
                    "Workspace File": "gating.wsp",
                },
                {
                    "Expsample ID": "es_2_d0",
                    "Population Name Reported": "CD4+ T cells",
                    "Gating Definition Reported": "CD3+CD4+",
                    "Population Statistic (count, percentile, etc)": "41.0",
                    "Population Stat Unit Reported": "% of CD3+",
                    "Workspace File": "gating.wsp",
                },
            ]
        },
        extra={"gating.wsp": b"<Workspace/>"},
        expect=(
            Expect(
                "fcs_analyzed_result",
                {"expsample__user_defined_id": "es_2_d0"},
                {
                    "population_name_reported": "CD4+ T cells",
                    "population_statistic_reported": "41.0",
                    "subject__user_defined_id": "sub_2",
                },
            ),
        ),
        counts={"fcs_analyzed_result": 2},
    ),
    Case(
        files={
            "HLA_Typing.txt": [
                {
                    "Expsample ID": "es_1_d0",
                    "Ancestral Population": "Europe",
                    "HLA-A Allele 1": "A*02:01",
                    "HLA-A Allele 2": "A*01:01",
                }
            ]
        },
        expect=(
            Expect(
                "hla_typing_result",
                {"expsample__user_defined_id": "es_1_d0"},
                {"allele_1": "A*02:01", "allele_2": "A*01:01"},
            ),
        ),
        broken="the registry maps every locus's alleles to hla_typing_result.allele_1/2 "
        "and gives neither locus_name nor result_set_id: one row per locus is not derivable",
    ),
]


def results(
    table: str,
    rows: Rows,
    expect: dict[str, object],
    broken: str | None = None,
    where: dict[str, str] | None = None,
    count: int = 2,
) -> dict:
    """A standalone result file's rows for the golden es_1_d0 and es_2_d0, and what the
    second one's result holds (besides what it inherits from its biosample)."""
    ids = ({"Expsample ID": "es_1_d0"}, {"Expsample ID": "es_2_d0"})
    return {
        "broken": broken,
        "count": count,
        "rows": [{**i, **row} for i, row in zip(ids, rows, strict=True)],
        "expect": Expect(
            table,
            {"expsample__user_defined_id": "es_2_d0", **(where or {})},
            {
                **expect,
                "subject__user_defined_id": "sub_2",
                "biosample__user_defined_id": "bs_2_d0",
            },
        ),
    }


RESULT_FILES = {
    "ELISPOT_Results.txt": results(
        "elispot_result",
        [
            {
                "Analyte Reported": "IL4",
                "Spot Number Reported": "12",
                "Cell Number Reported": "1e5",
            },
            {
                "Analyte Reported": "IL4",
                "Spot Number Reported": "30",
                "Cell Number Reported": "1e5",
            },
        ],
        {"analyte_reported": "IL4", "spot_number_reported": "30"},
    ),
    "Virus_Neutralization_Results.txt": results(
        "neut_ab_titer_result",
        [
            {"Virus Strain Reported": "H1N1", "Value Reported": "40", "Unit Reported": "titer"},
            {"Virus Strain Reported": "H1N1", "Value Reported": "80", "Unit Reported": "titer"},
        ],
        {"virus_strain_reported": "H1N1", "value_reported": "80"},
    ),
    "KIR_Typing.txt": results(
        "kir_typing_result",
        [
            {"KIR Haplotype": "A/A", "Allele 1": "KIR2DL1*001"},
            {"KIR Haplotype": "A/B", "Allele 1": "KIR2DL1*003", "Allele 2": "KIR2DS4*001"},
        ],
        {"kir_haplotype": "A/B", "allele_2": "KIR2DS4*001"},
    ),
    "RNA_SEQ_Results.txt": results(
        "rna_seq_result",
        [
            {
                "Reference Transcript ID": f"ENST0000000{n}",
                "Repository Name": "Ensembl",
                "Transcript Type Reported": "protein_coding",
                "Result Unit Reported": "TPM",
                "Value Reported": value,
            }
            for n, value in ((1, "12.0"), (2, "3.25"))
        ],
        {"reference_transcript_id": "ENST00000002", "value_reported": "3.25"},
        broken="rna_seq_result is not a table of the DR34 data model the study models are "
        "generated from (immport-data-model.json lists it as dropped): its rows are not loaded",
    ),
    "ELISA_Results.txt": results(
        "elisa_result",
        [
            {"Analyte Reported": "IL10", "Value Reported": "4.5", "Unit Reported": "pg/ml"},
            {"Analyte Reported": "IL10", "Value Reported": "7.25", "Unit Reported": "pg/ml"},
        ],
        {"value_reported": "7.25", "unit_reported": "pg/ml"},
        where={"analyte_reported": "IL10"},
        count=4 + 2,  # and the golden package's
    ),
    "Mass_Spectrometry_Metabolomic_Results.txt": results(
        "mass_spectrometry_result",
        [
            {
                "Intensity": intensity,
                "Retention Time": "3.2",
                "Retention Time Unit": "Minutes",
                "M/Z Ratio": "180.06",
                "Z (Charge)": "1",
                "Metabolite Name": "glucose",
            }
            for intensity in ("1000", "2500")
        ],
        {"intensity": 2500.0, "metabolite_name_reported": "glucose"},
    ),
    "Mass_Spectrometry_Proteomic_Results.txt": results(
        "mass_spectrometry_result",
        [
            {"Intensity": "10", "Protein Name Reported": "Albumin"},
            {"Intensity": "20", "Protein Name Reported": "Albumin"},
        ],
        {"intensity": 20.0, "protein_name_reported": "Albumin"},
    ),
}

CASES += [
    Case(
        files={name: spec["rows"]},
        expect=(
            spec["expect"],
            Expect(
                "expsample_2_file_info",
                {"expsample__user_defined_id": "es_1_d0"},
                {"file_info__original_file_name": name},
            ),
        ),
        counts={spec["expect"].table: spec["count"]},
        broken=spec.get("broken"),
    )
    for name, spec in RESULT_FILES.items()
]

CASES += [
    Case(
        files={
            "CyTOF_Derived_data.txt": [
                {
                    "Expsample ID": es,
                    "Population Name Reported": "B cells",
                    "Gating Definition Reported": "CD19+",
                    "Population Statistic (count, percentile, etc)": value,
                    "Population Stat Unit Reported": "count",
                    "Workspace File": "cytof.wsp",
                }
                for es, value in (("es_1_d0", "1200"), ("es_2_d0", "950"))
            ]
        },
        extra={"cytof.wsp": b"<Workspace/>"},
        expect=(
            Expect(
                "fcs_analyzed_result",
                {"expsample__user_defined_id": "es_2_d0"},
                {"population_statistic_reported": "950", "arm__user_defined_id": "arm_placebo"},
            ),
            Expect(
                "expsample_2_file_info",
                {"expsample__user_defined_id": "es_2_d0"},
                {"file_info__original_file_name": "cytof.wsp"},
            ),
        ),
        counts={"fcs_analyzed_result": 2, "expsample_2_file_info": 2},
    ),
    Case(
        files={
            "MBAA_Results.txt": [
                {
                    "Source ID": es,
                    "Source Type": "EXPSAMPLE",
                    "Assay ID": "plate_1",
                    "Analyte Reported": "IL6",
                    "MFI": mfi,
                    "Concentration Value Reported": "12",
                    "Concentration Unit Reported": "pg/ml",
                }
                for es, mfi in (("es_x0", "800"), ("es_x1", "650"))
            ],
            "experimentSamples.MBAA.txt": [
                {
                    **row,
                    "ImmPort Template?": "Yes",
                    "Result File Name": "MBAA_Results.txt",
                    "Assay ID": "plate_1",
                    "Dilution Factor": "2",
                    "Plate Type": "Not Specified",
                }
                for row in expsamples("Luminex xMAP", [{}, {}])
            ],
        },
        expect=(
            Expect(
                "mbaa_result",
                {"source_accession__isnull": False, "mfi": "650"},
                {"analyte_reported": "IL6", "source_type": "EXPSAMPLE"},
            ),
        ),
        broken="the registry's reference for 'Source ID' names no table ('expsample | "
        "control_sample | standard_curve (chosen by the Source Type value ...)'), so the "
        "validator finds no source, and it maps the column to nothing: the loader cannot "
        "fill mbaa_result.source_accession or the result's experiment",
    ),
    Case(
        files={
            "experimentSamples.Virus_Neutralization.txt": expsamples(
                "Virus Neutralization",
                [
                    {
                        "Virus Strain Reported": "SARS-CoV-2",
                        "Value Reported": v,
                        "Unit Reported": "IC50",
                    }
                    for v in ("120", "480")
                ],
            )
        },
        expect=(
            Expect(
                "neut_ab_titer_result",
                {"expsample__user_defined_id": "es_x1"},
                {
                    "value_reported": "480",
                    "unit_reported": "IC50",
                    "subject__user_defined_id": "sub_2",
                },
            ),
        ),
        counts={"neut_ab_titer_result": 2},
    ),
    Case(
        files={
            "immuneExposure.txt": [
                {
                    "Subject ID": "sub_2",
                    "Arm Or Cohort ID": "arm_placebo",
                    "Exposure Process Reported": "vaccination",
                    "Exposure Material Reported": "inactivated influenza vaccine",
                }
            ]
        },
        expect=(
            Expect(
                "immune_exposure",
                {"subject__user_defined_id": "sub_2", "exposure_process_reported": "vaccination"},
                {
                    "exposure_material_preferred": "inactivated influenza vaccine",
                    "arm__user_defined_id": "arm_placebo",
                },
            ),
        ),
    ),
    Case(
        files={
            "experimentSamples.RNA_Sequencing.txt": [
                {**row, "ImmPort Template?": "No", "Repository Name": "GEO", **repository}
                for row, repository in zip(
                    expsamples("RNA sequencing", [{}, {}]),
                    ({"Repository Accession": "GSM11"}, {"Repository Accession": "GSM12"}),
                    strict=True,
                )
            ]
        },
        expect=(
            Expect(
                "expsample_public_repository",
                {"expsample__user_defined_id": "es_x1"},
                {"repository_name": "GEO", "repository_accession": "GSM12"},
            ),
        ),
        counts={"expsample_public_repository": 2},
    ),
    Case(
        files={
            "experimentSamples.Other.txt": [
                {**row, "Result File Name": "other.csv"} for row in expsamples("Other", [{}, {}])
            ]
        },
        extra={"other.csv": b"a,b\n1,2\n"},
        expect=(
            Expect(
                "expsample_2_file_info",
                {"expsample__user_defined_id": "es_x1"},
                {"file_info__original_file_name": "other.csv"},
            ),
            Expect(
                "experiment", {"user_defined_id": "exp_other"}, {"measurement_technique": "Other"}
            ),
        ),
        counts={"expsample": 5, "expsample_2_biosample": 5},
    ),
]


# Every reagent template is the reagent table with its kind's columns.
REAGENT_KINDS = [
    "Array",
    "ELISPOT",
    "MBAA",
    "CyTOF",
    "Neutralizing_Antibody_Titer",
    "PCR",
    "Sequencing",
    "Virus_Neutralization",
    "HLA_Typing",
    "KIR_Typing",
    "Other",
]
CASES += [
    Case(
        files={
            f"reagents.{kind}.txt": [
                {
                    "User Defined ID": f"rea_{n}",
                    "Manufacturer": "Demo Reagents",
                    "Catalog Number": f"{kind}-{n}",
                    **(
                        {"Analyte Reported": "IL2"}
                        if "Analyte Reported" in templates()[f"reagents.{kind}.txt"].header
                        else {}
                    ),
                    **(
                        {"Clone Name": "MQ1", "Reporter Name": "APC"}
                        if "Clone Name" in templates()[f"reagents.{kind}.txt"].header
                        else {}
                    ),
                }
                for n in (1, 2)
            ]
        },
        expect=(
            Expect(
                "reagent",
                {"user_defined_id": "rea_2"},
                {"manufacturer": "Demo Reagents", "catalog_number": f"{kind}-2"},
                prefix="ESR",
            ),
        ),
        counts={"reagent": 3},
    )
    for kind in REAGENT_KINDS
]

# Expsample templates whose results are files: (technique, the file columns to fill).
FILE_EXPSAMPLES = {
    "CYTOF": ("CyTOF", ["Result File Name"]),
    "Gene_Expression_Array": ("DNA microarray", ["Additional Result File Names"]),
    "Genotyping_Array": ("SNP microarray", ["Additional Result File Names"]),
    "HLA": ("HLA Typing", ["Result File Name"]),
    "KIR": ("KIR Typing", ["Result File Name"]),
    "Image_Histology": ("Histopathology", ["Result File Name"]),
    "Mass_Spectrometry_Metabolomics": ("LC_MS", ["Result File Name"]),
    "Mass_Spectrometry_Proteomics": (
        "MS_MS",
        ["Result File Name", "Protein Sequence Database File Name"],
    ),
}
CASES += [
    Case(
        files={
            f"experimentSamples.{kind}.txt": [
                {
                    **row,
                    **(
                        {"ImmPort Template?": "No"}
                        if "ImmPort Template?"
                        in templates()[f"experimentSamples.{kind}.txt"].header
                        else {}
                    ),
                    **dict.fromkeys(columns, f"result_{n}.dat"),
                }
                for n, row in enumerate(expsamples(technique, [{}, {}]))
            ]
        },
        extra={"result_0.dat": b"0", "result_1.dat": b"1"},
        expect=(
            Expect(
                "expsample_2_file_info",
                {
                    "expsample__user_defined_id": "es_x1",
                    "file_info__original_file_name": "result_1.dat",
                },
                {"result_schema": "OTHER"},
            ),
            Expect(
                "experiment", {"user_defined_id": "exp_other"}, {"measurement_technique": technique}
            ),
            Expect(
                "expsample_2_biosample",
                {"expsample__user_defined_id": "es_x1"},
                {"biosample__user_defined_id": "bs_2_d0"},
            ),
        ),
        counts={"expsample": 5},
    )
    for kind, (technique, columns) in FILE_EXPSAMPLES.items()
]


@pytest.fixture(autouse=True)
def _files(own_storage):
    """Every test here stores its files in a folder of its own."""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(reason=c.broken, strict=True)) if c.broken else c
        for c in CASES
    ],
    ids=str,
)
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


@pytest.mark.django_db
def test_a_result_file_loaded_again_replaces_its_results_and_link(workspace, tmp_path):
    folder = tmp_path / "package"
    shutil.copytree(GOLDEN, folder)
    spec = RESULT_FILES["ELISPOT_Results.txt"]
    write_template(folder, "ELISPOT_Results.txt", spec["rows"])
    load_package(folder, workspace)
    load_package(folder, workspace)

    models = models_by_table()
    assert models["elispot_result"].objects.filter(workspace=workspace).count() == 2
    links = models["expsample_2_file_info"].objects.filter(workspace=workspace)
    assert sorted(links.values_list("file_info__original_file_name", flat=True)) == [
        "ELISPOT_Results.txt",
        "ELISPOT_Results.txt",
    ]
    # the first load's copy of the file is no longer recorded
    infos = models["file_info"].objects.filter(original_file_name="ELISPOT_Results.txt")
    assert infos.count() == 1
