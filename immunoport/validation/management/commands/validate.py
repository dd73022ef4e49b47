import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from immunoport.validation.findings import UnusableInput
from immunoport.validation.render import RENDERERS
from immunoport.validation.services import validate_for_workspace
from immunoport.workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Validate ImmPort templates: a package folder, a ZIP, or single .txt/.xlsx files. "
        "Exit status 0 when valid, 1 when there are errors, 2 when the input is unusable."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=sorted(RENDERERS), default="text")
        parser.add_argument("--output", type=Path, help="write the report here, not to stdout")
        parser.add_argument(
            "--workspace",
            help="also accept references to records already in this workspace (by name)",
        )

    def handle(self, *args, path, format, output, workspace, **options):
        target = None
        if workspace:
            target = Workspace.objects.filter(name=workspace).first()
            if target is None:
                raise CommandError(f"no workspace named {workspace!r}")
        try:
            report = validate_for_workspace(path, target)
        except UnusableInput as error:
            self.stderr.write(f"cannot validate: {error}")
            sys.exit(2)
        rendered = RENDERERS[format](report)
        if output:
            output.write_text(rendered)
            self.stderr.write(f"report written to {output}")
        else:
            self.stdout.write(rendered, ending="")
        sys.exit(report.exit_code)
