from collections.abc import Mapping
from dataclasses import dataclass, field

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from immunoport.schema.templates import Column
from immunoport.studies import grants, wizard
from immunoport.studies.models import ContractGrant
from immunoport.studies.wizard import Part, Problem, Step

# ImmPort has no lookup for contract_grant.category ("Type of entity"): its public
# studies hold the funder's kind there, "NIH" in every DR34 package. The form offers
# the kinds the repository already holds, NIH first, and accepts another.
DEFAULT_GRANT_CATEGORIES = ("NIH",)


class DateInput(forms.DateInput):
    input_type = "date"


class ContractGrantForm(forms.ModelForm):
    """ImmPort's "Create Contract Grant" form."""

    category = forms.CharField(
        max_length=50,
        help_text="The kind of funding entity, as ImmPort records it, e.g. NIH.",
        widget=forms.TextInput(attrs={"list": "grant-categories", "autocomplete": "off"}),
    )

    class Meta:
        model = ContractGrant
        fields = [
            "name",
            "external_id",
            "description",
            "category",
            "link",
            "program",
            "start_date",
            "end_date",
        ]
        labels = {"external_id": "External ID", "program": "Program"}
        help_texts = {
            "name": "The grant's title, e.g. “Human Immunology Project Consortium”.",
            "external_id": "The funder's identifier for the award, e.g. U19AI090023.",
            "description": "What the contract or grant funds.",
            "link": "A web page about the award, e.g. its NIH RePORTER entry.",
            "program": "The funding program the award belongs to.",
            "start_date": "When the award began.",
            "end_date": "When the award ends or ended; not before the start date.",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "start_date": DateInput,
            "end_date": DateInput,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = grants.programs()
        self.fields["program"].label_from_instance = lambda program: program.name
        self.categories = grants.categories(DEFAULT_GRANT_CATEGORIES)

    def clean_link(self):
        # The list page makes the link clickable: only web addresses, never javascript:.
        link = self.cleaned_data.get("link")
        if link:
            URLValidator(schemes=["http", "https"])(link)
        return link

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date must not be before the start date.")
        return cleaned


class StudyLinkForm(forms.Form):
    study_accession = forms.CharField(max_length=15, label="Study accession")
    action = forms.ChoiceField(choices=[("link", "Link"), ("unlink", "Unlink")], initial="link")


# --- the registration wizard's steps ---------------------------------------------------
#
# A step's fields are the template columns of its parts (see studies.wizard), so they
# are built here from the registry rather than declared. Inputs are named
# ``<part>-<row>-<column index>``; ``<part>-rows`` says how many rows were shown.


@dataclass
class FieldView:
    column: Column
    name: str
    value: str
    limit: int | None
    help: str
    long: bool
    input_type: str
    datalist: str | None
    readonly: bool = False
    errors: list[Problem] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.column.name

    @property
    def required(self) -> bool:
        return self.column.required

    @property
    def id(self) -> str:
        return f"id_{self.name}"


@dataclass
class RowView:
    number: int  # 1-based
    fields: list[FieldView]
    upload: str | None  # the file input's name on rows that take a document
    document: str | None  # the document already uploaded
    errors: list[Problem]


@dataclass
class PartView:
    part: Part
    rows: list[RowView]
    errors: list[Problem]

    @property
    def datalists(self) -> set[str]:
        return {f.datalist for row in self.rows for f in row.fields if f.datalist}


def step_view(
    step: Step,
    data: Mapping[str, list[dict[str, str]]],
    problems: list[Problem],
    *,
    fixed_study_id: str | None = None,
    extra_row: str | None = None,
) -> list[PartView]:
    """What the step's page shows: each part's rows (at least one, blank) with their
    values and problems. ``extra_row`` adds a blank row to that part."""
    views = []
    for part in step.parts:
        rows = list(data.get(part.key) or [])
        if not rows or part.key == extra_row:
            rows.append({})
        mine = [p for p in problems if p.part == part.key]
        views.append(
            PartView(
                part,
                [_row_view(part, n, row, mine, fixed_study_id) for n, row in enumerate(rows)],
                [p for p in mine if p.row is None or p.column is None],
            )
        )
    return views


def _row_view(
    part: Part, n: int, row: dict[str, str], problems: list[Problem], fixed_study_id: str | None
) -> RowView:
    fields = []
    for j, column in enumerate(part.columns):
        if (part.key, column.name) in wizard.UPLOADED:
            continue
        value = row.get(column.name, "")
        readonly = part.key == "study" and column.name == "User Defined ID" and bool(fixed_study_id)
        fields.append(
            FieldView(
                column=column,
                name=f"{part.key}-{n}-{j}",
                value=wizard.to_input_date(value) if column.json_type == "date" else value,
                limit=wizard.limit(part, column),
                help=wizard.help_text(part, column),
                long=wizard.is_long_text(part, column),
                input_type=_input_type(column),
                datalist=column.vocabulary,
                readonly=readonly,
                errors=[p for p in problems if p.row == n and p.column == column.name],
            )
        )
    takes_document = any((part.key, c.name) in wizard.UPLOADED for c in part.columns)
    return RowView(
        n + 1,
        fields,
        f"{part.key}-{n}-file" if takes_document else None,
        row.get("File Name") if takes_document else None,
        [p for p in problems if p.row == n and p.column == "File Name"],
    )


def _input_type(column: Column) -> str:
    if column.json_type == "date":
        return "date"
    if column.is_numeric:
        return "number"
    if column.name == "Email":
        return "email"
    return "text"


def read_step(
    step: Step, post: QueryDict, files: MultiValueDict, *, fixed_study_id: str | None = None
) -> tuple[dict[str, list[dict[str, str]]], dict[str, UploadedFile]]:
    """The rows a step's form posted (blank and removed rows dropped), and its uploads
    by file name. A row's uploaded document names its ``File Name``."""
    rows: dict[str, list[dict[str, str]]] = {}
    uploads: dict[str, UploadedFile] = {}
    for part in step.parts:
        try:
            count = min(int(post.get(f"{part.key}-rows", "0")), _MAX_ROWS)
        except ValueError:
            count = 0
        part_rows = []
        for n in range(count):
            if post.get(f"{part.key}-{n}-remove"):
                continue
            row = {}
            for j, column in enumerate(part.columns):
                value = wizard.clean_value(column, post.get(f"{part.key}-{n}-{j}", ""))
                if value:
                    row[column.name] = value
            upload = files.get(f"{part.key}-{n}-file")
            if upload is not None and upload.name:
                name = wizard.flatten(upload.name.replace("\\", "/").rsplit("/", 1)[-1])
                uploads[name] = upload
                row["File Name"] = name
            elif post.get(f"{part.key}-{n}-document"):  # uploaded on an earlier visit
                row["File Name"] = wizard.flatten(post[f"{part.key}-{n}-document"])
            if row:
                part_rows.append(row)
        if part.key == "study" and fixed_study_id and part_rows:
            part_rows[0]["User Defined ID"] = fixed_study_id
        rows[part.key] = part_rows
    return rows, uploads


_MAX_ROWS = 500  # rows one step takes from a form; more come as a template upload
