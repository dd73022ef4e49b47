"""The privacy layer: every rule fed rows designed to break it."""

import datetime
import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunoport.releases.privacy import (
    PUBLIC_DATES,
    flag_free_text,
    public_tables,
)
from immunoport.schema.reference import tables

DAY = datetime.date(2021, 3, 4)


def public(table: str, **columns) -> pl.DataFrame:
    return public_tables({table: pl.DataFrame(columns)})[table]


def subjects(units, minimum, maximum, **more) -> pl.DataFrame:
    n = len(units)
    return public(
        "arm_2_subject",
        arm_accession=["ARM1"] * n,
        subject_accession=[f"SUB{i}" for i in range(n)],
        age_unit=pl.Series(units, dtype=pl.String),
        min_subject_age=pl.Series(minimum, dtype=pl.Float64),
        max_subject_age=pl.Series(maximum, dtype=pl.Float64),
        **more,
    )


# --- 1. user-defined IDs and workspaces -------------------------------------------


def test_user_defined_ids_and_workspaces_are_dropped():
    out = public(
        "subject",
        subject_accession=["SUB1"],
        user_defined_id=["patient-007"],
        workspace_id=[3],
        arm_user_defined_id=["arm-a"],
        lab_workspace_id=[4],
        gender=["Female"],
    )
    assert out.columns == ["subject_accession", "gender"]


def test_a_table_outside_the_model_loses_them_too():
    out = public("notes", notes_accession=["N1"], user_defined_id=["x"], workspace_id=[1])
    assert out.columns == ["notes_accession"]


# --- 2. calendar dates --------------------------------------------------------------


def test_biosample_and_measure_dates_are_dropped():
    out = public_tables(
        {
            "biosample": pl.DataFrame({"biosample_accession": ["BS1"], "collected_on": [DAY]}),
            "subject_measure_result": pl.DataFrame(
                {"subject_measure_res_accession": ["SMR1"], "year_of_measure": [DAY]}
            ),
        }
    )
    assert out["biosample"].columns == ["biosample_accession"]
    assert out["subject_measure_result"].columns == ["subject_measure_res_accession"]


def test_a_date_typed_column_in_the_model_is_dropped_even_as_text():
    out = public(
        "subject_measure_result",
        subject_measure_res_accession=["SMR1"],
        year_of_measure=["2021-03-04"],
    )
    assert "year_of_measure" not in out.columns


def test_study_grant_and_release_dates_stay():
    frames = {
        "study": pl.DataFrame(
            {
                "study_accession": ["SDY1"],
                "actual_start_date": [DAY],
                "actual_completion_date": [DAY],
                "initial_data_release_date": [DAY],
                "latest_data_release_date": [DAY],
                "created": [datetime.datetime(2021, 3, 4, 5, 6)],  # stored, not ImmPort's
            }
        ),
        "study_data_release": pl.DataFrame(
            {"study_accession": ["SDY1"], "data_release_version": [1], "data_release_date": [DAY]}
        ),
        "contract_grant": pl.DataFrame(
            {"contract_grant_id": [1], "start_date": [DAY], "end_date": [DAY]}
        ),
        "program": pl.DataFrame({"program_id": [1], "start_date": [DAY], "end_date": [DAY]}),
    }
    out = public_tables(frames)
    assert out["study"].columns == frames["study"].columns[:-1]
    assert out["study"]["actual_start_date"].to_list() == [DAY]
    for table in ("study_data_release", "contract_grant", "program"):
        assert out[table].equals(frames[table])


def test_text_is_not_blanket_nulled_for_dates():
    out = public("biosample", biosample_accession=["BS1"], description=["drawn 2021-03-04"])
    assert out["description"].to_list() == ["drawn 2021-03-04"]


# --- 3. locations -------------------------------------------------------------------


def test_subject_location_keeps_only_countries_and_states():
    places = [
        "12 Main Street, Boston MA 02115",
        "Boston",
        "02115",
        "Massachusetts",
        "massachusetts",
        "us: massachusetts",
        " Canada ",
        "Georgia",
        "Other",
        None,
    ]
    out = subjects([None] * len(places), [1.0] * len(places), [2.0] * len(places),
                   subject_location=places)  # fmt: skip
    assert out["subject_location"].to_list() == [
        None,
        None,
        None,
        "US: Massachusetts",
        "US: Massachusetts",
        "US: Massachusetts",
        "Canada",
        "Georgia",  # the country comes first
        "Other",
        None,
    ]


