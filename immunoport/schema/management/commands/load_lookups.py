from django.core.management.base import BaseCommand

from immunoport.schema.services import load_lookups


class Command(BaseCommand):
    help = "Load ImmPort's 53 lookup tables (idempotent)."

    def handle(self, *args, **options):
        loads = load_lookups()
        terms = sum(load.terms for load in loads)
        removed = sum(load.removed for load in loads)
        self.stdout.write(f"{len(loads)} lookup tables, {terms:,} terms ({removed} removed)")
