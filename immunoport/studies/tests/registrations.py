"""A complete study as the wizard's steps take it, shared by the wizard's tests."""

from django.core.files.uploadedfile import SimpleUploadedFile

from immunoport.studies import registration, wizard
from immunoport.studies.drafts import StudyDraft

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
