from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal API token. Only the SHA-256 hash of its secret is stored.

    The secret is shown once, when the token is created; ``prefix`` (its first
    characters) lets the owner tell tokens apart in lists.
    """

    class Scope(models.TextChoices):
        READ_SHARED = "read-shared", "Read shared data"
        WORKSPACE_WRITE = "workspace-write", "Read and write one workspace"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.READ_SHARED)
    workspace = models.ForeignKey(
        "workspaces.Workspace",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_tokens",
        help_text="The workspace a workspace-write token reads and writes.",
    )
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(scope="read-shared", workspace__isnull=True)
                    | models.Q(scope="workspace-write", workspace__isnull=False)
                ),
                name="api_token_workspace_matches_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
