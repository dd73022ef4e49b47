from django import forms

from immunoport.ingest.models import Package


class PackageForm(forms.Form):
    """The portal's "Upload Data": a package's name, notes and mode; files come after."""

    name = forms.CharField(
        label="Package name",
        max_length=200,
        help_text="A name you will recognise in the workspace's package history.",
    )
    notes = forms.CharField(
        label="Upload notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    mode = forms.ChoiceField(
        label="What to do with the files",
        choices=Package.Mode.choices,
        initial=Package.Mode.LOAD,
        required=False,  # scripts may leave it out: validate and load
        widget=forms.RadioSelect,
    )

    def clean_mode(self) -> str:
        return self.cleaned_data["mode"] or Package.Mode.LOAD
