from django.apps import AppConfig


class TusConfig(AppConfig):
    name = "immunoport.tus"
    label = "tus"
    verbose_name = "Resumable uploads (tus)"
