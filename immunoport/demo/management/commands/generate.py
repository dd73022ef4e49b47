from django.core.management.base import BaseCommand, CommandError

from immunoport.demo.generate import generate
from immunoport.workspaces.models import Workspace


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Write synthetic studies (subjects, samples, experiments, results) into a "
        "workspace, for demos and load tests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--studies", type=_count, required=True)
        parser.add_argument("--subjects-per-study", type=_count, required=True)
        parser.add_argument("--results-per-subject", type=_count, required=True)
        parser.add_argument("--workspace", default="Synthetic", help="created when missing")
        parser.add_argument("--seed", type=int, default=0, help="the same seed, the same data")

    def handle(self, *args, studies, subjects_per_study, results_per_subject, **options):
        if not studies:
            raise CommandError("--studies must be at least 1")
        workspace, _ = Workspace.objects.get_or_create(name=options["workspace"])
        report = generate(
            studies,
            subjects_per_study,
            results_per_subject,
            workspace,
            seed=options["seed"],
        )
        if options["verbosity"] > 1:
            for table, rows in sorted(report.rows.items()):
                self.stdout.write(f"{table:<32} {rows:>12,}")
        self.stdout.write(
            f"Workspace {workspace.name!r}: {report.total_rows:,} rows written "
            f"in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"
        )
