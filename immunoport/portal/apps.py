from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "immunoport.portal"
    label = "portal"
    verbose_name = "Shared data portal"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from immunoport.portal.services import merge_session_cart

        user_logged_in.connect(merge_session_cart, dispatch_uid="portal-merge-session-cart")
