from django import forms
from django.core.validators import URLValidator

from immunoport.studies import grants
from immunoport.studies.models import ContractGrant

# ImmPort has no lookup table for contract_grant.category (none among the packaged
# lookups), so these are the usual kinds of award, offered as a plain choice.
GRANT_CATEGORIES = [
    ("Grant", "Grant"),
    ("Contract", "Contract"),
    ("Cooperative Agreement", "Cooperative Agreement"),
    ("Other", "Other"),
]


class DateInput(forms.DateInput):
    input_type = "date"


class ContractGrantForm(forms.ModelForm):
    """ImmPort's "Create Contract Grant" form."""

    category = forms.ChoiceField(
        choices=GRANT_CATEGORIES, help_text="The kind of award: grant, contract, …"
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
