"""Which studies are public, and publishing a study into a data release.

Every public surface asks this module which studies it may show. A study is
shared once it has a row in ImmPort's ``study_data_release`` table.
"""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from immunoport.accounts import audit
from immunoport.studies.models import Study, StudyDataRelease


def shared_studies() -> QuerySet[Study]:
    """Studies released to the public in at least one data release."""
    released = StudyDataRelease.objects.filter(study=OuterRef("pk"))
    return Study.objects.filter(Exists(released))


def publish_study(
    study: Study,
    version: int,
    *,
    date: datetime.date | None = None,
    status: str = "Initial",
    actor: AbstractBaseUser | None = None,
    request: HttpRequest | None = None,
) -> StudyDataRelease:
    """Record that ``study`` is part of data release ``version``.

    A new release is audited; ``actor`` is None when a command publishes.
    """
    release, created = StudyDataRelease.objects.get_or_create(
        study=study,
        data_release_version=version,
        defaults={"workspace": study.workspace, "data_release_date": date, "status": status},
    )
    if created:
        audit.record(
            audit.Action.RELEASED,
            request=request,
            actor=actor,
            workspace=study.workspace,
            target=study.study_accession,
            version=version,
            status=status,
        )
    return release
