from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from immunoport.accounts import agreement, audit
from immunoport.accounts.forms import TokenForm
from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import (
    SignInLocked,
    TokenError,
    create_token,
    exchange_password,
    revoke_token,
    tokens_of,
)

# ImmPort answers a failed exchange with HTTP 401; one message whether or not the user exists.
BAD_CREDENTIALS = {"status": 401, "error": "Unauthorized", "message": "Bad credentials"}
LOCKED = {
    "status": 429,
    "error": "Too Many Requests",
    "message": "Too many failed sign-ins; try again later",
}
ACTIVITY_PER_PAGE = 50


@never_cache  # the page may carry a secret that must not linger in caches
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    secret = None
    if request.method == "POST":
        form = TokenForm(request.user, request.POST)
        if form.is_valid():
            try:
                token, secret = create_token(
                    request.user,
                    form.cleaned_data["name"],
                    form.cleaned_data["scope"],
                    workspace=form.cleaned_data["workspace"],
                    days=form.cleaned_data["days"],
                    request=request,
                )
            except TokenError as error:
                form.add_error(None, str(error))
            else:
                form = TokenForm(request.user)
    else:
        form = TokenForm(request.user)
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": tokens_of(request.user), "secret": secret},
    )


@require_POST
@login_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    revoke_token(token, request=request)
    return redirect("accounts:tokens")


@never_cache
@login_required
def activity(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own entries in the audit log, newest first."""
    page = Paginator(audit.events_of(request.user), ACTIVITY_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "accounts/activity.html", {"page": page})


@csrf_exempt  # an API endpoint for scripts (ImmPort's); no session, no cookie
@require_POST
def auth_token(request: HttpRequest) -> HttpResponse:
    try:
        secret = exchange_password(
            request.POST.get("username", ""), request.POST.get("password", ""), request
        )
    except SignInLocked:
        return JsonResponse(LOCKED, status=429)
    if secret is None:
        return JsonResponse(BAD_CREDENTIALS, status=401)
    return JsonResponse({"status": 200, "access_token": secret})


@never_cache
def agreement_page(request: HttpRequest) -> HttpResponse:
    """The current data-use agreement; a signed-in user accepts it here to go on."""
    current = agreement.current_agreement()
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and current is not None
        and request.POST.get("version") == str(current.version)
        and request.POST.get("accept")
    ):
        agreement.accept(request, request.user, current)
        return redirect(next_url or "workspaces:list")
    return render(
        request,
        "accounts/agreement.html",
        {
            "agreement": current,
            "next": next_url,
            "accepted": agreement.session_has_accepted(request),
            "refused": request.method == "POST",
        },
    )
