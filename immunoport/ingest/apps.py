from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "immunoport.ingest"
    label = "ingest"
    verbose_name = "Upload and ingest"
