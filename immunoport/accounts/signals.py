"""Sign-ins, sign-outs, failures and MFA changes go to the audit log."""

from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from immunoport.accounts import agreement, audit


@receiver(auth_signals.user_logged_in)
def signed_in(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    audit.record(audit.Action.SIGN_IN, request=request, actor=user, target=user.get_username())
    agreement.complete_sign_in(request, user)


@receiver(auth_signals.user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    # allauth passes the name typed as "username" or "email"; never the password.
    name = str(credentials.get("username") or credentials.get("email") or "")[:150]
    audit.record(audit.Action.SIGN_IN_FAILED, request=request, target=name, username=name)


@receiver(auth_signals.user_logged_out)
def signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record(audit.Action.SIGN_OUT, request=request, actor=user, target=user.get_username())


@receiver(mfa_signals.authenticator_added)
@receiver(mfa_signals.authenticator_removed)
def mfa_changed(sender, request, user, authenticator, **kwargs) -> None:
    change = "added" if kwargs.get("signal") is mfa_signals.authenticator_added else "removed"
    audit.record(
        audit.Action.MFA_CHANGED,
        request=request,
        actor=user,
        target=authenticator.get_type_display(),
        change=change,
    )
