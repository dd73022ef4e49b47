from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "immunoport.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces"