def test_anatomical_locations_stay():
    out = public(
        "adverse_event",
        adverse_event_accession=["AE1"],
        location_of_reaction_reported=["left deltoid"],
        location_of_reaction_preferred=["Deltoid"],
    )
    assert out.row(0) == ("AE1", "left deltoid", "Deltoid")


def test_other_geography_columns_go():
    out = public(
        "contacts",
        contacts_accession=["C1"],
        zip_code=["02115"],
        city=["Boston"],
        home_address=["12 Main Street"],
        county=["Suffolk"],
        site_location=["Boston"],
        clinic_location=[2115],
        country=["Canada"],
    )
    assert out.columns == ["contacts_accession", "site_location", "clinic_location", "country"]
    assert out.row(0) == ("C1", None, None, "Canada")


# --- 4. ages ------------------------------------------------------------------------


def test_numeric_ages_are_capped_in_years():
    out = subjects(
        ["Years", "Years", "Years", "Years", "Months", "Days", None, "Not Specified", "Weeks"],
        [1.0, 1.0, 1.0, 1.0, 1000.0, 10.0, 1.0, 95.0, 4000.0],
        [89.0, 89.5, 90.0, 120.0, 1200.0, 40000.0, 95.0, 95.0, 4000.0],
    )
    assert out["max_subject_age"].to_list() == [
        89.0,
        90.0,
        90.0,
        90.0,
        90.0,
        90.0,
        90.0,
        90.0,
        4000.0,
    ]
    assert out["age_unit"].to_list() == [
        "Years", "Years", "Years", "Years", "Years", "Years", "Years", "Years", "Weeks",
    ]  # fmt: skip
    # the row's other age follows its unit into years
    assert out["min_subject_age"][4] == pytest.approx(1000 / 12)
    assert out["min_subject_age"][5] == pytest.approx(10 / 365.25)
    assert out["min_subject_age"][7] == 90.0


def test_months_under_the_limit_stay_as_they_are():
    out = subjects(["Months"], [12.0], [1068.0])  # 89 years exactly
    assert out.row(0)[2:] == ("Months", 12.0, 1068.0)


def test_integer_ages_keep_their_dtype():
    frame = pl.DataFrame(
        {"assessment_component_accession": ["AC1", "AC2"], "age_at_onset_preferred": [95, 40],
         "age_at_onset_unit_preferred": ["Years", "Years"]}
    )  # fmt: skip
    out = public_tables({"assessment_component": frame})["assessment_component"]
    assert out["age_at_onset_preferred"].dtype == pl.Int64
    assert out["age_at_onset_preferred"].to_list() == [90, 40]


def test_age_at_onset_uses_its_own_unit():
    out = public(
        "assessment_component",
        assessment_component_accession=["AC1", "AC2"],
        age_at_onset_preferred=[1200.0, 1200.0],
        age_at_onset_unit_preferred=["Months", "Hours"],
        age_at_onset_reported=["100 years", "1200 hours"],
        age_at_onset_unit_reported=["Years", "Hours"],
    )
    assert out["age_at_onset_preferred"].to_list() == [90.0, 1200.0]
    assert out["age_at_onset_unit_preferred"].to_list() == ["Years", "Hours"]
    assert out["age_at_onset_reported"].to_list() == ["90 years", "90 hours"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("18-95", "18-90"),
        ("95", "90"),
        (">89", ">89"),
        ("89", "89"),
        ("89.0", "89.0"),
        ("89.5", "90"),
        ("100 years", "90 years"),
        ("99", "90"),
        ("1.95", "1.95"),
        ("0.5-120", "0.5-90"),
        ("95.5 to 101", "90 to 90"),
        ("no limit", "no limit"),
    ],
)
def test_numbers_above_89_in_text_ages_become_90(text, shown):
    out = public("reference_range", reference_range_accession=["RR1"], age_range=[text])
    assert out["age_range"].to_list() == [shown]


def test_study_age_texts():
    out = public("study", study_accession=["SDY1"], minimum_age=["18"], maximum_age=["99"])
    assert out.row(0) == ("SDY1", "18", "90")


