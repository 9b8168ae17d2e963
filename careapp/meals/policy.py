from __future__ import annotations

from careapp.booking.policies import ServicePolicy
from careapp.households.models import RecipientKind
from careapp.partners.models import ServiceKind


class MealPolicy(ServicePolicy):
    """Community canteens serve elders. (Meal cutoffs by time of day arrive with the meals issue.)"""

    kind = ServiceKind.meal
    recipient_kinds = frozenset({RecipientKind.elder})
