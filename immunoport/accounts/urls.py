from django.urls import path

from immunoport.accounts import views

app_name = "accounts"
urlpatterns = [
    path("account/tokens/", views.token_list, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("account/agreement/", views.agreement_page, name="agreement"),
    path("account/activity/", views.activity, name="activity"),
    path("auth/token", views.auth_token, name="auth-token"),
]
