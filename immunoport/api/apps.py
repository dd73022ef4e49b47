from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "immunoport.api"
    label = "api"
    verbose_name = "REST API"
