from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from immunoport.accounts.models import ApiToken
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
