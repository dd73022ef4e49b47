from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "immunoport.analysis"
    label = "analysis"
    verbose_name = "Analysis"
