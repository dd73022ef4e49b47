from django import forms

from immunoport.workspaces.models import REQUEST_FIELDS, Membership, WorkspaceRequest

YES_NO = [("no", "No"), ("yes", "Yes")]


class DateInput(forms.DateInput):
    input_type = "date"


class WorkspaceRequestForm(forms.ModelForm):
    """What ImmPort asks of someone requesting a workspace."""

    data_types = forms.MultipleChoiceField(
        label="Kinds of data",
        choices=WorkspaceRequest.DataType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    shares_subjects = forms.TypedChoiceField(
        label="Are subjects shared with other studies?",
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        initial="no",
        widget=forms.RadioSelect,
    )

    class Meta:
        model = WorkspaceRequest
        fields = REQUEST_FIELDS
        labels = {"consortium": "Consortium or program (optional)"}
        help_texts = {
            "name": "A short name for the workspace, usually the study's or the lab's.",
            "shared_with": "If subjects are shared: which studies (titles or accessions).",
            "share_publicly_on": "A date, or tick the box below to share on publication.",
            "grant": "The grant or contract that funds the study, e.g. U19 AI000000, HIPC.",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "accession_needed_by": DateInput,
            "share_publicly_on": DateInput,
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("shares_subjects") and not cleaned.get("shared_with", "").strip():
            self.add_error("shared_with", "Say which studies share subjects with this one.")
        if not cleaned.get("shares_subjects"):
            cleaned["shared_with"] = ""
        on_date = cleaned.get("share_publicly_on")
        on_publication = cleaned.get("share_on_publication")
        if on_date and on_publication:
            self.add_error(
                "share_publicly_on", "Give a date or choose sharing on publication, not both."
            )
        elif not on_date and not on_publication and "share_publicly_on" not in self.errors:
            self.add_error(
                "share_publicly_on", "Give a date or choose sharing when results are published."
            )
        size = cleaned.get("data_size_gb")
        if size is not None and size < 0:
            self.add_error("data_size_gb", "The size cannot be negative.")
        return cleaned


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
