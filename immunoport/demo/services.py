"""The demo: ImmPort's own shared studies, imported as they were downloaded.

Six real study packages ship under ``data/``: four DR34 MySQL packages (SDY702,
SDY1041, SDY1097, SDY1389) and two older DR16 Tab packages (SDY139, SDY208).
"""

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from immunoport.ingest.immport_download import ImportReport, import_packages
from immunoport.releases.services import build_release, shared_studies
from immunoport.schema.models import Lookup
from immunoport.schema.reference import lookup_index
from immunoport.schema.services import load_lookups
from immunoport.workspaces.models import Workspace

DEMO_DATA = Path(__file__).resolve().parent / "data"
DEMO_WORKSPACE = "ImmPort demo"


@dataclass(frozen=True)
class DemoLoad:
    workspace: Workspace
    lookups_loaded: bool
    reports: list[ImportReport]

    @property
    def studies(self) -> list[str]:
        return [study for report in self.reports for study in report.studies]

    @property
    def inserted(self) -> int:
        return sum(report.inserted for report in self.reports)

    @property
    def skipped(self) -> int:
        return sum(report.skipped for report in self.reports)


def demo_packages() -> list[Path]:
    """The study folders under ``data/``, one package each."""
    return sorted(path for path in DEMO_DATA.iterdir() if path.is_dir())


@transaction.atomic
def load_demo() -> DemoLoad:
    """Load lookups if missing, then the demo studies into "ImmPort demo", released
    in a data release of their own.

    Running it again changes nothing: every record is found and skipped.
    """
    lookups_missing = Lookup.objects.count() < len(lookup_index())
    if lookups_missing:
        load_lookups()
    workspace, _ = Workspace.objects.get_or_create(name=DEMO_WORKSPACE)
    reports = import_packages(demo_packages(), workspace, shared=True)
    if not shared_studies().filter(workspace=workspace).exists():
        build_release(notes="The ImmPort demo studies.")
    return DemoLoad(workspace, lookups_missing, reports)
