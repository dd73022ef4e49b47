from pathlib import Path

from django.core.management.base import BaseCommand

from immunoport.schema.blanks import export_blanks


class Command(BaseCommand):
    help = "ImmPort's upload templates: `export DIR` writes every blank as .txt and .xlsx."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="write the 66 blank templates, .txt and .xlsx")
        export.add_argument("directory", type=Path)

    def handle(self, *args, action, directory, **options):
        written = export_blanks(directory)
        for path in written:
            self.stdout.write(str(path))
        self.stdout.write(f"{len(written)} files written to {directory}")
