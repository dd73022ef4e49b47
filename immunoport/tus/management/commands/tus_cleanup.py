"""``immunoport tus-cleanup``: delete expired unfinished uploads and their pieces."""

from django.core.management.base import BaseCommand

from immunoport.tus.services import delete_expired, delete_orphans


class Command(BaseCommand):
    help = (
        "Delete unfinished tus uploads past their expiry, with their stored pieces, "
        "and stored folders that no upload owns any more."
    )

    def handle(self, *args, **options) -> None:
        count = delete_expired()
        self.stdout.write(f"{count} expired upload{'s' if count != 1 else ''} deleted")
        orphans = delete_orphans()
        if orphans:
            plural = "s" if orphans != 1 else ""
            self.stdout.write(f"{orphans} folder{plural} without an upload deleted")
