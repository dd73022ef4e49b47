"""What the public portal keeps for a visitor: the cart of a signed-in user."""

from django.conf import settings
from django.db import models


class CartItem(models.Model):
    """A released study a signed-in user put in their cart. An anonymous visitor's
    cart lives in the session and joins this one at sign-in."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart_items"
    )
    study_accession = models.CharField(max_length=15)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "cart_item"
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "study_accession"], name="cart_item_once_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.study_accession} in {self.user}'s cart"
