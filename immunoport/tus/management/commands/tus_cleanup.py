"""``immunoport tus-cleanup``: delete expired unfinished uploads and their pieces."""

from django.core.management.base import BaseCommand

from immunoport.tus.services import delete_expired


class Command(BaseCommand):
    help = "Delete unfinished tus uploads past their expiry, with their stored pieces."

    def handle(self, *args, **options) -> None:
        count = delete_expired()
        self.stdout.write(f"{count} expired upload{'s' if count != 1 else ''} deleted")
