"""ImmPort's research tables as Django models (generated; see the modules)."""

from immunoport.studies.drafts import DraftFile, StudyDraft  # noqa: F401
from immunoport.studies.history import RecordHistory  # noqa: F401

from .clinical import *  # noqa: F403
from .design import *  # noqa: F403
from .results import *  # noqa: F403
from .samples import *  # noqa: F403
from .study import *  # noqa: F403
