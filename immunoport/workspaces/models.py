from django.db import models
from django.utils import timezone


class Workspace(models.Model):
    """A private area in which data providers deposit and curate study data.

    Stored in ImmPort's ``workspace`` table (workspace_id, name, category, type) so
    that records keep ImmPort's ``workspace_id`` column.
    """

    workspace_id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=125, unique=True)
    category = models.CharField(max_length=50, default="Study")
    type = models.CharField(max_length=20, default="Private")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "workspace"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's role in a workspace; only members ever see its private data."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        UPLOADER = "uploader", "Uploader"
        VIEWER = "viewer", "Viewer"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="workspace_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "workspace_membership"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.workspace}"


# What the request form asks, in its order.
REQUEST_FIELDS = (
    "name",
    "description",
    "data_types",
    "subject_count",
    "data_size_gb",
    "consortium",
    "shares_subjects",
    "shared_with",
    "accession_needed_by",
    "share_publicly_on",
    "share_on_publication",
    "grant",
)


class WorkspaceRequest(models.Model):
    """A data provider's request for a workspace, with what ImmPort asks of one.

    Staff approve it (which creates the workspace with the requester as its owner)
    or reject it, in the admin.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class DataType(models.TextChoices):
        CLINICAL = "clinical", "Clinical and assessment data"
        CYTOMETRY = "cytometry", "Flow or mass cytometry"
        IMMUNOASSAY = "immunoassay", "ELISA, ELISPOT or multiplex bead array"
        SEQUENCING = "sequencing", "Sequencing or gene expression"
        HLA_KIR = "hla-kir", "HLA or KIR typing"
        OTHER = "other", "Other"

    requester = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="workspace_requests"
    )
    name = models.CharField("Workspace name wanted", max_length=125)
    description = models.TextField(
        "Description of the study and its data",
        max_length=4000,
    )
    data_types = models.JSONField(
        "Kinds of data", default=list, help_text="Values of WorkspaceRequest.DataType."
    )
    subject_count = models.PositiveIntegerField("Approximate number of subjects")
    data_size_gb = models.DecimalField(
        "Approximate size of the data (GB)", max_digits=9, decimal_places=1
    )
    consortium = models.CharField("Consortium or program", max_length=200, blank=True)
    shares_subjects = models.BooleanField("Are subjects shared with other studies?", default=False)
    shared_with = models.CharField("Which studies share subjects", max_length=500, blank=True)
    accession_needed_by = models.DateField("When is an accession needed?")
    share_publicly_on = models.DateField(
        "When should the data be shared publicly?", null=True, blank=True
    )
    share_on_publication = models.BooleanField(
        "Share when the results are published", default=False
    )
    grant = models.CharField("Grant or contract number and name", max_length=250)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requests",
        help_text="The workspace created when the request was approved.",
    )
    staff_note = models.TextField(
        blank=True, help_text="Sent to the requester with a rejection; kept with an approval."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    def data_type_labels(self) -> list[str]:
        labels = dict(self.DataType.choices)
        return [labels.get(value, value) for value in self.data_types]


class Invitation(models.Model):
    """An owner's invitation to join a workspace with a role.

    Only the SHA-256 hash of the token is stored; the e-mailed link carries the token.
    An invitation is used once, expires, and may be revoked. Whoever signs in with
    the link accepts it: the account's e-mail need not be the invited address.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Not auto_now_add: the service sets it, and expires_at, from one instant.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "workspace_invitation"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.email} as {self.role} in {self.workspace}"