def test_age_event_text_is_not_an_age():
    out = subjects(["Years"], [1.0], [2.0], age_event_specify=["day 100 after vaccination"])
    assert out["age_event_specify"].to_list() == ["day 100 after vaccination"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Years", "Months", "Weeks", "Days", "Hours", "Minutes", "Seconds",
                             "years", "Not Specified", "d.p.c.", "", None]),
            st.none() | st.floats(min_value=0, max_value=1e9, allow_nan=False),
            st.none() | st.floats(min_value=0, max_value=1e9, allow_nan=False),
            st.text(max_size=12),
        ),
        max_size=20,
    )
)  # fmt: skip
def test_no_public_age_exceeds_90_years(rows):
    frame = pl.DataFrame(
        rows,
        schema={
            "age_unit": pl.String,
            "min_subject_age": pl.Float64,
            "max_subject_age": pl.Float64,
            "user_defined_id": pl.String,
        },
        orient="row",
    ).with_columns(subject_accession=pl.format("SUB{}", pl.int_range(pl.len())))
    out = public_tables({"arm_2_subject": frame})["arm_2_subject"]
    assert "user_defined_id" not in out.columns
    assert out.height == frame.height
    assert out["subject_accession"].equals(frame["subject_accession"])
    years = {"years": 1, "months": 1 / 12, "weeks": 7 / 365.25, "days": 1 / 365.25,
             "hours": 1 / 8766, "minutes": 1 / 525960, "seconds": 1 / 31557600}  # fmt: skip
    for unit, low, high in out.select("age_unit", "min_subject_age", "max_subject_age").rows():
        factor = years.get((unit or "").lower(), 1)
        for age in (low, high):
            assert age is None or age * factor <= 90 + 1e-9


# --- 5. withheld and flagged free text ---------------------------------------------


def test_withheld_cells_are_nulled_and_nothing_else():
    frames = {
        "biosample": pl.DataFrame(
            {"biosample_accession": ["BS1", "BS2"], "description": ["call 555-123-4567", "ok"]}
        ),
        "contract_grant": pl.DataFrame({"contract_grant_id": [7, 8], "description": ["a", "b"]}),
        "study_pubmed": pl.DataFrame(
            {"study_accession": ["SDY1", "SDY1"], "pubmed_id": ["1", "2"], "title": ["t", "u"]}
        ),
    }
    out = public_tables(
        frames,
        withheld=[
            ("biosample", "BS1", "description"),
            ("contract_grant", "8", "description"),  # a surrogate key, compared as str
            ("study_pubmed", "SDY1|2", "title"),  # a composite key
            ("biosample", "BS9", "description"),  # not in these rows
            ("biosample", "BS2", "no_such_column"),
        ],
    )
    assert out["biosample"]["description"].to_list() == [None, "ok"]
    assert out["contract_grant"]["description"].to_list() == ["a", None]
    assert out["study_pubmed"]["title"].to_list() == ["t", None]


def test_withheld_without_a_known_key_nulls_the_whole_column():
    frame = pl.DataFrame({"text": ["a", "b"], "other": ["c", "d"]})
    out = public_tables({"notes": frame}, withheld=[("notes", "1", "text")])["notes"]
    assert out["text"].to_list() == [None, None]
    assert out["other"].to_list() == ["c", "d"]


