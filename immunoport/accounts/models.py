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


class Profile(models.Model):
    """What a person told us when registering, and where their account stands.

    The account itself (``User``) stays inactive until staff approve it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    organization = models.CharField(max_length=250)
    phone = models.CharField(max_length=40, blank=True)
    research_needs = models.TextField(
        "How may we assist your research?", max_length=4000, blank=True
    )
    referral = models.CharField("How did you learn of us?", max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-registered_at"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_status_display()})"


class DataUseAgreement(models.Model):
    """One version of the data-use agreement; the highest published version is current."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200, default="Data-use agreement")
    text = models.TextField()
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.title}, version {self.version}"


class AgreementAcceptance(models.Model):
    """A user accepted one version of the agreement at one sign-in."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agreement_acceptances"
    )
    agreement = models.ForeignKey(
        DataUseAgreement, on_delete=models.PROTECT, related_name="acceptances"
    )
    accepted_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-accepted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} accepted version {self.agreement.version}"


class AuditEventQuerySet(models.QuerySet):
    """Refuses bulk changes. Django's own SET_NULL on deleting a user or workspace goes
    through the plain base manager, and the database allows exactly that change."""

    def delete(self):
        raise ValueError("Audit events are append-only.")

    def update(self, **kwargs):
        raise ValueError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One entry of the append-only audit log.

    Entries are only ever inserted (``accounts.audit.record``); saving an existing
    entry or deleting one raises, and the admin shows them read-only.
    """

    class Action(models.TextChoices):
        SIGN_IN = "sign-in", "Signed in"
        SIGN_IN_FAILED = "sign-in-failed", "Sign-in failed"
        SIGN_OUT = "sign-out", "Signed out"
        REGISTERED = "registered", "Registered"
        ACCOUNT_APPROVED = "account-approved", "Account approved"
        ACCOUNT_REJECTED = "account-rejected", "Account rejected"
        AGREEMENT_ACCEPTED = "agreement-accepted", "Accepted the data-use agreement"
        MFA_CHANGED = "mfa-changed", "Changed multi-factor sign-in"
        TOKEN_CREATED = "token-created", "Created an API token"
        TOKEN_REVOKED = "token-revoked", "Revoked an API token"
        TOKEN_USED = "token-used", "Used an API token"
        WORKSPACE_REQUESTED = "workspace-requested", "Requested a workspace"
        WORKSPACE_CREATED = "workspace-created", "Workspace created"
        WORKSPACE_REQUEST_REJECTED = "workspace-request-rejected", "Workspace request rejected"
        MEMBER_INVITED = "member-invited", "Invited a member"
        MEMBER_ADDED = "member-added", "Member added"
        MEMBER_CHANGED = "member-changed", "Member's role changed"
        MEMBER_REMOVED = "member-removed", "Member removed"
        UPLOADED = "uploaded", "Uploaded files"
        VIEWED = "viewed", "Viewed private data"
        DOWNLOADED = "downloaded", "Downloaded private data"
        STUDY_REGISTERED = "study-registered", "Registered a study"
        STUDY_EDITED = "study-edited", "Edited a study"
        SHARING_REQUESTED = "sharing-requested", "Asked to share a study"
        SHARING_APPROVED = "sharing-approved", "Approved sharing"
        TEXT_CLEARED = "text-cleared", "Cleared flagged free text"
        RELEASED = "released", "Released data"
        VALUE_MAPPED = "value-mapped", "Mapped a reported value"
        TERM_ADDED = "term-added", "Added a lookup term"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_name = models.CharField(
        max_length=150, blank=True, help_text="The username as it was, kept if the user goes."
    )
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True)
    workspace = models.ForeignKey(
        "workspaces.Workspace",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    target = models.CharField(max_length=250, blank=True, help_text="What the action was on.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["actor", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'anonymous'} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")
