from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "immunoport.curation"
    label = "curation"
    verbose_name = "Curation"
