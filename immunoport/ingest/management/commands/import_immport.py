from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from immunoport.ingest.immport_download import PackageError, import_packages
from immunoport.workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Import ImmPort study downloads (SDY<n>-DR<nn>_MySQL or _Tab, folder or .zip) "
        "into a workspace, all packages in one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument("--workspace", required=True, help="created if it does not exist")
        parser.add_argument(
            "--shared",
            action="store_true",
            help="keep the packages' data releases, so the studies are public",
        )

    def handle(self, *args, paths, workspace, shared, **options):
        try:
            # A workspace created for a failed import is rolled back with it.
            with transaction.atomic():
                target, _ = Workspace.objects.get_or_create(name=workspace)
                reports = import_packages(paths, target, shared=shared)
        except (PackageError, OSError) as error:
            raise CommandError(str(error)) from error
        for report in reports:
            self.stdout.write("\n".join(report.lines()))
