from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "immunoport.releases"
    label = "releases"
    verbose_name = "Data releases"
