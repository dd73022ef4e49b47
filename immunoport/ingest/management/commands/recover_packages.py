from django.core.management.base import BaseCommand

from immunoport.ingest.services import recover_stuck_packages, stale_after


class Command(BaseCommand):
    help = (
        "Find packages whose job stopped (no heartbeat for PACKAGE_STALE_MINUTES, e.g. a "
        "killed worker) and run them again, or fail them after PACKAGE_MAX_ATTEMPTS runs. "
        "Workers do this by themselves; run it from cron where no worker runs for long."
    )

    def handle(self, *args, **options):
        outcome = recover_stuck_packages()
        for done, packages in outcome.items():
            for package in packages:
                self.stdout.write(f"{done} {package.pk} ({package.name})")
        if not any(outcome.values()):
            self.stdout.write(f"No package has been silent for more than {stale_after()}.")
