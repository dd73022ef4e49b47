from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "immunoport.studies"
    label = "studies"
    verbose_name = "Studies"
