from django.core.management.base import BaseCommand, CommandError

from immunoport.releases import public, services


class Command(BaseCommand):
    help = (
        "Build the next data release: the approved studies due today and every study of "
        "the previous release. The downloads are built by the task worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--notes", default="", help="The release notes' introduction.")
        parser.add_argument(
            "--point", action="store_true", help="A point release (DR<n>.<m>) of the current one."
        )

    def handle(self, *args, notes, point, **options):
        try:
            release = services.build_release(notes=notes, point=point)
        except services.SharingError as error:
            raise CommandError(str(error)) from error
        changes = public.release_notes(release)
        self.stdout.write(
            f"{release.label}: {len(changes['added'])} added, {len(changes['updated'])} updated, "
            f"{len(changes['unchanged'])} unchanged"
        )
