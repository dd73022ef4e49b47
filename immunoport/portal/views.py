from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from immunoport.portal.services import banner_figures


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"figures": banner_figures()})
