from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "immunoport.portal"
    label = "portal"
    verbose_name = "Shared data portal"
