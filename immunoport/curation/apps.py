from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "immunoport.curation"
    label = "curation"
    verbose_name = "Curation"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from immunoport.curation.permissions import remember_role

        user_logged_in.connect(remember_role, dispatch_uid="curation-remember-role")
