from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "immunoport.core"
    label = "core"
    verbose_name = "Core"
