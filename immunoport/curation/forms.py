from dataclasses import dataclass

from django import forms

MAP = "map"
ACCEPT = "accept"


@dataclass(frozen=True)
class Choice:
    """One row of the queue page as the curator left it."""

    key: str  # the reported value, lower-cased and trimmed
    selected: bool
    term: str  # the suggestion chosen, if any
    other: str  # a term typed instead


class ValueChoicesForm(forms.Form):
    """A curator's choices on one page of a lookup's queue: which reported values to
    map, and to which term each (a suggestion, or a term typed instead).

    The page numbers its rows; row ``i`` posts ``key-i`` (the reported value),
    ``selected-i``, ``term-i`` and ``other-i``.
    """

    action = forms.ChoiceField(
        choices=[(MAP, "Map selected"), (ACCEPT, "Accept top suggestions for selected")]
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        help_text="Kept with each mapping: why these values mean these terms.",
    )
    rows = forms.IntegerField(min_value=0, max_value=1000, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            count = min(max(int(self.data.get("rows", 0)), 0), 1000)
        except (TypeError, ValueError):
            count = 0
        self.row_numbers = range(count)
        for i in self.row_numbers:
            self.fields[f"key-{i}"] = forms.CharField(required=False, max_length=1000)
            self.fields[f"selected-{i}"] = forms.BooleanField(required=False)
            self.fields[f"term-{i}"] = forms.CharField(required=False, max_length=1000)
            self.fields[f"other-{i}"] = forms.CharField(required=False, max_length=1000)

    def choices(self) -> list[Choice]:
        data = self.cleaned_data
        return [
            Choice(
                key=data[f"key-{i}"].strip().lower(),
                selected=data[f"selected-{i}"],
                term=data[f"term-{i}"].strip(),
                other=data[f"other-{i}"].strip(),
            )
            for i in self.row_numbers
            if data.get(f"key-{i}", "").strip()
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        selected = [choice for choice in self.choices() if choice.selected]
        if not selected:
            raise forms.ValidationError("Select at least one reported value.")
        if data.get("action") == MAP:
            missing = [c.key for c in selected if not (c.other or c.term)]
            if missing:
                raise forms.ValidationError(
                    "Choose a suggestion or type a term for: " + ", ".join(missing) + "."
                )
        return data

    def chosen(self) -> dict[str, str]:
        """Each selected reported value and its term: a typed term over a suggestion."""
        return {c.key: c.other or c.term for c in self.choices() if c.selected}


class TermForm(forms.Form):
    """A term a lookup lacks, added by a curator."""

    name = forms.CharField(label="Name", max_length=1000)
    ontology_id = forms.CharField(
        label="Ontology identifier",
        required=False,
        max_length=250,
        help_text="A compact identifier such as DOID:8469; its OBO link is filled in.",
    )
    link = forms.URLField(
        label="Link",
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="Where the term is defined, if not the ontology identifier's OBO page.",
    )
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
