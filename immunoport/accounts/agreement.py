"""The data-use agreement, accepted at every sign-in.

The session remembers which version its user accepted; a session without the
current version (a social sign-in, or a new version published meanwhile) is sent
to the agreement page before anything else.
"""

from django.contrib.auth.models import AbstractBaseUser, User
from django.http import HttpRequest

from immunoport.accounts import audit
from immunoport.accounts.models import AgreementAcceptance, DataUseAgreement

SESSION_KEY = "agreement_version"
OFFERED_KEY = "agreement_offered"


def current_agreement() -> DataUseAgreement | None:
    return DataUseAgreement.objects.order_by("-version").first()


def publish_agreement(text: str, title: str = "Data-use agreement") -> DataUseAgreement:
    """A new version; every signed-in user must accept it before going on."""
    latest = current_agreement()
    return DataUseAgreement.objects.create(
        version=(latest.version + 1) if latest else 1, title=title, text=text
    )


def session_has_accepted(request: HttpRequest) -> bool:
    agreement = current_agreement()
    return agreement is None or request.session.get(SESSION_KEY) == agreement.version


def accept(
    request: HttpRequest, user: AbstractBaseUser, agreement: DataUseAgreement
) -> AgreementAcceptance:
    """Record that ``user`` accepted ``agreement`` now, for this session."""
    assert isinstance(user, User)
    acceptance = AgreementAcceptance.objects.create(
        user=user, agreement=agreement, ip_address=audit.client_ip(request)
    )
    request.session[SESSION_KEY] = agreement.version
    audit.record(
        audit.Action.AGREEMENT_ACCEPTED,
        request=request,
        actor=user,
        target=str(agreement),
        version=agreement.version,
    )
    return acceptance


def complete_sign_in(request: HttpRequest, user: AbstractBaseUser) -> None:
    """Record the acceptance offered in the sign-in form, if it is still the current version."""
    offered = request.session.pop(OFFERED_KEY, None)
    agreement = current_agreement()
    if agreement is not None and offered == agreement.version:
        accept(request, user, agreement)
