from django.apps import AppConfig


class SchemaConfig(AppConfig):
    name = "immunoport.schema"
    label = "schema"
    verbose_name = "ImmPort schema and lookups"
