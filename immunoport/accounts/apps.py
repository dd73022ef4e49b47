from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "immunoport.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from immunoport.accounts import signals  # noqa: F401  (connects the receivers)
        from immunoport.accounts.roles import sync_role_groups

        post_migrate.connect(sync_role_groups)