def test_flag_free_text_finds_contacts_and_dates_in_long_text():
    long = "Subjects were enrolled at the clinic and followed for a year. " * 2
    frames = {
        "study": pl.DataFrame(
            {
                "study_accession": ["SDY1", "SDY2", "SDY3", "SDY4"],
                "description": [
                    long + "Write to jane.doe@example.org.",
                    long + "Call (617) 555-0123 or 12 Jan 2021.",
                    long + "Seen on 2021-03-04, 3/4/21.",
                    long + "Nothing personal, day 28 of 2 doses.",
                ],
                "brief_title": ["x", "y", "z", "w"],
            }
        ),
        # short fields of a sample are searched for dates only
        "biosample": pl.DataFrame(
            {
                "biosample_accession": ["BS1", "BS2"],
                "study_time_t0_event_specify": ["2021-03-04", "me@example.org"],
            }
        ),
        "study_personnel": pl.DataFrame(
            {
                "person_accession": ["PS1"],
                "email": ["jane.doe@example.org"],
                "orcid": ["0000-0002-1825-0097 jane@example.org"],
            }
        ),  # fmt: skip
        "study_pubmed": pl.DataFrame(
            {"study_accession": ["SDY1"], "pubmed_id": ["1"], "title": ["Trial 2020-01-01"]}
        ),
        "notes": pl.DataFrame({"notes_accession": ["N1"], "text": ["me@example.org"]}),
    }
    assert sorted(flag_free_text(frames)) == [
        ("biosample", "BS1", "study_time_t0_event_specify", "date"),
        ("study", "SDY1", "description", "e-mail address"),
        ("study", "SDY2", "description", "date"),
        ("study", "SDY2", "description", "phone number"),
        ("study", "SDY3", "description", "date"),
    ]


def test_flag_free_text_on_composite_keys_and_empty_frames():
    frames = {
        "arm_2_subject": pl.DataFrame(
            {
                "arm_accession": ["ARM1"],
                "subject_accession": ["SUB1"],
                "subject_phenotype": ["seen 2021-03-04"],
            }
        ),  # fmt: skip
        "subject": pl.DataFrame(schema={"subject_accession": pl.String, "description": pl.String}),
    }
    assert flag_free_text(frames) == [("arm_2_subject", "ARM1|SUB1", "subject_phenotype", "date")]


# --- 6. the whole model ------------------------------------------------------------


def plausible(sql_type: str, name: str):
    sql_type = sql_type.upper()
    if sql_type.startswith(("DATE", "TIMESTAMP")):
        return DAY
    if sql_type.startswith(("INT", "BIGINT", "SMALLINT", "TINYINT")):
        return 95
    if sql_type.startswith(("FLOAT", "DOUBLE", "DECIMAL", "NUMERIC")):
        return 95.0
    return "Boston 02115" if "location" in name else "95"


@pytest.mark.parametrize("table", sorted(tables()))
def test_every_table_of_the_model(table):
    spec = tables()[table]
    row = {c["name"]: plausible(c["type"], c["name"]) for c in spec["columns"]}
    row |= {"user_defined_id": "mine", "workspace_id": 1, "created": DAY}
    frames = {table: pl.DataFrame([row])}
    empty = {table: pl.DataFrame(schema=frames[table].schema)}
    for out in (public_tables(frames)[table], public_tables(empty)[table]):
        assert not {"user_defined_id", "workspace_id"} & set(out.columns)
        for column in out.columns:
            assert not re.search(r"(^|_)(user_defined_id|workspace_id)$", column)
            if out.schema[column] == pl.Date:
                assert (table, column) in PUBLIC_DATES
        for column, dtype in out.schema.items():
            if dtype.is_numeric() and re.search(r"(^|_)age(_|$)", column):
                assert (out[column] <= 90).all()
            if column in {"subject_location"}:
                assert out[column].null_count() == out.height
    assert public_tables(frames)[table].height == 1


def test_empty_frames_and_row_order():
    empty = pl.DataFrame(
        schema={"arm_accession": pl.String, "subject_accession": pl.String,
                "age_unit": pl.Null, "max_subject_age": pl.Float64,
                "subject_location": pl.Null, "user_defined_id": pl.String}
    )  # fmt: skip
    out = public_tables({"arm_2_subject": empty})["arm_2_subject"]
    assert out.height == 0
    assert "user_defined_id" not in out.columns
    ordered = subjects(["Years"] * 4, [1.0, 2.0, 3.0, 4.0], [99.0, 5.0, 100.0, 6.0])
    assert ordered["subject_accession"].to_list() == ["SUB0", "SUB1", "SUB2", "SUB3"]
    assert ordered["min_subject_age"].to_list() == [1.0, 2.0, 3.0, 4.0]


def test_untouched_columns_keep_their_dtype():
    frame = pl.DataFrame(
        {"biosample_accession": ["BS1"], "study_time_collected": [1], "name": ["x"]},
        schema_overrides={"study_time_collected": pl.Int16},
    )  # fmt: skip
    out = public_tables({"biosample": frame})["biosample"]
    assert out.schema == frame.schema
