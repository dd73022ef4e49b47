from django.apps import AppConfig


class ValidationConfig(AppConfig):
    name = "immunoport.validation"
    label = "validation"
    verbose_name = "Template validation"
