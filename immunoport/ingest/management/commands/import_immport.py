from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from immunoport.ingest.immport_download import PackageError, import_packages
from immunoport.workspaces.models import Workspace


@contextmanager
def refused_imports_as_command_errors():
    """A refused import ends the command with its reason, not a traceback."""
    try:
        yield
    except (PackageError, OSError) as error:
        raise CommandError(str(error)) from error
    except DatabaseError as error:
        message = f"the database refused the import, nothing was written: {error}"
        raise CommandError(message) from error


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
        # A workspace created for a refused import is rolled back with it.
        with refused_imports_as_command_errors(), transaction.atomic():
            target, _ = Workspace.objects.get_or_create(name=workspace)
            reports = import_packages(paths, target, shared=shared)
        for report in reports:
            self.stdout.write("\n".join(report.lines()))
