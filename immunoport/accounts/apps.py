from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "immunoport.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from immunoport.accounts import signals  # noqa: F401  (connects the receivers)
