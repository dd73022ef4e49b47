"""The site's main navigation, offered to every template."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


MAIN_SECTIONS = [
    ("Upload", "portal:upload"),
    ("Shared Data", "portal:shared-data"),
    ("Analysis", "portal:analysis"),
    ("Resources", "portal:resources"),
]


def navigation(request: HttpRequest) -> dict[str, list[NavItem]]:
    items = []
    for label, name in MAIN_SECTIONS:
        url = reverse(name)
        items.append(NavItem(label, url, request.path.startswith(url)))
    return {"nav": items}
