from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from immunoport.accounts import registration
from immunoport.accounts.models import ApiToken, Profile
from immunoport.accounts.services import DEFAULT_DAYS, MAX_DAYS
from immunoport.workspaces.permissions import writable_workspaces_of


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ_SHARED)
    workspace = forms.ModelChoiceField(
        queryset=None,
        required=False,
        help_text="Only for a workspace-write token: a workspace you own or upload to.",
    )
    days = forms.IntegerField(
        label="Lifetime in days", min_value=1, max_value=MAX_DAYS, initial=DEFAULT_DAYS
    )

    def __init__(self, user: AbstractBaseUser | AnonymousUser, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["workspace"].queryset = writable_workspaces_of(user)


class RegistrationForm(forms.ModelForm):
    """What we ask of everyone who registers, by password or by Google/ORCID.

    allauth adds the username, e-mail and password fields and calls ``signup``.
    """

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)

    class Meta:
        model = Profile
        fields = ["organization", "phone", "research_needs", "referral"]
        labels = {"phone": "Phone (optional)"}
        widgets = {"research_needs": forms.Textarea(attrs={"rows": 4})}

    field_order = ["username", "first_name", "last_name", "organization", "email"]

    def signup(self, request: HttpRequest, user: AbstractBaseUser) -> None:
        registration.register(request, user, self.cleaned_data)
