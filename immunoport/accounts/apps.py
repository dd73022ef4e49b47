from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "immunoport.accounts"
    label = "accounts"
    verbose_name = "Accounts"
