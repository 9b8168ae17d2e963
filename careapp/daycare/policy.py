from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from careapp.booking.policies import ServicePolicy
from careapp.households.models import RecipientKind
from careapp.partners.models import ServiceKind


class DaycarePolicy(ServicePolicy):
    """Day care serves elders aged DAYCARE_MIN_AGE (default 60) or more, unless the service sets its own minimum."""

    kind = ServiceKind.daycare
    recipient_kinds = frozenset({RecipientKind.elder})

    def min_age_years(self, service, settings: Mapping[str, Any]) -> int | None:
        if service.min_age_years is not None:
            return service.min_age_years
        return settings["DAYCARE_MIN_AGE"]
