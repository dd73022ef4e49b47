from django import forms
from django.utils import timezone

from immunoport.releases.services import REVIEW_CHECKLIST


class DateInput(forms.DateInput):
    input_type = "date"


class SharingRequestForm(forms.Form):
    """A workspace owner's request to share a study."""

    share_after = forms.DateField(
        label="Share after",
        widget=DateInput,
        help_text="The study goes into the first data release on or after this date.",
    )
    message = forms.CharField(
        label="Message to the curators",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Anything the curators should know: an embargo, a publication, a change.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["share_after"].initial = timezone.localdate()


class ReviewForm(forms.Form):
    """A curator's decision on a sharing request."""

    checked = forms.MultipleChoiceField(
        label="Review checklist",
        choices=REVIEW_CHECKLIST,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    comment = forms.CharField(
        label="Comment to the provider",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Needed when the study is returned: what must change before it is shared.",
    )
    # the button pressed
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("return", "Return to provider")])


class ReleaseForm(forms.Form):
    notes = forms.CharField(
        label="Release notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The curators' words; the lists of added and updated studies are generated.",
    )
    point = forms.BooleanField(
        label="Point release",
        required=False,
        help_text="Corrections to the current release (DR1.1 after DR1) rather than a new one.",
    )
