"""Writes of the registry. Every function is keyword-only, takes ``actor=``, runs in one
transaction, re-checks scope under a row lock and records an audit event."""

from .application_documents import *  # noqa: F403
from .application_review import *  # noqa: F403
from .applications import *  # noqa: F403
from .disclosure import *  # noqa: F403
from .import_checks import *  # noqa: F403
from .imports import *  # noqa: F403
from .institutions import *  # noqa: F403
from .lists import *  # noqa: F403
from .moves import *  # noqa: F403
from .resources import *  # noqa: F403
from .rules import *  # noqa: F403
from .staff_admission import *  # noqa: F403
