import time

from django.core.management.base import BaseCommand

from immunoport.demo.services import load_demo
from immunoport.ingest.management.commands.import_immport import (
    refused_imports_as_command_errors,
)


class Command(BaseCommand):
    help = "Load ImmPort's lookups and six real shared studies into the 'ImmPort demo' workspace."

    def handle(self, *args, verbosity, **options):
        started = time.perf_counter()
        with refused_imports_as_command_errors():
            demo = load_demo()
        if verbosity > 1:
            for report in demo.reports:
                self.stdout.write("\n".join(report.lines()))
        for report in demo.reports:
            self.stdout.write(
                f"{report.package:<20} {report.inserted:>7,} rows inserted"
                f" {report.skipped:>7,} already present"
            )
        lookups = "lookups loaded, " if demo.lookups_loaded else ""
        self.stdout.write(
            f"Workspace {demo.workspace.name!r}: {lookups}{len(demo.studies)} shared studies "
            f"({', '.join(demo.studies)}), {demo.inserted:,} rows inserted, "
            f"{demo.skipped:,} already present, in {time.perf_counter() - started:.1f} s"
        )
