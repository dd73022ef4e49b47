"""The Shared Data API, mounted where ImmPort's is (``/data/query/``).

Paths, parameters and field names follow ImmPort's own API so that its clients work
against this server unchanged; each group of endpoints lives in its own module.
"""

from django.conf import settings
from django.core.cache import caches
from ninja import NinjaAPI
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from immunoport.api import lookups, results, search, study


class AnonymousRate(AnonRateThrottle):
    cache = caches["throttle"]


class SignedInRate(AuthRateThrottle):
    cache = caches["throttle"]


api = NinjaAPI(
    title="immunoport Shared Data API",
    version="1",
    description=(
        "ImmPort's Shared Data API over this repository's released studies. "
        "Search and lookups are open; study, result and file endpoints need a token "
        "from `POST /auth/token` (or an API token from your account page) sent as "
        "`Authorization: bearer <token>`."
    ),
    urls_namespace="data-query",
    throttle=[
        AnonymousRate(settings.API_RATE_ANONYMOUS),
        SignedInRate(settings.API_RATE_SIGNED_IN),
    ],
)
api.add_router("/api/search/", search.router)
api.add_router("/api/lookup/", lookups.router)
api.add_router("/api/study/", study.router)
api.add_router("/drs/", study.drs_router)
api.add_router("/ui/study/", study.ui_router)
api.add_router("/result/", results.router)
api.add_router("/", lookups.legacy)  # ImmPort's older paths: /study/findAllStudyAccessions, ...
