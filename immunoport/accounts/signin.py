"""The sign-in form: allauth's, with the data-use agreement.

Kept apart from ``forms`` because allauth imports the registration form from there
while its own forms module is still loading.
"""

from allauth.account.forms import LoginForm
from django import forms
from django.http import HttpRequest

from immunoport.accounts import agreement


class AgreementLoginForm(LoginForm):
    """allauth's sign-in form with the data-use agreement's "I accept" box."""

    accept_agreement = forms.BooleanField(
        required=True,
        error_messages={"required": "Please accept the data-use agreement to sign in."},
    )
    agreement_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.agreement = agreement.current_agreement()
        if self.agreement is None:
            del self.fields["accept_agreement"], self.fields["agreement_version"]
        else:
            self.fields[
                "accept_agreement"
            ].label = f"I accept the data-use agreement (version {self.agreement.version})"
            self.fields["agreement_version"].initial = self.agreement.version
        self.fields["login"].label = "Username or e-mail"
        self.fields.pop("remember", None)  # sessions always end with the browser

    def login(self, request: HttpRequest, redirect_url=None):
        if self.agreement is not None:
            request.session[agreement.OFFERED_KEY] = self.cleaned_data["agreement_version"]
        return super().login(request, redirect_url)
